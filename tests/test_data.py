import gzip

import pytest
import torch

from catvae_lit.config import default_device
from catvae_lit.data import (
    IDX_FILES,
    DataFileError,
    as_sequences,
    load_mnist,
    read_idx,
)


def test_mnist_train_and_test(mnist_root):
    x, y = load_mnist("train", root=mnist_root, download=False)
    assert (
        x.shape == (60000, 784)
        and x.dtype == torch.float32
        and y.dtype == torch.int64
    )
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    x_test, y_test = load_mnist("test", root=mnist_root, download=False)
    assert x_test.shape == (10000, 784) and y_test.shape == (10000,)


def test_fashion_mnist_is_balanced(mnist_root):
    _, y = load_mnist(
        "test", dataset="FashionMNIST", root=mnist_root, download=False
    )
    assert torch.bincount(y).tolist() == [1000] * 10


def test_missing_data_names_dataset_folder_and_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(
            "train",
            dataset="FashionMNIST",
            root=tmp_path,
            download=False,
        )
    message = str(info.value)
    assert (
        "FashionMNIST" in message
        and str(tmp_path / "FashionMNIST" / "raw") in message
    )
    for name in [n for pair in IDX_FILES.values() for n in pair]:
        assert name in message


def test_root_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CATVAE_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_mnist(download=False)


def _copy_raw(mnist_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for pair in IDX_FILES.values():
        for name in pair:
            (raw / name).write_bytes(
                (mnist_root / "MNIST" / "raw" / name).read_bytes()
            )
    return raw


def test_truncated_file_gives_clear_error(mnist_root, tmp_path):
    raw = _copy_raw(mnist_root, tmp_path)
    labels = raw / "t10k-labels-idx1-ubyte.gz"
    content = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(content[:-100]))
    with pytest.raises(DataFileError, match="truncated or corrupt"):
        load_mnist("test", root=tmp_path, download=False)


def test_cut_gzip_stream_gives_clear_error(mnist_root, tmp_path):
    raw = _copy_raw(mnist_root, tmp_path)
    images = raw / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:5000])
    with pytest.raises(DataFileError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist("test", root=tmp_path, download=False)


def test_foreign_file_gives_clear_error(tmp_path):
    path = tmp_path / "not-idx.gz"
    path.write_bytes(gzip.compress(b"hello world, not an IDX file"))
    with pytest.raises(DataFileError, match="IDX header"):
        read_idx(path)


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="FashionMNIST"):
        load_mnist(dataset="CIFAR10", download=False)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist(split="validation", download=False)


def test_sequences_are_rows():
    images = torch.rand(3, 784)
    sequences = as_sequences(images)
    assert sequences.shape == (3, 28, 28)
    assert torch.equal(sequences[2, 27], images[2, -28:])
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        as_sequences(torch.rand(3, 28, 28))


def test_device_choice(monkeypatch):
    assert default_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("CATVAE_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        default_device("tpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            default_device("cuda")

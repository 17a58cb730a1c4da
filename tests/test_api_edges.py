"""Inputs at the edges of the library's functions get a clear error,
never a silent wrong answer."""

import gzip

import pytest
import torch

from catvae_lit.data import DataFileError, read_idx
from catvae_lit.metrics import cluster_accuracy, normalized_mutual_info
from catvae_lit.models import MLPCatVAE, check_images
from catvae_lit.prior import orthogonal_means
from catvae_lit.recurrent import RecurrentCatVAE


def test_nan_pixels_are_refused():
    images = torch.rand(4, 784)
    images[2, 100] = float("nan")
    with pytest.raises(
        ValueError,
        match=(
            r"expected values in \[0, 1\], found 1 outside it \(for"
            r" example nan\)"
        ),
    ):
        check_images(images, 784)
    with pytest.raises(ValueError, match="found 1 outside it"):
        MLPCatVAE().encode(images)
    with pytest.raises(ValueError, match="found 1 outside it"):
        RecurrentCatVAE().encode(images)


@pytest.mark.parametrize(
    "score", [cluster_accuracy, normalized_mutual_info]
)
@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        (None, None),
        (3, 4),
        ([], []),
        ([0.5, 1.5], [0, 1]),
        ([[0, 1]], [[0, 1]]),
    ],
)
def test_clustering_scores_need_integer_label_sequences(
    score, y_true, y_pred
):
    with pytest.raises(
        ValueError,
        match="must be a non-empty 1-D sequence of integer labels",
    ):
        score(y_true, y_pred)


@pytest.mark.parametrize(
    "model", [MLPCatVAE(), RecurrentCatVAE()], ids=["mlp", "recurrent"]
)
@pytest.mark.parametrize(
    "categories, message",
    [
        ([-1], "categories must be in 0..9, got -1"),
        ([3, 10], "categories must be in 0..9, got 10"),
        (torch.tensor([1.0]), "1-D sequence of integer indices"),
        (torch.tensor([1.0], dtype=torch.bfloat16), "integer indices"),
        ([[0, 1]], r"got shape \(1, 2\)"),
    ],
)
def test_sampling_a_category_that_does_not_exist_is_refused(
    model, categories, message
):
    with pytest.raises(ValueError, match=message):
        model.sample(categories)


@pytest.mark.parametrize(
    "scale", [float("inf"), float("nan"), 0.0, -2.0]
)
def test_the_prior_scale_must_be_positive_and_finite(scale):
    with pytest.raises(
        ValueError, match="must be a positive finite number"
    ):
        orthogonal_means(10, 20, scale=scale)


def test_an_idx_header_announcing_huge_dimensions_is_refused(tmp_path):
    path = tmp_path / "forged-idx3-ubyte.gz"
    # 2^31 * 2^31 * 4 = 2^64 items: a product in int64 wraps to 0, the
    # size of an empty file's data.
    header = bytes([0, 0, 8, 3]) + b"".join(
        n.to_bytes(4, "big") for n in (2**31, 2**31, 4)
    )
    path.write_bytes(gzip.compress(header))
    with pytest.raises(
        DataFileError,
        match=(
            "which is cut short or holds more than the .* bytes this"
            " reader accepts"
        ),
    ):
        read_idx(path)


def test_a_missing_checkpoint_folder_says_where_to_point(
    tmp_path, monkeypatch
):
    from catvae_lit.config import checkpoint_dir

    monkeypatch.setenv("CATVAE_CHECKPOINT_DIR", str(tmp_path / "absent"))
    with pytest.raises(
        FileNotFoundError, match="set CATVAE_CHECKPOINT_DIR to the clone"
    ):
        checkpoint_dir()
    monkeypatch.setenv("CATVAE_CHECKPOINT_DIR", str(tmp_path))
    assert checkpoint_dir() == tmp_path

import json

import pytest
import torch

from catvae_lit.cli import TABLE_1_MODELS, main
from catvae_lit.config import checkpoint_dir
from catvae_lit.training import load_checkpoint


def _reproduce(out, epochs, *extra):
    main(
        [
            "reproduce",
            "--epochs",
            epochs,
            "--subset",
            "256",
            "--kde-images",
            "200",
            "--samples",
            "50",
            "--threads",
            "1",
            "--out",
            out,
            *extra,
        ]
    )


def test_resumed_reproduce_equals_an_uninterrupted_run(
    tmp_path, mnist_root
):
    interrupted, straight = (
        tmp_path / "interrupted",
        tmp_path / "straight",
    )
    _reproduce(interrupted, 2)
    _reproduce(interrupted, 3, "--resume")
    _reproduce(straight, 3)
    for name in TABLE_1_MODELS:
        resumed, direct = (
            load_checkpoint(folder / f"{name}_mnist.pt")
            for folder in (interrupted, straight)
        )
        assert resumed["epoch"] == direct["epoch"] == 3
        assert resumed["history"] == direct["history"]
        for key, value in direct["model_state"].items():
            assert torch.equal(
                resumed["model_state"][key], value
            ), f"{name}: {key} differs"
    results = json.loads((interrupted / "table1_mnist.json").read_text())
    assert set(results["models"]) == {"test images", *TABLE_1_MODELS}
    assert (
        results["models"]["catvae"]["paper"]["kde_log_likelihood"]
        == 111.2
    )
    assert results["bandwidth"] in results["bandwidths"]
    assert (
        "| infocatvae | 3 |"
        in (interrupted / "table1_mnist.md").read_text()
    )


def test_table1_scores_checkpoints_as_reproduce_does(
    tmp_path, mnist_root
):
    _reproduce(tmp_path, 1)
    main(
        [
            "table1",
            *(tmp_path / f"{name}_mnist.pt" for name in TABLE_1_MODELS),
            "--kde-images",
            "200",
            "--samples",
            "50",
            "--out",
            tmp_path / "again",
        ]
    )
    reproduced = json.loads((tmp_path / "table1_mnist.json").read_text())
    again = json.loads((tmp_path / "again.json").read_text())
    # the same scores, each row named after its file, the paper's
    # numbers after its model
    assert again == {
        **reproduced,
        "models": {
            name if name == "test images" else f"{name}_mnist": row
            for name, row in reproduced["models"].items()
        },
    }


@pytest.mark.parametrize(
    "names, message",
    [
        (
            ["catvae_mnist.pt", "catvae_fashionmnist.pt"],
            r"trained on \['FashionMNIST', 'MNIST'\]; table 1 scores one"
            " dataset at a time",
        ),
        (
            ["catvae_mnist.pt", "catvae_mnist.pt"],
            r"\['catvae_mnist'\] would name two rows",
        ),
    ],
)
def test_table1_refuses_what_one_table_cannot_hold(
    tmp_path, names, message
):
    with pytest.raises(ValueError, match=message):
        main(
            [
                "--debug",
                "table1",
                *(checkpoint_dir() / name for name in names),
                "--out",
                tmp_path / "table",
            ]
        )
    assert not (tmp_path / "table.json").exists()


def test_table1_keeps_a_table_it_was_not_told_to_replace(tmp_path):
    (tmp_path / "table.v2.md").write_text("kept")
    with pytest.raises(
        ValueError, match="table.v2.md exists; pass --overwrite"
    ):
        main(
            [
                "--debug",
                "table1",
                checkpoint_dir() / "aae_mnist.pt",
                "--out",
                tmp_path / "table.v2",
            ]
        )
    assert (tmp_path / "table.v2.md").read_text() == "kept"


def test_table1_never_writes_over_a_checkpoints_metadata(tmp_path):
    checkpoint = tmp_path / "aae_mnist.pt"
    for suffix in (".pt", ".json"):
        checkpoint.with_suffix(suffix).write_bytes(
            (checkpoint_dir() / "aae_mnist")
            .with_suffix(suffix)
            .read_bytes()
        )
    metadata = checkpoint.with_suffix(".json").read_text()
    with pytest.raises(
        ValueError, match="is the metadata of a checkpoint"
    ):
        main(
            [
                "--debug",
                "table1",
                checkpoint,
                "--out",
                tmp_path / "aae_mnist",
                "--overwrite",
            ]
        )
    assert checkpoint.with_suffix(".json").read_text() == metadata


def test_table1_refuses_a_folder_for_its_files(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(
            [
                "table1",
                checkpoint_dir() / "aae_mnist.pt",
                "--out",
                tmp_path,
            ]
        )
    assert "got the folder" in capsys.readouterr().err

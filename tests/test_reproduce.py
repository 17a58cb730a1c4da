import json

import torch

from catvae_lit.cli import TABLE_1_MODELS, main
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

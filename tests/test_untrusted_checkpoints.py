"""A checkpoint from elsewhere can fail to load, but never runs code or
chooses which code runs."""

import subprocess
import sys

import pytest
import torch

from catvae_lit.cli import load_or_train
from catvae_lit.models import VAE
from catvae_lit.training import restore_model, save_checkpoint


class Payload:
    """Unpickled by a loader that trusts the file, this creates the file
    `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def malicious_checkpoint(path, marker):
    """A genuine VAE checkpoint that carries a payload in its
    metadata."""
    save_checkpoint(
        path,
        VAE(),
        metadata={
            "model": "vae",
            "dataset": "MNIST",
            "note": Payload(marker),
        },
    )
    return path


def tampered_checkpoint(path, **changes):
    """A genuine VAE checkpoint with some of its entries replaced."""
    save_checkpoint(path, VAE(), metadata={"model": "vae"})
    state = torch.load(path, weights_only=True)
    torch.save({**state, **changes}, path)
    return path


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "catvae_lit", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_the_payload_is_live_for_a_loader_that_trusts_the_file(tmp_path):
    marker = tmp_path / "ran"
    torch.load(
        malicious_checkpoint(tmp_path / "evil.pt", marker),
        weights_only=False,
    )
    assert marker.exists()


CLI_ENTRY_POINTS = {
    "evaluate": lambda evil, tmp: ["evaluate", evil, "--samples", "10"],
    "sample": lambda evil, tmp: [
        "sample",
        evil,
        "--out",
        tmp / "grid.png",
    ],
    "publish": lambda evil, tmp: ["publish", evil, tmp / "copy.pt"],
    "train --resume": lambda evil, tmp: [
        "train",
        "--model",
        "vae",
        "--epochs",
        "2",
        "--out",
        evil,
        "--resume",
    ],
}


@pytest.mark.parametrize("entry", CLI_ENTRY_POINTS)
def test_no_command_runs_the_code_in_a_checkpoint(tmp_path, entry):
    marker = tmp_path / "ran"
    evil = malicious_checkpoint(tmp_path / "evil.pt", marker)
    completed = run_cli(*CLI_ENTRY_POINTS[entry](evil, tmp_path))
    assert not marker.exists()
    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"catvae-lit: error: {evil} is not a readable checkpoint"
    )
    assert (
        completed.stderr.count("\n") == 1
        and "Traceback" not in completed.stderr
    )


def test_restore_model_and_load_or_train_do_not_run_it(
    tmp_path, monkeypatch
):
    marker = tmp_path / "ran"
    evil = malicious_checkpoint(tmp_path / "evil.pt", marker)
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        restore_model(evil)
    monkeypatch.setenv("CATVAE_CHECKPOINT_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        load_or_train("evil", ["--model", "vae"])
    assert not marker.exists()


def test_a_class_name_outside_the_table_is_refused(tmp_path):
    # Before, this name made restore_model call the command line with the
    # file's arguments.
    path = tampered_checkpoint(
        tmp_path / "steer.pt",
        model_module="catvae_lit.cli",
        model_class="main",
        model_config={
            "argv": [
                "sample",
                "x.pt",
                "--out",
                str(tmp_path / "chosen.png"),
            ]
        },
    )
    with pytest.raises(
        ValueError,
        match=(
            "names the class 'main', not one of the models catvae_lit"
            " restores"
        ),
    ):
        restore_model(path)
    completed = run_cli("evaluate", path)
    assert (
        completed.returncode == 1
        and "'main', not one of the models catvae_lit restores"
        in completed.stderr
    )
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {
                "input_dim": 784,
                "latent_dim": 20,
                "hidden_dim": 400,
                "dropout": 0.25,
                "command": "ls",
            },
            "no argument command",
        ),
        (
            {
                "input_dim": "784",
                "latent_dim": 20,
                "hidden_dim": 400,
                "dropout": 0.25,
            },
            "no argument input_dim='784'",
        ),
        (
            {
                "input_dim": 784,
                "latent_dim": 20,
                "hidden_dim": True,
                "dropout": 0.25,
            },
            "no argument hidden_dim=True",
        ),
        (
            {
                "input_dim": 784,
                "latent_dim": 20,
                "hidden_dim": -4,
                "dropout": 0.25,
            },
            "cannot build a VAE",
        ),
    ],
)
def test_arguments_that_the_class_does_not_take_are_refused(
    tmp_path, config, message
):
    with pytest.raises(ValueError, match=message):
        restore_model(
            tampered_checkpoint(tmp_path / "bad.pt", model_config=config)
        )


def test_a_file_without_the_entries_of_a_checkpoint_is_refused(tmp_path):
    torch.save({"format": 1, "model_class": "VAE"}, tmp_path / "thin.pt")
    with pytest.raises(
        ValueError,
        match="missing or malformed: model_config, model_state",
    ):
        restore_model(tmp_path / "thin.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a catvae_lit checkpoint"):
        restore_model(tmp_path / "list.pt")


def test_weights_of_another_shape_are_refused(tmp_path):
    state = VAE(hidden_dim=10).state_dict()
    with pytest.raises(ValueError, match="its weights do not fit a VAE"):
        restore_model(
            tampered_checkpoint(tmp_path / "shape.pt", model_state=state)
        )


@pytest.mark.parametrize(
    "changes, entry",
    [
        (
            {"metadata": {"model": "vae", "when": torch.zeros(1)}},
            "metadata",
        ),
        ({"history": [{"loss": {1, 2}}]}, "history"),
        ({"model_state": {0: torch.zeros(1)}}, "model_state"),
        ({"torch_rng": torch.zeros(5)}, "torch_rng"),
        ({"cuda_rng": [torch.zeros(5)]}, "cuda_rng"),
        ({"cuda_rng": "state"}, "cuda_rng"),
        ({"seed": "zero"}, "seed"),
    ],
)
def test_entries_that_are_not_plain_data_are_refused(
    tmp_path, changes, entry
):
    with pytest.raises(
        ValueError, match=f"missing or malformed: {entry}"
    ):
        restore_model(
            tampered_checkpoint(tmp_path / "odd.pt", **changes)
        )

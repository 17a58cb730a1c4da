import subprocess
import sys
import time

import pytest
import torch

from catvae_lit.training import load_checkpoint

COMMAND = [
    sys.executable,
    "-m",
    "catvae_lit",
    "train",
    "--model",
    "vae",
    "--subset",
    "1000",
    "--epochs",
    "40",
    "--lr",
    "1e-3",
    "--threads",
    "1",
]


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(
    tmp_path, mnist_root
):
    killed, straight = tmp_path / "killed.pt", tmp_path / "straight.pt"
    process = subprocess.Popen(
        [*COMMAND, "--out", killed],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not killed.exists():
        assert (
            process.poll() is None
        ), "training ended before its first checkpoint"
        time.sleep(0.02)
    # a few epochs more, then a kill in the middle of one
    time.sleep(0.5)
    assert (
        process.poll() is None
    ), "training finished before it could be killed"
    process.kill()
    process.wait()
    # whatever the moment, the file is whole
    interrupted_at = load_checkpoint(killed)["epoch"]
    assert 1 <= interrupted_at < 40
    subprocess.run(
        [*COMMAND, "--out", killed, "--resume"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*COMMAND, "--out", straight], check=True, capture_output=True
    )
    resumed, direct = load_checkpoint(killed), load_checkpoint(straight)
    assert resumed["epoch"] == direct["epoch"] == 40
    assert all(
        torch.equal(resumed["model_state"][key], value)
        for key, value in direct["model_state"].items()
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_resumed_gpu_run_draws_the_noise_of_an_uninterrupted_one(
    tmp_path, mnist_root
):
    def train(path, epochs, *options):
        subprocess.run(
            [
                *COMMAND[:5],
                "catvae",
                "--subset",
                "512",
                "--device",
                "cuda",
                "--epochs",
                str(epochs),
                "--out",
                path,
                *options,
            ],
            check=True,
            capture_output=True,
        )
        return load_checkpoint(path)

    resumed = tmp_path / "resumed.pt"
    assert "cuda_rng" in train(resumed, 1)
    second = train(resumed, 2, "--resume")["history"][1]
    direct = train(tmp_path / "direct.pt", 2)["history"][1]
    # the same draws; only the order of the GPU's sums may differ
    assert second["loss"] == pytest.approx(direct["loss"], rel=1e-5)


def test_a_finished_run_continued_to_more_epochs_equals_a_longer_run(
    tmp_path, mnist_root
):
    # how the findings chapter's 100-epoch runs continue its 30-epoch ones
    short = [
        sys.executable,
        *("-m", "catvae_lit", "train", "--model", "catvae"),
        *("--subset", "500", "--threads", "1", "--epochs"),
    ]
    continued = tmp_path / "continued.pt"
    straight = tmp_path / "straight.pt"
    for command in (
        [*short, "2", "--out", continued],
        [*short, "3", "--out", continued, "--resume"],
        [*short, "3", "--out", straight],
    ):
        subprocess.run(command, check=True, capture_output=True)
    longer = load_checkpoint(continued)
    direct = load_checkpoint(straight)
    assert longer["epoch"] == direct["epoch"] == 3
    assert longer["history"] == direct["history"]
    assert all(
        torch.equal(longer["model_state"][key], value)
        for key, value in direct["model_state"].items()
    )

"""The ablation through Dask distributed (book/cluster.md): a worker
killed while it trains costs the study nothing but time. That the engine
records the same scores as the local pool is the chapter's own check."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catvae_lit.ablation import run_path
from catvae_lit.training import load_checkpoint

distributed = pytest.importorskip("distributed")

SETTING = "CatVAE, released code"


def holds_open(pid, path):
    """Whether the process `pid` has the file `path` open."""
    folder = Path(f"/proc/{pid}/fd")
    try:
        return any(
            os.readlink(fd) == str(path) for fd in folder.iterdir()
        )
    except FileNotFoundError:  # the fd closed while we looked
        return False


def launch(address, out):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catvae_lit",
            "ablation",
            "--settings",
            SETTING,
            "--seeds",
            "0",
            "1",
            "--epochs",
            "3",
            "--subset",
            "20000",
            "--scheduler",
            address,
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, study, seconds, what):
    """Wait until `condition()`, failing if the launch `study` ends
    first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not condition():
        if study.poll() is not None:
            pytest.fail(f"the launch ended first: {study.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.skipif(
    not Path("/proc/self/fd").exists(), reason="reads /proc (Linux)"
)
def test_a_worker_killed_mid_run_costs_nothing_but_time(
    tmp_path, mnist_root
):
    paths = [
        run_path(tmp_path, SETTING, "MNIST", seed) for seed in (0, 1)
    ]
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    )
    study = launch(cluster.scheduler_address, tmp_path)
    try:
        with distributed.Client(cluster) as client:
            # the first checkpoint: a run has finished epoch 1 of 3
            wait_for(
                lambda: any(path.exists() for path in paths),
                study,
                300,
                "a first checkpoint",
            )
            killed = next(path for path in paths if path.exists())
            lock = killed.parent / f"{killed.name}.lock"
            pids = client.run(os.getpid).values()
            victim = next(
                (pid for pid in pids if holds_open(pid, lock)), None
            )
            assert victim, f"no worker is training {killed.name}"
            os.kill(victim, signal.SIGKILL)
            output, _ = study.communicate(timeout=600)
            assert study.returncode == 0, output
            written = {path: path.stat().st_mtime_ns for path in paths}
            again = launch(cluster.scheduler_address, tmp_path)
            output, _ = again.communicate(timeout=600)
            assert again.returncode == 0, output
    finally:
        study.kill()  # if a check above failed, the launch is running
        cluster.close()

    for path in paths:
        history = load_checkpoint(path)["history"]
        assert [row["epoch"] for row in history] == [1, 2, 3], path
    metadata = json.loads(killed.with_suffix(".json").read_text())
    resumed = metadata.get("resumed", [])
    assert len(resumed) == 1 and resumed[0]["from_epoch"] in (
        1,
        2,
    ), "the killed run continues from its last checkpoint, once"
    (spared,) = [path for path in paths if path != killed]
    assert "resumed" not in json.loads(
        spared.with_suffix(".json").read_text()
    )
    assert {
        path: path.stat().st_mtime_ns for path in paths
    } == written, "a second launch trains nothing"
    records = json.loads((tmp_path / "ablation.json").read_text())[
        "runs"
    ]
    assert sorted(run["seed"] for run in records) == [0, 1]


def test_a_failed_run_is_named_and_the_others_finish(tmp_path):
    from catvae_lit.cluster import run_on_dask

    train = [sys.executable, "-m", "catvae_lit", "train"]
    commands = {
        tmp_path / "bad.pt": [*train, "--epochs", "0"],
        tmp_path / "good.pt": [*train, "--help"],
    }
    with pytest.raises(
        ValueError, match=r"1 of 2 runs failed.*bad\.log"
    ):
        run_on_dask(commands, jobs=1)
    assert "--epochs" in (tmp_path / "bad.log").read_text()
    assert "usage" in (tmp_path / "good.log").read_text()

"""The GPU run of the paper's budget is one script; it must run before
GPU minutes are spent on it. Here it runs on the CPU at a tiny budget,
end to end: every run trained, every member published, the lot packed."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from catvae_lit.ablation import run_path
from catvae_lit.training import load_checkpoint, restore_model

ROOT = Path(__file__).resolve().parents[1]
RELEASED_WEIGHT = "InfoCatVAE, paper + double-softmax information"
HEADLINE_SETTINGS = (
    "AAE, paper",
    "CatVAE, paper",
    "InfoCatVAE, paper",
    RELEASED_WEIGHT,
)


def test_the_gpu_budget_script_runs_at_a_tiny_budget_on_the_cpu(
    tmp_path, mnist_root
):
    out = tmp_path / "gpu"
    env = dict(
        os.environ,
        EPOCHS="1",
        SUBSET="128",
        DEVICE="cpu",
        OUT=str(out),
        PYTHON=sys.executable,
        CATVAE_DATA_DIR=str(mnist_root),
    )
    completed = subprocess.run(
        ["bash", ROOT / "benchmarks" / "gpu_budget.sh"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 0, (
        completed.stderr + (out / "progress.log").read_text()
    )
    assert (out / "progress.log").read_text().count("finished") == 6
    packed = tmp_path / "published.tar"
    packed.write_bytes(
        b"".join(
            part.read_bytes()
            for part in sorted(out.glob("published.tar.part-*"))
        )
    )
    with tarfile.open(packed) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    names = sorted(
        path.name for path in (tmp_path / "unpacked").glob("*.pt")
    )
    # the names the ablation gives the runs of these settings
    assert names == sorted(
        run_path("", setting, "MNIST", seed).name
        for seed in (0, 1, 2)
        for setting in HEADLINE_SETTINGS
    )
    assert all(
        part.stat().st_size <= 15 * 2**20
        for part in out.glob("published.tar.part-*")
    )
    member = run_path(tmp_path / "unpacked", RELEASED_WEIGHT, "MNIST", 2)
    metadata = json.loads(member.with_suffix(".json").read_text())
    assert type(restore_model(member, "cpu")).__name__ == "MLPCatVAE"
    # published as the committed models are: rounded, and scored so
    assert metadata["weights"] == "float16"
    assert set(metadata["test"]) == set(metadata["test_float32"])
    assert all(
        value.dtype == torch.float16
        for value in load_checkpoint(member)["model_state"].values()
        if value.is_floating_point()
    )
    assert (
        metadata["seed"],
        metadata["info_loss"],
        metadata["beta_info"],
    ) == (2, "double-softmax", 0.78)
    # the member's learning curve, one point per epoch
    assert [
        "test_accuracy" in row
        for row in load_checkpoint(member)["history"]
    ] == [True]
    check_the_ablation_scores_the_copies_as_they_are(
        tmp_path / "unpacked", mnist_root
    )


def ablation(folder, mnist_root, settings):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "catvae_lit",
            "ablation",
            "--settings",
            *settings,
            "--datasets",
            "MNIST",
            "--seeds",
            "2",
            "--epochs",
            "1",
            "--subset",
            "128",
            "--data-dir",
            mnist_root,
            "--out",
            folder,
        ],
        capture_output=True,
        text=True,
    )


def check_the_ablation_scores_the_copies_as_they_are(folder, mnist_root):
    settings = ["AAE, paper", RELEASED_WEIGHT]
    written = {
        path: path.stat().st_mtime_ns for path in folder.glob("*.pt")
    }
    completed = ablation(folder, mnist_root, settings)
    assert completed.returncode == 0, completed.stderr
    assert written == {
        path: path.stat().st_mtime_ns for path in folder.glob("*.pt")
    }, "a published copy is scored, not trained"
    runs = json.loads((folder / "ablation.json").read_text())["runs"]
    assert [run["setting"] for run in runs] == settings
    aae, member = runs
    # each record names the command that trained the copy
    assert "--model aae --seed 2" in aae["command"]
    assert "--seeds 0 1 2" in member["command"]
    copy = json.loads(
        run_path(folder, RELEASED_WEIGHT, "MNIST", 2)
        .with_suffix(".json")
        .read_text()
    )
    assert member["learning_curve"] == [
        pytest.approx(copy["test_float32"]["accuracy"], abs=1e-4)
    ]
    assert member["accuracy"] == copy["test"]["accuracy"]
    # a copy of another setting is refused, not scored as this one
    other = folder / "other"
    other.mkdir()
    for suffix in (".pt", ".json"):
        source = run_path(folder, "InfoCatVAE, paper", "MNIST", 2)
        target = run_path(other, RELEASED_WEIGHT, "MNIST", 2)
        target.with_suffix(suffix).write_bytes(
            source.with_suffix(suffix).read_bytes()
        )
    refused = ablation(other, mnist_root, [RELEASED_WEIGHT])
    assert refused.returncode != 0
    assert (
        "is a published copy, scored as it is and never trained further,"
        " of other settings than this command's (copy -> command):"
        " beta_info 100.0 -> 0.78, info_loss 'cross-entropy' ->"
        " 'double-softmax'"
        in refused.stderr
    ), refused.stderr
    target.with_suffix(".json").unlink()
    unpacked_alone = ablation(other, mnist_root, [RELEASED_WEIGHT])
    assert unpacked_alone.returncode != 0
    assert (
        "is a published copy without its metadata; put the"
        f" {target.with_suffix('.json').name} that `publish` wrote"
        " beside it"
        in unpacked_alone.stderr
    ), unpacked_alone.stderr


def test_the_gpu_step_benchmark_runs_on_the_cpu_and_skips_the_graph(
    tmp_path, mnist_root
):
    completed = subprocess.run(
        [
            sys.executable,
            ROOT / "benchmarks" / "gpu_steps.py",
            "--device",
            "cpu",
            "--subset",
            "256",
            "--epochs",
            "1",
            "--out",
            tmp_path,
        ],
        env=dict(
            os.environ,
            CATVAE_DATA_DIR=str(mnist_root),
            PYTHONPATH=str(ROOT / "src"),
        ),
        capture_output=True,
        text=True,
        cwd=ROOT / "benchmarks",
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads((tmp_path / "gpu_steps.json").read_text())
    rows = {(row["model"], row["way"]): row for row in report["rows"]}
    assert len(rows) == 7 and report["tf32"] is False
    assert all(
        rows[model, "graph"]["skipped"] == "CUDA only"
        for model in ("catvae", "infocatvae")
    )
    measured = [row for row in rows.values() if "skipped" not in row]
    assert len(measured) == 5
    assert all(
        row["flops_per_image"] > 0 and "share_of_matmul_rate" in row
        for row in measured
    )
    # one Adam step per batch: 1 + 1 epochs of 256 images in 128s
    assert all(
        row["adam_steps"] == row["adam_steps_expected"] == 4
        for row in measured
    )
    # the information term decodes samples: more work per image
    assert (
        rows["infocatvae", "eager"]["flops_per_image"]
        > rows["catvae", "eager"]["flops_per_image"]
    )
    assert (
        "| aae | eager | 1 |" in (tmp_path / "gpu_steps.md").read_text()
    )

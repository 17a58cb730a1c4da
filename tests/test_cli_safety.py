"""The command line loses nothing: no silent overwrite, one run per
output, resume only of the same run, arguments checked before any data
loads, and errors as one line."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from catvae_lit.cli import exclusive_output, main
from catvae_lit.models import VAE
from catvae_lit.training import load_checkpoint, save_checkpoint

TINY = [
    "--model",
    "vae",
    "--subset",
    "256",
    "--batch-size",
    "128",
    "--lr",
    "1e-3",
    "--threads",
    "1",
]
# an argument error must be reported before the data is looked for
NO_DATA = ["--data-dir", "/nonexistent"]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "catvae_lit", *map(str, args)],
        capture_output=True,
        text=True,
    )


def usage_error(capsys, *argv):
    """The exit code and the last line of stderr when main(argv) stops
    on an argument."""
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    return (
        stop.value.code,
        capsys.readouterr().err.strip().splitlines()[-1],
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_root):
    """A VAE checkpoint trained for 2 epochs by the command line, as it
    was written."""
    out = tmp_path_factory.mktemp("run") / "vae.pt"
    main(
        [
            "train",
            *TINY,
            "--epochs",
            "2",
            "--data-dir",
            mnist_root,
            "--out",
            out,
        ]
    )
    return out


@pytest.fixture
def copy_of(trained, tmp_path):
    """A fresh copy of the trained checkpoint and its metadata, for
    tests that change it."""
    out = tmp_path / "vae.pt"
    out.write_bytes(trained.read_bytes())
    out.with_suffix(".json").write_text(
        trained.with_suffix(".json").read_text()
    )
    return out


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--epochs", "0", "expected a finite number > 0, got 0"),
        ("--batch-size", "-1", "expected a finite number > 0, got -1"),
        ("--subset", "-5", "expected a finite number > 0, got -5"),
        ("--lr", "-0.001", "expected a finite number > 0, got -0.001"),
        ("--lr", "nan", "expected a finite number > 0, got nan"),
        ("--lr", "inf", "expected a finite number > 0, got inf"),
        ("--beta-cat", "-1", "expected a finite number >= 0, got -1"),
        ("--threads", "two", "expected an integer, got 'two'"),
        (
            "--out",
            "runs/model.json",
            (
                "expected a checkpoint path ending in .pt, got"
                " 'runs/model.json'"
            ),
        ),
    ],
)
def test_bad_training_arguments_stop_before_the_data_loads(
    capsys, option, value, expected
):
    arguments = {"--out": "runs/model.pt", option: value}
    code, message = usage_error(
        capsys,
        "train",
        *TINY,
        *NO_DATA,
        *[item for pair in arguments.items() for item in pair],
    )
    assert code == 2 and message.endswith(
        f"argument {option}: {expected}"
    )


def test_reproduce_checks_its_options_before_training(capsys, tmp_path):
    code, message = usage_error(
        capsys, "reproduce", "--folds", "1", *NO_DATA, "--out", tmp_path
    )
    assert code == 2 and message.endswith(
        "argument --folds: expected a finite number > 1, got 1"
    )
    completed = run_cli(
        "reproduce",
        "--kde-images",
        "3",
        "--folds",
        "5",
        *NO_DATA,
        "--out",
        tmp_path,
    )
    assert completed.returncode == 1
    assert (
        completed.stderr
        == "catvae-lit: error: --kde-images (3) must be at least --folds"
        " (5)\n"
    )
    (tmp_path / "aae_mnist.pt").write_text("an earlier run")
    completed = run_cli("reproduce", *NO_DATA, "--out", tmp_path)
    assert (
        completed.returncode == 1
        and "aae_mnist.pt exist; pass --resume" in completed.stderr
    )


@pytest.mark.skipif(
    torch.cuda.is_available(),
    reason="checks the message of a machine without a GPU",
)
def test_a_missing_gpu_is_reported_before_the_data_loads(tmp_path):
    completed = run_cli(
        "train",
        *TINY,
        *NO_DATA,
        "--device",
        "cuda",
        "--out",
        tmp_path / "m.pt",
    )
    assert completed.returncode == 1
    assert (
        completed.stderr
        == "catvae-lit: error: device 'cuda' was asked for but PyTorch"
        " sees no CUDA GPU; use 'cpu'\n"
    )


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    missing = tmp_path / "missing.pt"
    completed = run_cli("evaluate", missing)
    assert (completed.returncode, completed.stderr) == (
        1,
        f"catvae-lit: error: no checkpoint at {missing}\n",
    )
    completed = run_cli("--debug", "evaluate", missing)
    assert (
        completed.returncode == 1
        and "Traceback" in completed.stderr
        and "FileNotFoundError" in completed.stderr
    )


def test_train_refuses_an_existing_output(copy_of, tmp_path):
    before = copy_of.read_bytes()
    completed = run_cli(
        "train", *TINY, "--epochs", "2", "--out", copy_of
    )
    assert completed.returncode == 1
    assert (
        completed.stderr
        == f"catvae-lit: error: {copy_of} and"
        f" {copy_of.with_suffix('.json')} exist; pass --resume to"
        " continue that run or --overwrite to replace it\n"
    )
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint, but not ours to destroy")
    assert (
        run_cli(
            "train", *TINY, "--epochs", "1", "--out", notes
        ).returncode
        == 1
    )
    assert (
        copy_of.read_bytes() == before
        and notes.read_text().startswith("not a checkpoint")
    )


def test_a_second_run_on_the_same_output_fails_at_once(tmp_path):
    out = tmp_path / "busy.pt"
    with exclusive_output(out):  # this test process plays the first run
        completed = run_cli(
            "train", *TINY, *NO_DATA, "--epochs", "1", "--out", out
        )
    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"catvae-lit: error: another run is writing {out}"
    )
    assert not out.exists()
    with exclusive_output(out):  # and the lock is free again
        pass


def test_publish_float16_refuses_a_model_it_cannot_score(tmp_path):
    judge = (
        Path(__file__).resolve().parents[1]
        / "checkpoints/judge_mnist.pt"
    )
    completed = run_cli("publish", judge, tmp_path / "j.pt", "--float16")
    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1 and (
        "must name a model that `train` trains" in completed.stderr
    )
    assert list(tmp_path.glob("j.*")) == []


def test_publish_refuses_to_overwrite_its_source_or_another_file(
    copy_of, tmp_path
):
    before = copy_of.read_bytes()
    completed = run_cli("publish", copy_of, tmp_path / "." / "vae.pt")
    assert (
        completed.returncode == 1
        and "must be another file than the source" in completed.stderr
    )
    (tmp_path / "taken.pt").write_text("something else")
    completed = run_cli("publish", copy_of, tmp_path / "taken.pt")
    assert (
        completed.returncode == 1
        and "taken.pt exists; pass --overwrite" in completed.stderr
    )
    assert (
        copy_of.read_bytes() == before
        and (tmp_path / "taken.pt").read_text() == "something else"
    )
    assert load_checkpoint(copy_of)["optimizer_state"] is not None


def test_resume_refuses_other_settings(copy_of, capsys):
    for change, expected in [
        (
            ["--dataset", "FashionMNIST"],
            "dataset 'MNIST' -> 'FashionMNIST'",
        ),
        (["--seed", "1"], "seed 0 -> 1"),
        (["--subset", "300"], "subset 256 -> 300"),
        (["--model", "aae"], "model 'vae' -> 'aae'"),
    ]:
        with pytest.raises(
            ValueError,
            match=f"this command changes {expected}; keep them",
        ):
            main(
                [
                    "--debug",
                    "train",
                    *TINY,
                    *NO_DATA,
                    *change,
                    "--epochs",
                    "3",
                    "--out",
                    copy_of,
                    "--resume",
                ]
            )
    with pytest.raises(
        ValueError,
        match="has trained 2 epochs already; ask for --epochs 2 or more",
    ):
        main(
            [
                "--debug",
                "train",
                *TINY,
                *NO_DATA,
                "--epochs",
                "1",
                "--out",
                copy_of,
                "--resume",
            ]
        )


def test_resume_applies_and_records_a_new_learning_rate(
    copy_of, mnist_root
):
    main(
        [
            "train",
            *TINY,
            "--lr",
            "2e-4",
            "--epochs",
            "3",
            "--data-dir",
            mnist_root,
            "--out",
            copy_of,
            "--resume",
        ]
    )
    state, metadata = load_checkpoint(copy_of), json.loads(
        copy_of.with_suffix(".json").read_text()
    )
    assert (
        state["epoch"] == 3
        and state["optimizer_state"]["param_groups"][0]["lr"] == 2e-4
    )
    assert metadata["lr"] == 2e-4 and metadata["epochs_trained"] == 3
    assert [
        {**entry, "command": ""} for entry in metadata["resumed"]
    ] == [{"from_epoch": 2, "command": "", "lr": 2e-4}]
    assert (
        "--lr 2e-4" in metadata["resumed"][0]["command"]
        and "--lr 1e-3" in metadata["command"]
    )


def test_a_start_removes_the_temporary_files_a_killed_save_left(
    copy_of, mnist_root
):
    stale = copy_of.parent / "vae.ptab12cd_9.tmp"
    # the temporary file of another output, vae.pt.b.pt
    other_run = copy_of.parent / "vae.pt.b.ptab12cd_9.tmp"
    stale.write_bytes(b"half a checkpoint")
    other_run.write_bytes(b"another run's save in progress")
    main(
        [
            "train",
            *TINY,
            "--epochs",
            "2",
            "--data-dir",
            mnist_root,
            "--out",
            copy_of,
            "--resume",
        ]
    )
    assert not stale.exists() and other_run.exists()


def test_non_finite_weights_are_never_saved(tmp_path):
    from catvae_lit.losses import vae_objective
    from catvae_lit.training import fit

    images = torch.rand(64, 784).round()
    # One batch per epoch: Adam's first step moves every weight by about
    # lr, past float32's largest number.
    with pytest.raises(
        FloatingPointError,
        match=(
            "weights became infinite or NaN in epoch 1, and no"
            " checkpoint"
        ),
    ):
        fit(
            VAE(),
            vae_objective,
            images,
            epochs=2,
            batch_size=64,
            lr=1e39,
            checkpoint=tmp_path / "m.pt",
            progress=False,
        )
    assert not (tmp_path / "m.pt").exists()
    fit(
        VAE(),
        vae_objective,
        images,
        epochs=1,
        batch_size=64,
        lr=1e-3,
        checkpoint=tmp_path / "m.pt",
        progress=False,
    )
    with pytest.raises(
        FloatingPointError,
        match=(
            f"last good checkpoint, {tmp_path / 'm.pt'} at epoch 1, is"
            " untouched"
        ),
    ):
        fit(
            VAE(),
            vae_objective,
            images,
            epochs=2,
            batch_size=64,
            lr=1e39,
            checkpoint=tmp_path / "m.pt",
            resume=True,
            progress=False,
        )
    state = load_checkpoint(tmp_path / "m.pt")
    assert state["epoch"] == 1 and all(
        value.isfinite().all() for value in state["model_state"].values()
    )


def test_evaluate_fails_on_non_finite_scores(tmp_path, mnist_root):
    broken = VAE()
    # finite weights (NaN ones are refused on loading) whose sums
    # overflow float32
    with torch.no_grad():
        broken.decoder.net[-1].weight.fill_(3e38)
    save_checkpoint(
        tmp_path / "nan.pt",
        broken,
        metadata={"model": "vae", "dataset": "MNIST"},
    )
    completed = run_cli(
        "evaluate", tmp_path / "nan.pt", "--data-dir", mnist_root
    )
    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"catvae-lit: error: the scores of {tmp_path / 'nan.pt'} are not"
        " finite (test_loss, test_reconstruction)"
    )


def test_overwrite_keeps_the_old_run_until_the_new_one_replaces_it(
    copy_of, tmp_path
):
    before = (
        copy_of.read_bytes(),
        copy_of.with_suffix(".json").read_text(),
    )
    completed = run_cli(
        "train",
        *TINY,
        *NO_DATA,
        "--epochs",
        "1",
        "--out",
        copy_of,
        "--overwrite",
    )
    assert (
        completed.returncode == 1
        and "MNIST is not in" in completed.stderr
    )
    assert (
        copy_of.read_bytes(),
        copy_of.with_suffix(".json").read_text(),
    ) == before
    (tmp_path / "other.json").write_text("somebody's notes")
    completed = run_cli(
        "train",
        *TINY,
        *NO_DATA,
        "--epochs",
        "1",
        "--out",
        tmp_path / "other.pt",
    )
    assert (
        completed.returncode == 1
        and "other.json exists; pass --resume" in completed.stderr
    )


def test_an_interrupted_run_says_how_to_continue(tmp_path, mnist_root):
    out = tmp_path / "stopped.pt"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catvae_lit",
            "train",
            *TINY,
            "--subset",
            "20000",
            "--epochs",
            "40",
            "--data-dir",
            str(mnist_root),
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores Ctrl-C, and its children
        # inherit that; the run under test must hear it as a user's would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    while not out.exists():
        assert (
            process.poll() is None
        ), "training ended before its first checkpoint"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate()
    assert process.returncode == 1 and "Traceback" not in stderr
    assert (
        stderr.splitlines()[-1]
        == "catvae-lit: interrupted; a training run keeps the checkpoint"
        " of its last finished epoch (continue it with --resume)"
    )
    assert load_checkpoint(out)["epoch"] >= 1
    with exclusive_output(out):  # the interrupted run released its lock
        pass


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["sample", "x.pt", "--out", "x.xyz"],
            "argument --out: expected a .png file to write, got 'x.xyz'",
        ),
        (
            ["train", "--device", "meta", "--out", "m.pt"],
            (
                "argument --device: expected cpu, cuda or cuda:N, got"
                " 'meta'"
            ),
        ),
        (
            ["train", "--seed", str(2**64), "--out", "m.pt"],
            "argument --seed: expected a finite number >= 0 and below",
        ),
    ],
)
def test_options_that_would_fail_late_are_refused_when_parsed(
    capsys, argv, expected
):
    code, message = usage_error(capsys, *argv)
    assert code == 2 and expected in message


def test_evaluate_refuses_a_model_name_that_does_not_match_the_checkpoint(
    trained,
):
    completed = run_cli("evaluate", trained, "--model", "catvae")
    assert completed.returncode == 1
    assert (
        completed.stderr
        == f"catvae-lit: error: {trained} holds a VAE, and --model"
        " catvae"
        " is a MLPCatVAE; name the model it holds\n"
    )


def test_an_empty_file_and_an_unexpected_error_are_one_line(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    completed = run_cli("evaluate", tmp_path / "empty.pt")
    assert completed.returncode == 1 and completed.stderr.startswith(
        "catvae-lit: error: "
    )
    assert (
        "is not a readable checkpoint" in completed.stderr
        and completed.stderr.count("\n") == 1
    )


def test_reproduce_refuses_a_changed_setting_before_training_anything(
    tmp_path, mnist_root
):
    main(
        [
            "train",
            "--model",
            "catvae",
            "--subset",
            "256",
            "--epochs",
            "1",
            "--data-dir",
            mnist_root,
            "--out",
            tmp_path / "catvae_mnist.pt",
        ]
    )
    completed = run_cli(
        "reproduce",
        "--resume",
        "--subset",
        "256",
        "--epochs",
        "1",
        "--reconstruction",
        "mixed",
        "--data-dir",
        mnist_root,
        "--out",
        tmp_path,
    )
    assert (
        completed.returncode == 1
        and "changes reconstruction 'bound' -> 'mixed'"
        in completed.stderr
    )
    assert not (tmp_path / "aae_mnist.pt").exists()


def test_a_checkpoint_with_non_finite_weights_is_not_resumed(tmp_path):
    from catvae_lit.losses import vae_objective
    from catvae_lit.training import fit

    broken = VAE()
    with torch.no_grad():
        broken.body[0].weight[0, 0] = float("inf")
    save_checkpoint(
        tmp_path / "inf.pt",
        broken,
        torch.optim.Adam(broken.parameters()),
        epoch=1,
    )
    with pytest.raises(
        ValueError,
        match="holds infinite or NaN weights; it cannot be resumed",
    ):
        fit(
            VAE(),
            vae_objective,
            torch.rand(64, 784),
            epochs=2,
            checkpoint=tmp_path / "inf.pt",
            resume=True,
            progress=False,
        )

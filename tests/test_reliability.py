"""The third reliability pass: one test per defect that a hostile try
found (the numbers are the issue's). No run is labelled with another
run's metadata, no study is silently mixed or replaced, and no small
file can make the package allocate what it asks for."""

import gzip
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import catvae_lit.cli as cli
from catvae_lit.ablation import SETTINGS, run_all, train_command
from catvae_lit.cli import RECURRENT_MODELS, main
from catvae_lit.data import DataFileError, load_mnist, read_idx
from catvae_lit.ensemble import EnsembleCatVAE
from catvae_lit.judge import Judge
from catvae_lit.losses import vae_objective
from catvae_lit.models import VAE, MLPCatVAE
from catvae_lit.recurrent import RecurrentCatVAE
from catvae_lit.training import (
    MODEL_CLASSES,
    fit,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    train_judge,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--model",
    "vae",
    "--subset",
    "256",
    "--lr",
    "1e-3",
    "--threads",
    "1",
]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "catvae_lit", *map(str, args)],
        capture_output=True,
        text=True,
    )


@pytest.fixture(autouse=True)
def _threads_back():
    """`--threads 1` in an in-process command must not slow the tests
    that follow."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def stop_before_metadata(*args):
    """In place of `finish_run`: `train` stops as Ctrl-C would between
    its last checkpoint and its metadata."""
    raise KeyboardInterrupt


# 1. publish never puts an old run's metadata on new weights
def test_publish_refuses_the_metadata_of_an_interrupted_resume(
    tmp_path, mnist_root, monkeypatch
):
    out, data = tmp_path / "c.pt", ["--data-dir", mnist_root]
    main(["train", *TINY, *data, "--epochs", "1", "--out", out])
    with monkeypatch.context() as patch:
        patch.setattr(cli, "finish_run", stop_before_metadata)
        with pytest.raises(SystemExit):
            main(
                [
                    "train",
                    *TINY,
                    *data,
                    "--epochs",
                    "3",
                    "--out",
                    out,
                    "--resume",
                ]
            )
    assert (
        load_checkpoint(out)["epoch"] == 3
        and json.loads(out.with_suffix(".json").read_text())[
            "epochs_trained"
        ]
        == 1
    )
    completed = run_cli("publish", out, tmp_path / "p.pt")
    assert (
        completed.returncode == 1
        and "does not describe the weights" in completed.stderr
    )
    assert (
        "epochs trained: 1 there, 3 in the checkpoint"
        in completed.stderr
        and not (tmp_path / "p.pt").exists()
    )
    main(
        [
            "train",
            *TINY,
            *data,
            "--epochs",
            "3",
            "--out",
            out,
            "--resume",
        ]
    )  # finishes: the metadata anew
    main(["publish", out, tmp_path / "p.pt"])
    assert (
        json.loads((tmp_path / "p.json").read_text())["epochs_trained"]
        == 3
    )


def test_publish_refuses_the_metadata_of_a_replaced_run(
    tmp_path, mnist_root, monkeypatch
):
    out, data = tmp_path / "c.pt", ["--data-dir", mnist_root]
    main(["train", *TINY, *data, "--epochs", "1", "--out", out])
    monkeypatch.setattr(cli, "finish_run", stop_before_metadata)
    with pytest.raises(SystemExit):
        main(
            [
                "train",
                *TINY,
                *data,
                "--epochs",
                "1",
                "--seed",
                "5",
                "--out",
                out,
                "--overwrite",
            ]
        )
    completed = run_cli("publish", out, tmp_path / "p.pt")
    assert (
        completed.returncode == 1
        and "other entries that differ: command, seed"
        in completed.stderr
    )


# 2. the ablation reuses a run only if it was trained with the settings
# it asks for
def test_a_run_of_other_settings_or_more_epochs_is_not_reused(
    tmp_path, mnist_root
):
    setting, data = "CatVAE, released code", [
        "--data-dir",
        str(mnist_root),
    ]
    path = tmp_path / "run.pt"
    on_subset = train_command(
        setting, "MNIST", 0, 1, path, ["--subset", "256", *data]
    )
    main(on_subset[3:])
    assert cli.finished_run(path, on_subset)
    with pytest.raises(ValueError, match="changes subset 256 -> None"):
        cli.finished_run(
            path, train_command(setting, "MNIST", 0, 1, path, data)
        )
    main(
        train_command(
            setting, "MNIST", 0, 2, path, ["--subset", "256", *data]
        )[3:]
    )
    with pytest.raises(ValueError, match="has trained 2 epochs already"):
        cli.finished_run(path, on_subset)
    assert not cli.finished_run(
        path,
        train_command(
            setting, "MNIST", 0, 3, path, ["--subset", "256", *data]
        ),
    )
    faster = (
        tmp_path
        / "faster.pt"
        # "lr 1e-3" is a setting of its own: a run at that rate is not
        # the paper's
    )
    main(
        train_command(
            "InfoCatVAE, paper + lr 1e-3",
            "MNIST",
            0,
            1,
            faster,
            ["--subset", "128", *data],
        )[3:]
    )
    with pytest.raises(
        ValueError,
        match=(
            "trained at the learning rate 0.001, and its setting asks"
            " for 0.0001"
        ),
    ):
        cli.finished_run(
            faster,
            train_command(
                "InfoCatVAE, paper",
                "MNIST",
                0,
                1,
                faster,
                ["--subset", "128", *data],
            ),
        )


# 3. a later ablation adds its rows to ablation.json; it never drops the
# others or mixes budgets
def test_ablation_json_keeps_the_rows_of_other_runs(
    tmp_path, monkeypatch
):
    study = tmp_path / "ablation.json"
    earlier = [
        {
            "setting": "CatVAE, paper",
            "dataset": "MNIST",
            "seed": seed,
            "accuracy": 0.5,
        }
        for seed in (0, 1)
    ]
    cli.write_json(
        study,
        {"epochs": 2, "subset": None, "seeds": [0, 1], "runs": earlier},
    )
    new = [
        {
            "setting": "CatVAE, paper",
            "dataset": "MNIST",
            "seed": 1,
            "accuracy": 0.7,
        },
        {
            "setting": "AAE, paper",
            "dataset": "MNIST",
            "seed": 1,
            "kde_log_likelihood": 10.0,
        },
    ]
    monkeypatch.setattr(
        cli, "scoring_context", lambda dataset, data_dir=None: None
    )
    monkeypatch.setattr(cli, "ablation", lambda *args, **kwargs: new)
    main(
        [
            "ablation",
            "--settings",
            "CatVAE, paper",
            "AAE, paper",
            "--seeds",
            "1",
            "--epochs",
            "2",
            "--out",
            tmp_path,
        ]
    )
    runs = json.loads(study.read_text())["runs"]
    assert [
        (run["setting"], run["seed"], run.get("accuracy"))
        for run in runs
    ] == [
        ("CatVAE, paper", 0, 0.5),
        ("CatVAE, paper", 1, 0.7),
        ("AAE, paper", 1, None),
    ]
    before = study.read_text()
    with pytest.raises(
        ValueError,
        match=(
            "records runs of 2 epochs on the subset None, and this"
            " ablation asks for 3"
        ),
    ):
        main(
            [
                "--debug",
                "ablation",
                "--settings",
                "AAE, paper",
                "--epochs",
                "3",
                "--out",
                tmp_path,
            ]
        )
    assert study.read_text() == before
    study.write_text("{")
    with pytest.raises(ValueError, match="is not readable JSON"):
        cli.earlier_records(study, 2, None)
    study.write_text(
        json.dumps(
            {
                "epochs": 2,
                "subset": None,
                "runs": [
                    {
                        "setting": ["a list"],
                        "dataset": "MNIST",
                        "seed": 0,
                    }
                ],
            }
        )
    )
    with pytest.raises(ValueError, match="is not an ablation's record"):
        cli.earlier_records(study, 2, None)
    # another ablation is writing into this folder
    with cli.exclusive_output(study):
        with pytest.raises(ValueError, match="another run is writing"):
            main(
                [
                    "--debug",
                    "ablation",
                    "--settings",
                    "AAE, paper",
                    "--epochs",
                    "2",
                    "--out",
                    tmp_path,
                ]
            )


# 4. a small file cannot make the package allocate a large model or array
@pytest.mark.parametrize(
    "model, config",
    [
        (MLPCatVAE(), {"hidden_dim": 10**6}),
        (EnsembleCatVAE(2), {"members": 1024}),
        (Judge(), {"num_classes": 10**8}),
        (RecurrentCatVAE(), {"hidden_dim": 10**5}),
        (VAE(), {"input_dim": 10**7}),
    ],
)
def test_a_forged_config_is_refused_before_anything_is_allocated(
    tmp_path, monkeypatch, model, config
):
    save_checkpoint(tmp_path / "forged.pt", model)
    state = torch.load(tmp_path / "forged.pt", weights_only=True)
    torch.save(
        {**state, "model_config": {**state["model_config"], **config}},
        tmp_path / "forged.pt",
    )
    devices = []
    real = MODEL_CLASSES[type(model).__name__]

    class Spy(real):
        def __init__(self, *args, **kwargs):
            # where the model's tensors would be made
            devices.append(torch.empty(0).device.type)
            super().__init__(*args, **kwargs)

    Spy.__signature__, Spy.__name__ = (
        inspect.signature(real),
        real.__name__,
    )

    monkeypatch.setitem(MODEL_CLASSES, type(model).__name__, Spy)
    with pytest.raises(
        ValueError, match="its weights do not fit .* has shape"
    ):
        model_from_checkpoint(
            load_checkpoint(tmp_path / "forged.pt"),
            tmp_path / "forged.pt",
        )
    assert devices == ["meta"]


def test_weights_that_store_less_than_their_shape_are_refused(tmp_path):
    save_checkpoint(tmp_path / "m.pt", VAE())
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    state["model_state"] = {
        name: torch.zeros(1).expand(value.shape)
        for name, value in state["model_state"].items()
    }
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="malformed: model_state"):
        load_checkpoint(tmp_path / "m.pt")


def test_a_forged_ensemble_size_is_refused_at_once(tmp_path):
    save_checkpoint(tmp_path / "forged.pt", EnsembleCatVAE(2))
    state = torch.load(tmp_path / "forged.pt", weights_only=True)
    torch.save(
        {
            **state,
            "model_config": {**state["model_config"], "members": 10**9},
        },
        tmp_path / "forged.pt",
    )
    with pytest.raises(
        ValueError,
        match="cannot build a EnsembleCatVAE .* holds 1 to 1024 members",
    ):
        model_from_checkpoint(
            load_checkpoint(tmp_path / "forged.pt"),
            tmp_path / "forged.pt",
        )


def test_sizes_that_commands_are_asked_for_are_capped(capsys):
    for argv in (
        ["sample", "m.pt", "--out", "x.png", "--per-row", "1000000"],
        ["evaluate", "m.pt", "--samples", "1000000000"],
    ):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert (
            stop.value.code == 2
            and "and below" in capsys.readouterr().err
        )


def idx_file(path, shape, data):
    path.write_bytes(
        gzip.compress(
            bytes([0, 0, 8, len(shape)])
            + b"".join(n.to_bytes(4, "big") for n in shape)
            + data
        )
    )
    return path


def test_a_gzip_bomb_is_refused_without_decompressing_it(tmp_path):
    with pytest.raises(
        DataFileError,
        match="holds more data bytes but its header announces shape",
    ):
        read_idx(
            idx_file(
                tmp_path / "bomb-idx1-ubyte.gz", (10,), bytes(50_000_000)
            )
        )
    with pytest.raises(
        DataFileError,
        match=(
            r"announces shape \(4294967295, 4294967295\), which is cut"
            r" short or holds"
        ),
    ):
        read_idx(
            idx_file(
                tmp_path / "huge-idx3-ubyte.gz",
                (2**32 - 1, 2**32 - 1),
                b"",
            )
        )


# 5. the judge is guarded like `train`
def test_a_diverging_judge_stops_and_writes_nothing(
    tmp_path, mnist_root
):
    with pytest.raises(
        FloatingPointError,
        match="judge's .* in epoch 1, and no checkpoint",
    ):
        train_judge(
            Judge(),
            torch.rand(64, 784),
            torch.randint(0, 10, (64,)),
            epochs=1,
            lr=1e39,
        )
    completed = run_cli(
        "train-judge",
        "--lr",
        "1e30",
        "--subset",
        "256",
        "--epochs",
        "1",
        "--data-dir",
        mnist_root,
        "--out",
        tmp_path / "judge.pt",
    )
    assert (
        completed.returncode == 1
        and "no checkpoint of this run was saved" in completed.stderr
    )
    assert (
        not (tmp_path / "judge.pt").exists()
        and not (tmp_path / "judge.json").exists()
    )
    with pytest.raises(ValueError, match="Out of range float"):
        cli.write_json(tmp_path / "nan.json", {"accuracy": float("nan")})


# 6. --kl-warm-up is refused where it does nothing, and bounded where it
# does
def test_kl_warm_up_is_refused_or_bounded(tmp_path, mnist_root, capsys):
    completed = run_cli(
        "train",
        "--model",
        "catvae",
        "--kl-warm-up",
        "2",
        "--subset",
        "64",
        "--epochs",
        "1",
        "--data-dir",
        mnist_root,
        "--out",
        tmp_path / "m.pt",
    )
    assert completed.returncode == 1
    applies = completed.stderr.partition("--kl-warm-up applies to ")[2]
    assert applies.endswith("and catvae does not read it\n")
    assert all(f"{name}," in applies for name in RECURRENT_MODELS)
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "train",
                "--model",
                "recurrent-catvae",
                "--kl-warm-up",
                "1e308",
                "--out",
                tmp_path / "m.pt",
            ]
        )
    assert (
        stop.value.code == 2 and "below 10000" in capsys.readouterr().err
    )
    main(
        [
            "train",
            "--model",
            "recurrent-catvae",
            "--kl-warm-up",
            "0.1",
            "--subset",
            "64",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--data-dir",
            mnist_root,
            "--out",
            tmp_path / "r.pt",
        ]
    )
    assert load_checkpoint(tmp_path / "r.pt")["epoch"] == 1


# 7. sample is guarded and never replaces a file unless told
def test_sample_refuses_nan_weights_and_an_existing_file(tmp_path):
    broken = MLPCatVAE()
    with torch.no_grad():
        broken.decoder.net[-1].bias.fill_(float("nan"))
    save_checkpoint(
        tmp_path / "nan.pt",
        broken,
        metadata={"model": "catvae", "dataset": "MNIST"},
    )
    completed = run_cli(
        "sample", tmp_path / "nan.pt", "--out", tmp_path / "s.png"
    )
    assert (
        completed.returncode == 1
        and "holds infinite or NaN weights" in completed.stderr
    )
    assert not (tmp_path / "s.png").exists()
    save_checkpoint(
        tmp_path / "ok.pt",
        MLPCatVAE(),
        metadata={"model": "catvae", "dataset": "MNIST"},
    )
    (tmp_path / "s.png").write_bytes(b"somebody's picture")
    completed = run_cli(
        "sample", tmp_path / "ok.pt", "--out", tmp_path / "s.png"
    )
    assert (
        completed.returncode == 1
        and "s.png exists; pass --overwrite" in completed.stderr
    )
    assert (tmp_path / "s.png").read_bytes() == b"somebody's picture"
    assert (
        run_cli(
            "sample",
            tmp_path / "ok.pt",
            "--out",
            tmp_path / "s.png",
            "--overwrite",
        ).returncode
        == 0
    )


# 8. stopping the ablation stops its runs
def test_sigterm_to_the_ablation_stops_the_runs_it_started(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from catvae_lit.ablation import run_all
        sleeper = [sys.executable, "-c", "import os, time; open(os.environ['PIDS'], 'a').write(str(os.getpid()) + ' '); time.sleep(300)"]
        run_all({{r"{tmp_path}/a.pt": sleeper, r"{tmp_path}/b.pt": sleeper}}, 2)
    """))
    pids = tmp_path / "pids"
    pool = subprocess.Popen(
        [sys.executable, script],
        env={**os.environ, "PIDS": str(pids)},
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while (
        not pids.exists() or len(pids.read_text().split()) < 2
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    pool.send_signal(signal.SIGTERM)
    pool.wait(60)
    assert pool.returncode != 0
    for pid in map(int, pids.read_text().split()):
        with pytest.raises(ProcessLookupError):
            # no such process: the run was stopped and reaped
            os.kill(pid, 0)


# 9. a seed or a setting named twice is refused
@pytest.mark.parametrize(
    "twice",
    [
        ["--settings", "AAE, paper", "--seeds", "0", "0"],
        ["--settings", "AAE, paper", "AAE, paper", "--seeds", "0"],
    ],
)
def test_a_run_named_twice_is_refused_before_anything_runs(
    tmp_path, twice
):
    completed = run_cli(
        "ablation",
        *twice,
        "--epochs",
        "1",
        "--subset",
        "64",
        "--out",
        tmp_path,
    )
    assert (
        completed.returncode == 1
        and "more than once" in completed.stderr
        and not any(tmp_path.iterdir())
    )


# 10. errors a user can act on
def test_evaluate_points_an_ensemble_to_publish_member_and_names_a_judge(
    tmp_path,
):
    save_checkpoint(
        tmp_path / "e.pt",
        EnsembleCatVAE(2),
        metadata={"model": "catvae"},
    )
    completed = run_cli("evaluate", tmp_path / "e.pt")
    assert (
        completed.returncode == 1
        and "publish CHECKPOINT MEMBER.pt --member I" in completed.stderr
    )
    save_checkpoint(
        tmp_path / "j.pt", Judge(), metadata={"model": "judge"}
    )
    completed = run_cli(
        "sample", tmp_path / "j.pt", "--out", tmp_path / "j.png"
    )
    assert (
        completed.returncode == 1
        and "a classifier of images" in completed.stderr
    )


def test_weights_of_another_shape_are_named(tmp_path):
    model = MLPCatVAE()
    save_checkpoint(tmp_path / "m.pt", model)
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    state["model_state"]["classifier.weight"] = torch.zeros(3, 400)
    torch.save(state, tmp_path / "m.pt")
    with pytest.raises(
        ValueError,
        match=(
            r"classifier.weight has shape \(3, 400\) where the model's"
            r" has \(10, 400\)"
        ),
    ):
        model_from_checkpoint(
            load_checkpoint(tmp_path / "m.pt"), tmp_path / "m.pt"
        )


@pytest.fixture
def finished(tmp_path, mnist_root):
    """A VAE run trained for one epoch by the command line, checkpoint
    and metadata."""
    main(
        [
            "train",
            *TINY,
            "--epochs",
            "1",
            "--data-dir",
            mnist_root,
            "--out",
            tmp_path / "v.pt",
        ]
    )
    return tmp_path / "v.pt"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"command": "python -m', "is not readable JSON"),
        (
            '{"command": "python -m catvae_lit train --out v.pt"}',
            "missing or malformed: dataset, epochs_trained",
        ),
        (
            (
                '{"command": "c", "dataset": "MNIST", "epochs_trained":'
                ' true, "seconds_this_run": 1, "final_train_terms": {},'
                ' "test": {}}'
            ),
            "missing or malformed: epochs_trained",
        ),
        (
            (
                '{"command": "c", "dataset": "MNIST", "epochs_trained":'
                ' 1, "seconds_this_run": 1, "final_train_terms": {},'
                ' "test": {"accuracy": NaN}}'
            ),
            "missing or malformed: test.accuracy",
        ),
    ],
)
def test_a_broken_run_json_is_named_in_the_error(
    finished, tmp_path, text, expected
):
    finished.with_suffix(".json").write_text(text)
    completed = run_cli("publish", finished, tmp_path / "p.pt")
    assert (
        completed.returncode == 1
        and str(finished.with_suffix(".json")) in completed.stderr
    )
    assert expected in completed.stderr


def test_a_forged_command_is_not_copied(finished, tmp_path):
    state = load_checkpoint(finished)
    for forged in (
        "rm -rf ~",
        "python -m catvae_lit train --model aae --out v.pt",
        (
            f"{state['metadata']['command']}"
            " --data-dir=$(touch${IFS}pwned)"
        ),
    ):
        metadata = {
            **json.loads(finished.with_suffix(".json").read_text()),
            "command": forged,
        }
        save_checkpoint(
            finished,
            VAE(),
            None,
            state["epoch"],
            state["history"],
            0,
            {**state["metadata"], "command": forged},
        )
        finished.with_suffix(".json").write_text(json.dumps(metadata))
        completed = run_cli("publish", finished, tmp_path / "p.pt")
        assert (
            completed.returncode == 1
            and "was not written by catvae_lit" in completed.stderr
        )


def test_a_pickle_that_names_a_function_is_reported_as_such(tmp_path):
    class Payload:
        def __reduce__(self):
            return os.system, ("true",)

    torch.save(Payload(), tmp_path / "evil.pt")
    completed = run_cli("evaluate", tmp_path / "evil.pt")
    assert (
        completed.returncode == 1
        and f"asks for {os.system.__module__}.system" in completed.stderr
    )


# 11. the Python API refuses what the command line refuses
def test_fit_neither_replaces_a_checkpoint_nor_resumes_another_run(
    tmp_path,
):
    images, path = torch.rand(64, 784).round(), tmp_path / "m.pt"
    fit(
        VAE(),
        vae_objective,
        images,
        epochs=1,
        batch_size=64,
        checkpoint=path,
        progress=False,
    )
    before = path.read_bytes()
    with pytest.raises(
        ValueError,
        match=(
            "exists; pass resume=True to continue that run or"
            " overwrite=True"
        ),
    ):
        fit(
            VAE(),
            vae_objective,
            images,
            epochs=1,
            batch_size=64,
            checkpoint=path,
            progress=False,
        )
    assert path.read_bytes() == before
    with pytest.raises(
        ValueError, match="was trained with seed 0, not 1"
    ):
        fit(
            VAE(),
            vae_objective,
            images,
            epochs=2,
            batch_size=64,
            seed=1,
            checkpoint=path,
            resume=True,
            progress=False,
        )
    with pytest.raises(ValueError, match="was trained on other images"):
        fit(
            VAE(),
            vae_objective,
            images.flip(0),
            epochs=2,
            batch_size=64,
            checkpoint=path,
            resume=True,
            progress=False,
        )
    fit(
        VAE(),
        vae_objective,
        images,
        epochs=1,
        batch_size=64,
        checkpoint=path,
        overwrite=True,
        progress=False,
    )


def copy_dataset(source, target):
    shutil.copytree(Path(source) / "MNIST", Path(target) / "MNIST")
    return target


def test_load_mnist_refuses_foreign_labels_and_a_partial_dataset(
    tmp_path, mnist_root, monkeypatch
):
    root = copy_dataset(mnist_root, tmp_path / "data")
    raw = root / "MNIST" / "raw"
    idx_file(
        raw / "t10k-labels-idx1-ubyte.gz",
        (10_000,),
        bytes([12]) * 10_000,
    )
    with pytest.raises(
        DataFileError,
        match="holds the label 12, and MNIST has the labels 0 to 9",
    ):
        load_mnist("test", root=root)
    (raw / "train-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(
        "catvae_lit.data._try_download",
        lambda *args: pytest.fail("a partial dataset was completed"),
    )
    with pytest.raises(
        FileNotFoundError, match="missing: train-labels-idx1-ubyte.gz"
    ):
        load_mnist("test", root=root)
    assert sorted(path.name for path in raw.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
    ]


@pytest.mark.parametrize(
    "build",
    [
        lambda: MLPCatVAE(hidden_dim=0),
        lambda: RecurrentCatVAE(steps=-1),
        lambda: VAE(latent_dim=2.5),
        lambda: Judge(num_classes=0),
    ],
)
def test_models_of_impossible_sizes_are_refused(build):
    with pytest.raises(
        ValueError, match="sizes must be positive integers"
    ):
        build()


# 12. evaluate gives the same numbers for the same command
def test_evaluate_is_reproducible(capsys):
    checkpoint = ROOT / "checkpoints" / "catvae_mnist.pt"
    outputs = []
    for _ in range(2):
        main(["evaluate", checkpoint, "--samples", "100"])
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]


# 13. a tampered optimizer state is not resumed
@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda group, state: group.update(maximize=True),
            "its optimizer has the settings",
        ),
        (
            lambda group, state: state.update(exp_avg=torch.zeros(3)),
            "optimizer's exp_avg does not fit the weights",
        ),
        (
            lambda group, state: state.update(
                exp_avg_sq=-state["exp_avg_sq"] - 1
            ),
            "optimizer's exp_avg_sq does not fit",
        ),
        (
            lambda group, state: state.pop("exp_avg_sq"),
            "holds moments that are not Adam's",
        ),
    ],
)
def test_a_tampered_optimizer_state_is_refused(
    tmp_path, change, expected
):
    images, path = torch.rand(64, 784).round(), tmp_path / "m.pt"
    fit(
        VAE(),
        vae_objective,
        images,
        epochs=1,
        batch_size=64,
        checkpoint=path,
        progress=False,
    )
    state = torch.load(path, weights_only=True)
    change(
        state["optimizer_state"]["param_groups"][0],
        state["optimizer_state"]["state"][0],
    )
    torch.save(state, path)
    with pytest.raises(ValueError, match=expected):
        fit(
            VAE(),
            vae_objective,
            images,
            epochs=2,
            batch_size=64,
            checkpoint=path,
            resume=True,
            progress=False,
        )


# 14. make lab does not hand out a root shell
@pytest.mark.skipif(
    os.geteuid() != 0, reason="checks what `make lab` does as root"
)
def test_make_lab_refuses_root_unless_told():
    completed = subprocess.run(
        ["make", "--no-print-directory", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        completed.returncode == 2
        and "refusing to run Jupyter as root" in completed.stderr
    )


def test_make_lab_turns_terminals_off():
    completed = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "lab",
            "LAB_OPTIONS=--allow-root",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--ServerApp.terminals_enabled=False" in completed.stdout


# 15. the package imports where fcntl does not exist (Windows)
def test_every_module_imports_without_fcntl():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
        import catvae_lit
        for module in pkgutil.iter_modules(catvae_lit.__path__):
            if module.name != "__main__":
                importlib.import_module(f"catvae_lit.{module.name}")
        print("imported")
    """)
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        capture_output=True,
        text=True,
    )
    assert (
        completed.returncode == 0 and completed.stdout == "imported\n"
    ), completed.stderr

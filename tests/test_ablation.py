"""The ablation of the findings chapter: its settings are valid
commands, and a small ablation runs, resumes and records what the
chapter reads; the options it added to `train` are checked and
recorded."""

import json
import subprocess
import sys

import pytest
import torch

from catvae_lit.ablation import SETTINGS, run_path, train_command
from catvae_lit.cli import parser
from catvae_lit.data import random_affine
from catvae_lit.losses import information_loss, invariant_objective
from catvae_lit.models import MLPCatVAE


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "catvae_lit", *map(str, args)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("setting", SETTINGS)
def test_every_setting_is_a_valid_train_command(setting, tmp_path):
    for dataset in SETTINGS[setting][2]:
        command = train_command(
            setting, dataset, 0, 1, tmp_path / "run.pt"
        )
        assert command[:3] == [sys.executable, "-m", "catvae_lit"]
        # argparse exits on an invalid option
        parser().parse_args(command[3:])


def test_runs_have_distinct_files(tmp_path):
    paths = {
        run_path(tmp_path, setting, dataset, seed)
        for setting, (_, _, datasets) in SETTINGS.items()
        for dataset in datasets
        for seed in (0, 1)
    }
    assert len(paths) == sum(
        2 * len(datasets) for _, _, datasets in SETTINGS.values()
    )


def test_a_small_ablation_runs_resumes_and_records(tmp_path, mnist_root):
    args = [
        "ablation",
        "--settings",
        "CatVAE, released code",
        "--seeds",
        0,
        1,
        "--epochs",
        2,
        "--subset",
        256,
        "--out",
        tmp_path,
    ]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    result = json.loads((tmp_path / "ablation.json").read_text())
    assert [run["seed"] for run in result["runs"]] == [0, 1] and result[
        "epochs"
    ] == 2
    for run in result["runs"]:
        assert (
            len(run["learning_curve"]) == 2
            and 0 <= run["accuracy"] <= 1
            and 1 <= run["distinct_centres"] <= 10
        )
        assert (
            abs(
                run["information"]
                + run["imbalance"]
                - run["kl_categorical"]
            )
            < 1e-4
        )
    checkpoint = run_path(tmp_path, "CatVAE, released code", "MNIST", 0)
    written = checkpoint.stat().st_mtime_ns
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    assert (
        checkpoint.stat().st_mtime_ns == written
    ), "a finished run is not trained again"
    assert (
        json.loads((tmp_path / "ablation.json").read_text())["runs"][0][
            "accuracy"
        ]
        == result["runs"][0]["accuracy"]
    )


def test_an_unknown_setting_is_refused_before_anything_runs(tmp_path):
    completed = cli(
        "ablation", "--settings", "CatVAE, nonsense", "--out", tmp_path
    )
    assert (
        completed.returncode == 1
        and "unknown settings" in completed.stderr
    )
    assert not any(tmp_path.iterdir())


def test_datasets_restrict_the_runs_and_none_left_is_refused(
    tmp_path, mnist_root
):
    released = "InfoCatVAE, released code"  # MNIST and FashionMNIST
    completed = cli(
        *("ablation", "--settings", released, "--datasets", "MNIST"),
        *("--seeds", 0, "--epochs", 1, "--subset", 256),
        *("--out", tmp_path),
    )
    assert completed.returncode == 0, completed.stderr
    runs = json.loads((tmp_path / "ablation.json").read_text())["runs"]
    assert [(run["setting"], run["dataset"]) for run in runs] == [
        (released, "MNIST")
    ]
    refused = cli(
        *("ablation", "--settings", "AAE, paper"),
        *("--datasets", "FashionMNIST", "--out", tmp_path / "none"),
    )
    assert refused.returncode == 1
    assert "is trained on ['FashionMNIST']" in refused.stderr
    assert "they are trained on ['MNIST']" in refused.stderr
    assert not (tmp_path / "none").exists()


def test_dropout_is_refused_for_a_model_without_it(tmp_path):
    completed = cli(
        "train",
        "--model",
        "recurrent-catvae",
        "--dropout",
        "0",
        "--out",
        tmp_path / "r.pt",
    )
    assert completed.returncode == 1 and "has none" in completed.stderr
    assert (
        cli(
            "train", "--dropout", "1", "--out", tmp_path / "r.pt"
        ).returncode
        == 2
    )


def test_the_new_options_are_recorded_and_kept_on_resume(
    tmp_path, mnist_root
):
    out = tmp_path / "m.pt"
    base = [
        "train",
        "--model",
        "infocatvae",
        "--subset",
        128,
        "--out",
        out,
        "--threads",
        1,
        "--dropout",
        0,
    ]
    assert (
        cli(
            *base, "--epochs", 1, "--info-loss", "double-softmax"
        ).returncode
        == 0
    )
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert (
        metadata["dropout"] == 0
        and metadata["info_loss"] == "double-softmax"
    )
    changed = cli(*base, "--epochs", 2, "--resume")
    assert (
        changed.returncode == 1
        and "info_loss 'double-softmax' -> 'cross-entropy'"
        in changed.stderr
    )


def test_the_double_softmax_term_is_the_released_codes():
    torch.manual_seed(0)
    model = MLPCatVAE()
    torch.manual_seed(1)
    double = information_loss(model, double_softmax=True)
    torch.manual_seed(1)
    categories = torch.arange(10).repeat(10)
    probs = model.classify(model.sample(categories))
    assert torch.allclose(
        double, torch.nn.functional.cross_entropy(probs, categories)
    )


def test_the_invariance_term_vanishes_for_a_classifier_that_ignores_the_image():
    torch.manual_seed(0)
    model = MLPCatVAE()
    with torch.no_grad():
        # q(c|x) = softmax(bias) for every image, moved or not
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.linspace(-1, 1, 10))
    terms = invariant_objective(model, torch.rand(8, 784))
    probs = torch.softmax(model.classifier.bias, -1)
    entropy = -(probs * probs.log()).sum()
    assert torch.allclose(
        terms["invariance"], entropy
    ), "CE(p, p) is the entropy of p: nothing left to match"
    assert (
        terms["imbalance"] > 0
    ), "an uneven average assignment is charged"


def test_random_affine_moves_an_image_by_at_most_the_shift():
    image = torch.zeros(50, 28, 28)
    image[:, 10:18, 10:18] = 1
    moved = random_affine(
        image.view(50, 784), degrees=0, scale=0, shift=2.5
    ).view(50, 28, 28)
    grid = torch.arange(28.0)

    def centre(images):
        mass = images.sum((1, 2))
        return torch.stack(
            [
                (images.sum(2) * grid).sum(1) / mass,
                (images.sum(1) * grid).sum(1) / mass,
            ],
            1,
        )

    displacement = (centre(moved) - centre(image)).abs()
    assert displacement.max() <= 2.5 + 1e-3 and displacement.max() > 0.5
    assert torch.allclose(
        moved.sum((1, 2)), image.sum((1, 2)), rtol=0.05
    ), "a shift keeps the ink"

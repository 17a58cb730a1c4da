"""Several CatVAEs trained as one ensemble: each member is the single
model it stands for."""

import functools
import json
import subprocess
import sys

import pytest
import torch

from catvae_lit.cli import main
from catvae_lit.ensemble import EnsembleCatVAE, member_settings
from catvae_lit.losses import catvae_objective, infocatvae_objective
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import (
    fit,
    fit_ensemble,
    load_checkpoint,
    restore_model,
)

OBJECTIVES = {
    "bound": catvae_objective,
    "mixed": functools.partial(catvae_objective, reconstruction="mixed"),
    "info": functools.partial(
        infocatvae_objective, reconstruction="mixed"
    ),
}
TINY = [
    "--subset",
    "256",
    "--batch-size",
    "64",
    "--lr",
    "1e-3",
    "--reconstruction",
    "mixed",
    "--threads",
    "1",
]


def seeded_models(seeds):
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(MLPCatVAE())
    return models


def images(n):
    return torch.rand(
        n, 784, generator=torch.Generator().manual_seed(0)
    ).round()


@pytest.mark.parametrize("reading", OBJECTIVES)
def test_an_ensemble_of_one_trains_as_the_single_model(reading):
    (single,) = seeded_models([3])
    ensemble = EnsembleCatVAE.stack([single])
    fit(
        single,
        OBJECTIVES[reading],
        images(256),
        epochs=2,
        batch_size=64,
        seed=3,
        progress=False,
    )
    fit_ensemble(
        ensemble,
        OBJECTIVES[reading],
        images(256),
        epochs=2,
        seeds=[3],
        batch_size=64,
        progress=False,
    )
    member = ensemble.member(0)
    for name, value in single.state_dict().items():
        assert torch.allclose(
            member.state_dict()[name], value, atol=1e-5
        ), name


def test_members_do_not_interact():
    ensemble = EnsembleCatVAE.stack(seeded_models([0, 1, 2]))
    batches = images(3 * 32).view(3, 32, 784)

    def member_zero():
        ensemble.zero_grad()
        torch.manual_seed(5)
        losses = OBJECTIVES["info"](ensemble, batches)["loss"]
        losses.sum().backward()
        return losses[0].item(), [
            parameter.grad[0].clone()
            for parameter in ensemble.parameters()
        ]

    loss, gradients = member_zero()
    with torch.no_grad():
        for parameter in ensemble.parameters():
            parameter[1:] += 0.5  # every member but member 0
    changed_loss, changed_gradients = member_zero()
    assert loss == changed_loss and all(
        map(torch.equal, gradients, changed_gradients)
    )


def test_members_start_as_their_seeds_and_come_back_as_single_models():
    models = seeded_models([0, 1])
    ensemble = EnsembleCatVAE.stack(models)
    for model, i in zip(models, range(2)):
        assert all(
            torch.equal(value, ensemble.member(i).state_dict()[name])
            for name, value in model.state_dict().items()
        )


@pytest.mark.parametrize(
    "request_, message",
    [
        (lambda: EnsembleCatVAE(members=0), "holds 1 to 1024 members"),
        (lambda: EnsembleCatVAE.stack([]), "one or more MLPCatVAE"),
        (
            lambda: EnsembleCatVAE.stack(
                [MLPCatVAE(), MLPCatVAE(hidden_dim=20)]
            ),
            "built with the same arguments",
        ),
        (
            lambda: EnsembleCatVAE(members=2).member(2),
            r"member must be in 0..1, got 2",
        ),
        (
            lambda: member_settings([1.0, 10.0], 3, "beta_cat"),
            "beta_cat has 2 values for an ensemble of 3 members",
        ),
        (
            lambda: fit_ensemble(
                EnsembleCatVAE(members=2),
                catvae_objective,
                images(64),
                1,
                seeds=[0],
            ),
            "1 seeds for an ensemble of 2 members",
        ),
        (
            lambda: EnsembleCatVAE(members=2).encode(images(8)),
            r"reads a batch per member, \(members, batch, 784\)",
        ),
    ],
)
def test_bad_ensemble_requests_get_clear_errors(request_, message):
    with pytest.raises(ValueError, match=message):
        request_()


def test_a_resumed_ensemble_ends_as_an_uninterrupted_one_and_is_not_resumed_as_a_single_run(
    tmp_path,
):
    straight, resumed = EnsembleCatVAE.stack(
        seeded_models([0, 1])
    ), EnsembleCatVAE.stack(seeded_models([0, 1]))
    fit_ensemble(
        straight,
        OBJECTIVES["mixed"],
        images(128),
        3,
        [0, 1],
        batch_size=64,
        progress=False,
    )
    fit_ensemble(
        resumed,
        OBJECTIVES["mixed"],
        images(128),
        1,
        [0, 1],
        batch_size=64,
        checkpoint=tmp_path / "e.pt",
        progress=False,
    )
    resumed = EnsembleCatVAE(members=2)
    history = fit_ensemble(
        resumed,
        OBJECTIVES["mixed"],
        images(128),
        3,
        [0, 1],
        batch_size=64,
        checkpoint=tmp_path / "e.pt",
        resume=True,
        progress=False,
    )
    assert len(history) == 3 and len(history[-1]["loss"]) == 2
    assert all(
        torch.equal(value, resumed.state_dict()[name])
        for name, value in straight.state_dict().items()
    )
    with pytest.raises(ValueError, match="holds a EnsembleCatVAE"):
        fit(
            MLPCatVAE(),
            catvae_objective,
            images(64),
            4,
            checkpoint=tmp_path / "e.pt",
            resume=True,
            progress=False,
        )


def test_a_copy_of_a_member_leaves_the_random_numbers_as_they_were():
    ensemble = EnsembleCatVAE.stack(seeded_models([0, 1]))
    torch.manual_seed(4)
    untouched = torch.rand(3)
    torch.manual_seed(4)
    ensemble.member(1)
    assert torch.equal(torch.rand(3), untouched)


def test_a_monitored_ensemble_of_one_trains_as_the_single_run(
    tmp_path, mnist_root
):
    common = [
        "train",
        "--model",
        "catvae",
        *TINY,
        "--epochs",
        "2",
        "--data-dir",
        mnist_root,
    ]
    main([*common, "--seed", "3", "--out", tmp_path / "single.pt"])
    main([*common, "--seeds", "3", "--out", tmp_path / "one.pt"])
    single = load_checkpoint(tmp_path / "single.pt")
    one = load_checkpoint(tmp_path / "one.pt")
    for key in ("test_accuracy", "selection_accuracy"):
        assert [row[key] for row in single["history"]] == pytest.approx(
            [row[key][0] for row in one["history"]], abs=1e-3
        ), key
    member = EnsembleCatVAE.stack([MLPCatVAE()])
    member.load_state_dict(one["model_state"])
    for name, value in member.member(0).state_dict().items():
        assert torch.allclose(
            single["model_state"][name], value, atol=1e-5
        ), name


def test_train_seeds_publish_member_and_evaluate(tmp_path, mnist_root):
    out = tmp_path / "three.pt"
    main(
        [
            "train",
            "--model",
            "infocatvae",
            "--seeds",
            "0",
            "1",
            "2",
            *TINY,
            "--epochs",
            "1",
            "--data-dir",
            mnist_root,
            "--out",
            out,
        ]
    )
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert (
        metadata["seeds"] == [0, 1, 2]
        and "seed" not in metadata
        and len(metadata["test"]) == 3
    )
    assert load_checkpoint(out)["model_config"]["members"] == 3
    main(["publish", out, tmp_path / "member2.pt", "--member", "2"])
    member = json.loads(
        (tmp_path / "member2.pt").with_suffix(".json").read_text()
    )
    assert (
        member["seed"] == 2
        and member["test"] == metadata["test"][2]
        and member["member"] == 2
    )
    assert isinstance(restore_model(tmp_path / "member2.pt"), MLPCatVAE)
    published_history = load_checkpoint(tmp_path / "member2.pt")[
        "history"
    ]
    ensemble_history = load_checkpoint(out)["history"]
    assert published_history[0]["loss"] == ensemble_history[0]["loss"][2]
    # the member's learning curve, whose last point is its test score
    assert published_history[-1]["test_accuracy"] == pytest.approx(
        metadata["test"][2]["accuracy"], abs=1e-4
    )
    assert len(ensemble_history[-1]["selection_accuracy"]) == 3
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "catvae_lit",
            "evaluate",
            tmp_path / "member2.pt",
            "--samples",
            "100",
            "--data-dir",
            mnist_root,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(
        metadata["test"][2]["accuracy"]
    )
    with pytest.raises(
        ValueError,
        match=r"changes seed None -> 0, seeds \[0, 1, 2\] -> None",
    ):
        main(
            [
                "--debug",
                "train",
                "--model",
                "infocatvae",
                *TINY,
                "--epochs",
                "2",
                "--data-dir",
                mnist_root,
                "--out",
                out,
                "--resume",
            ]
        )
    with pytest.raises(
        ValueError,
        match=(
            "holds a single MLPCatVAE; --member picks a member of an"
            " ensemble"
        ),
    ):
        main(
            [
                "--debug",
                "publish",
                tmp_path / "member2.pt",
                tmp_path / "again.pt",
                "--member",
                "0",
            ]
        )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--model", "vae", "--seeds", "0", "1"],
            "--seeds trains catvae and infocatvae as ensembles, not vae",
        ),
        (
            ["--model", "catvae", "--seeds", "0", "0"],
            r"--seeds must all differ, got \[0, 0\]",
        ),
        (
            ["--model", "catvae", "--cuda-graph"],
            "--cuda-graph records the step of an ensemble: give --seeds",
        ),
    ],
)
def test_train_refuses_seeds_it_cannot_use(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        main(
            [
                "--debug",
                "train",
                *arguments,
                *TINY,
                "--data-dir",
                "/nonexistent",
                "--out",
                tmp_path / "m.pt",
            ]
        )


def test_a_cuda_graph_is_refused_on_the_cpu_before_any_step(tmp_path):
    ensemble = EnsembleCatVAE(members=2)
    before = [value.clone() for value in ensemble.parameters()]
    with pytest.raises(ValueError, match="on a CUDA device"):
        fit_ensemble(
            ensemble,
            catvae_objective,
            torch.rand(64, 784),
            epochs=1,
            seeds=[0, 1],
            device="cpu",
            checkpoint=tmp_path / "e.pt",
            progress=False,
            cuda_graph=True,
        )
    assert not (tmp_path / "e.pt").exists()
    assert all(
        torch.equal(old, new)
        for old, new in zip(before, ensemble.parameters())
    )


def test_a_diverging_member_is_named_at_the_end_of_its_epoch(tmp_path):
    images = torch.rand(128, 784)
    ensemble = EnsembleCatVAE(members=3)
    fit_ensemble(
        ensemble,
        catvae_objective,
        images,
        epochs=1,
        seeds=[0, 1, 2],
        batch_size=64,
        checkpoint=tmp_path / "e.pt",
        progress=False,
    )

    def poisoned(model, batches):
        terms = catvae_objective(model, batches)
        # member 1 diverges; the others do not
        poison = torch.tensor([1.0, float("nan"), 1.0])
        return {**terms, "loss": terms["loss"] * poison}

    with pytest.raises(
        FloatingPointError,
        match=(
            r"the loss of member\(s\) \[1\] became non-finite in epoch 2"
        ),
    ):
        fit_ensemble(
            ensemble,
            poisoned,
            images,
            epochs=2,
            seeds=[0, 1, 2],
            batch_size=64,
            checkpoint=tmp_path / "e.pt",
            resume=True,
            progress=False,
        )
    assert load_checkpoint(tmp_path / "e.pt")["epoch"] == 1


def test_train_passes_cuda_graph_on_and_the_cpu_refuses_it(
    tmp_path, mnist_root
):
    with pytest.raises(ValueError, match="on a CUDA device"):
        main(
            [
                "--debug",
                "train",
                "--model",
                "catvae",
                "--seeds",
                "0",
                "--cuda-graph",
                "--device",
                "cpu",
                *TINY,
                "--data-dir",
                mnist_root,
                "--out",
                tmp_path / "m.pt",
            ]
        )
    assert not (tmp_path / "m.pt").exists()

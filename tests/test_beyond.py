"""The CatVAE with self-augmented training (book/beyond.md): the VAT
perturbation and the objective's terms."""

import json

import pytest
import torch

from catvae_lit.cli import main
from catvae_lit.losses import (
    PERTURBATIONS,
    catvae_objective,
    invariant_objective,
    virtual_adversarial,
)
from catvae_lit.models import MLPCatVAE


def kl_from(model, x, moved):
    with torch.no_grad():
        p = model.classify(x)
        return (p * (p.log() - model.classify(moved).log())).sum(-1)


def test_the_virtual_adversarial_move_is_an_image_at_most_epsilon_away():
    torch.manual_seed(0)
    model, x = MLPCatVAE().eval(), torch.rand(64, 784)
    moved = virtual_adversarial(model, x, epsilon=0.5)
    assert (
        moved.shape == x.shape and moved.min() >= 0 and moved.max() <= 1
    )
    assert (moved - x).norm(dim=1).max() <= 0.5 + 1e-5
    assert not moved.requires_grad


def test_the_virtual_adversarial_move_changes_the_prediction_more_than_a_random_one():
    torch.manual_seed(0)
    # inside (0, 1): no clipping
    model, x = MLPCatVAE().eval(), 0.2 + 0.6 * torch.rand(256, 784)
    adversarial = kl_from(
        model, x, virtual_adversarial(model, x, epsilon=1.0)
    )
    random = kl_from(
        model,
        x,
        x + torch.nn.functional.normalize(torch.randn_like(x), dim=-1),
    )
    assert adversarial.mean() > 10 * random.mean()


def test_the_per_image_kl_weight_adds_the_paper_term():
    torch.manual_seed(0)
    model, x = MLPCatVAE().eval(), torch.rand(16, 784)
    terms = {}
    for beta_cat in (0.0, 10.0):
        torch.manual_seed(1)
        terms[beta_cat] = invariant_objective(
            model, x, beta_cat=beta_cat, augmentation="vat"
        )
    torch.manual_seed(1)
    paper = catvae_objective(model, x)
    assert torch.allclose(
        terms[10.0]["kl_categorical"], paper["kl_categorical"]
    )
    assert torch.allclose(
        terms[10.0]["loss"] - terms[0.0]["loss"],
        10 * paper["kl_categorical"],
        atol=1e-3,
    )
    assert set(PERTURBATIONS) == {
        "vat",
        "affine-vat",
        "slant-and-stroke-vat",
    }


@pytest.mark.parametrize(
    "model, read", [("sat-catvae", 0.0), ("invariant-catvae", None)]
)
def test_sat_catvae_reads_beta_cat_and_the_invariant_catvae_does_not(
    tmp_path, model, read, monkeypatch
):
    captured = {}
    import catvae_lit.cli as cli

    original = cli.OBJECTIVES[model]
    monkeypatch.setitem(
        cli.OBJECTIVES,
        model,
        lambda args: captured.update(objective=original(args))
        or captured["objective"],
    )
    main(
        [
            "train",
            "--model",
            model,
            "--beta-cat",
            "0",
            "--augmentation",
            "vat",
            "--subset",
            "64",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "run.pt"),
        ]
    )
    keywords = captured["objective"].keywords
    assert keywords.get("beta_cat") == read
    assert (
        json.loads((tmp_path / "run.json").read_text())["augmentation"]
        == "vat"
    )

import json
import math

import pytest
import torch
from torch import nn
from torch.distributions import (
    Categorical,
    Independent,
    Normal,
    kl_divergence,
)

from catvae_lit.cli import main
from catvae_lit.losses import (
    RECONSTRUCTIONS,
    catvae_elbo,
    catvae_objective,
    importance_log_evidence,
    kl_categorical,
    kl_gaussian_mixture,
)
from catvae_lit.metrics import cluster_accuracy, normalized_mutual_info
from catvae_lit.models import MLPCatVAE, all_categories
from catvae_lit.prior import orthogonal_means
from catvae_lit.training import fit, load_checkpoint, restore_model


@pytest.mark.parametrize(
    "k, d, scale, message",
    [
        (10, 25, 2.0, "multiple"),
        (0, 20, 2.0, "multiple"),
        (10, 0, 2.0, "multiple"),
        (10, 20, 0.0, "positive"),
        (10, 20, -1.0, "positive"),
    ],
)
def test_prior_rejects_bad_configuration(k, d, scale, message):
    with pytest.raises(ValueError, match=message):
        orthogonal_means(k, d, scale)


def test_prior_geometry():
    centres = orthogonal_means(5, 15, 1.5)
    assert centres.shape == (5, 15)
    assert torch.equal(
        centres[2], torch.tensor([0.0] * 6 + [1.5] * 3 + [0.0] * 6)
    )
    assert torch.allclose(centres @ centres.T, 1.5**2 * 3 * torch.eye(5))
    assert torch.allclose(
        torch.pdist(centres), torch.full((10,), 1.5 * math.sqrt(6))
    )


def test_model_shapes_and_probabilities():
    model = MLPCatVAE(num_classes=4, latent_dim=8).eval()
    probs, mu, logvar = model.encode(torch.rand(3, 784))
    assert probs.shape == (3, 4) and mu.shape == logvar.shape == (
        3,
        4,
        8,
    )
    assert torch.allclose(probs.sum(-1), torch.ones(3))
    assert (
        model.decode(mu).shape == (3, 4, 784)
        and 0 < model.decode(mu).min()
        and model.decode(mu).max() < 1
    )
    assert model.prior_means.shape == (4, 8)
    assert model.sample(torch.tensor([0, 3, 3])).shape == (3, 784)
    assert "prior_means" not in dict(model.named_parameters())


@pytest.mark.parametrize(
    "bad",
    [torch.rand(3, 28, 28), torch.rand(3, 783), torch.rand(3, 784) + 1],
)
def test_model_rejects_bad_input(bad):
    with pytest.raises(ValueError, match=r"\(batch, 784\)|\[0, 1\]"):
        MLPCatVAE().encode(bad)


def test_model_rejects_bad_configuration():
    with pytest.raises(ValueError, match="multiple"):
        MLPCatVAE(num_classes=3, latent_dim=20)


def test_heads_for_all_categories_equal_one_hot_concatenation():
    head, h = nn.Linear(50 + 6, 7), torch.randn(4, 50)
    expected = torch.stack(
        [
            head(torch.cat([h, torch.eye(6)[c].expand(4, 6)], 1))
            for c in range(6)
        ],
        1,
    )
    assert torch.allclose(
        all_categories(head, h, 6), expected, atol=1e-6
    )


def test_mixed_reading_is_head_fed_with_probabilities():
    head, h = nn.Linear(50 + 6, 7), torch.randn(4, 50)
    probs = torch.softmax(torch.randn(4, 6), -1)
    averaged = (probs.unsqueeze(-1) * all_categories(head, h, 6)).sum(1)
    assert torch.allclose(
        head(torch.cat([h, probs], 1)), averaged, atol=1e-6
    )


def test_kl_terms_match_torch_distributions():
    torch.manual_seed(0)
    probs = torch.softmax(2 * torch.randn(5, 4), -1)
    mu, logvar, centres = (
        torch.randn(5, 4, 8),
        torch.randn(5, 4, 8),
        orthogonal_means(4, 8),
    )
    uniform = Categorical(probs=torch.full((4,), 0.25))
    assert torch.allclose(
        kl_categorical(probs),
        kl_divergence(Categorical(probs=probs), uniform),
        atol=1e-6,
    )
    branch = kl_divergence(
        Independent(Normal(mu, (0.5 * logvar).exp()), 1),
        Independent(Normal(centres, 1.0), 1),
    )
    assert torch.allclose(
        kl_gaussian_mixture(
            probs, mu, logvar, centres, torch.zeros_like(centres)
        ),
        (probs * branch).sum(-1),
        rtol=1e-5,
    )
    # q log q at q = 0
    assert torch.isfinite(kl_categorical(torch.eye(4))).all()


def test_objective_terms_and_readings():
    model, x = MLPCatVAE(), torch.rand(16, 784)
    for reconstruction in RECONSTRUCTIONS:
        terms = catvae_objective(model, x, reconstruction=reconstruction)
        assert set(terms) == {
            "loss",
            "reconstruction",
            "kl_continuous",
            "kl_categorical",
        }
        expected = (
            terms["reconstruction"]
            + 10 * terms["kl_continuous"]
            + 10 * terms["kl_categorical"]
        )
        assert torch.allclose(terms["loss"], expected)
    with pytest.raises(ValueError, match="bound"):
        catvae_objective(model, x, reconstruction="straight-through")


def test_importance_estimate_is_finite_and_shaped():
    model = MLPCatVAE().eval()
    x = torch.rand(6, 784).round()
    with torch.no_grad():
        estimate = importance_log_evidence(model, x, 50)
        assert estimate.shape == (6,) and torch.isfinite(estimate).all()
        assert catvae_elbo(model, x).shape == (6,)


def test_cluster_accuracy_on_permutations():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    assert (
        cluster_accuracy(labels, torch.tensor([2, 2, 0, 0, 1, 1, 1]))
        == 1.0
    )
    assert cluster_accuracy(
        labels, torch.tensor([2, 2, 0, 0, 1, 1, 0])
    ) == pytest.approx(6 / 7)
    # one-to-one: two labels cannot share the same cluster
    assert cluster_accuracy(
        labels, torch.tensor([5, 5, 5, 5, 1, 1, 1])
    ) == pytest.approx(5 / 7)
    assert normalized_mutual_info(
        labels, torch.tensor([2, 2, 0, 0, 1, 1, 1])
    ) == pytest.approx(1.0)
    assert normalized_mutual_info(
        torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 1, 1])
    ) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="items"):
        cluster_accuracy(labels, labels[:3])


def test_catvae_training_lowers_the_loss():
    torch.manual_seed(0)
    images = torch.rand(256, 784).round()
    history = fit(
        MLPCatVAE(),
        catvae_objective,
        images,
        epochs=3,
        batch_size=64,
        lr=1e-3,
        progress=False,
    )
    assert history[-1]["loss"] < history[0]["loss"]


def test_command_line_train_resume_and_publish(mnist_root, tmp_path):
    out = tmp_path / "c.pt"
    common = [
        "train",
        "--model",
        "catvae",
        "--subset",
        "256",
        "--batch-size",
        "64",
        "--reconstruction",
        "mixed",
        "--data-dir",
        str(mnist_root),
        "--out",
        str(out),
    ]
    main([*common, "--epochs", "1"])
    main([*common, "--epochs", "2", "--resume"])
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert (
        metadata["epochs_trained"] == 2
        and metadata["reconstruction"] == "mixed"
    )
    assert (
        0 <= metadata["test"]["accuracy"] <= 1
        and len(metadata["test"]["occupancy"]) == 10
    )
    main(["publish", str(out), str(tmp_path / "slim.pt")])
    assert (tmp_path / "slim.pt").stat().st_size < out.stat().st_size / 2
    assert load_checkpoint(tmp_path / "slim.pt")["epoch"] == 2
    assert isinstance(
        restore_model(tmp_path / "slim.pt", "cpu"), MLPCatVAE
    )
    with pytest.raises(ValueError, match="no optimizer state"):
        fit(
            MLPCatVAE(),
            catvae_objective,
            torch.rand(64, 784),
            epochs=3,
            checkpoint=tmp_path / "slim.pt",
            resume=True,
            progress=False,
        )


def test_publish_float16_halves_the_copy_and_scores_the_rounded_weights(
    mnist_root, tmp_path, capsys
):
    out = tmp_path / "c.pt"
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
            out,
        ]
    )
    main(["publish", out, tmp_path / "slim.pt"])
    main(
        ["publish", tmp_path / "slim.pt", tmp_path / "half.pt"]
        + ["--float16", "--data-dir", mnist_root]
    )
    half = tmp_path / "half.pt"
    assert (
        half.stat().st_size
        < 0.55 * (tmp_path / "slim.pt").stat().st_size
    )
    assert all(
        value.dtype == torch.float16
        for value in load_checkpoint(half)["model_state"].values()
    )
    restored = restore_model(half, "cpu")
    exact = restore_model(tmp_path / "slim.pt", "cpu")
    for rounded, weight in zip(
        restored.parameters(), exact.parameters()
    ):
        assert rounded.dtype == torch.float32
        assert torch.equal(rounded, weight.half().float())
    metadata = json.loads(half.with_suffix(".json").read_text())
    # the copy of a copy still names the training run
    assert metadata["published_from"] == str(out)
    assert metadata["weights"] == "float16"
    capsys.readouterr()
    main(["evaluate", half, "--samples", "10", "--data-dir", mnist_root])
    evaluated = json.loads(capsys.readouterr().out)
    assert (
        evaluated["accuracy"] == metadata["test"]["accuracy"]
        and evaluated["test_elbo"] == metadata["test"]["test_elbo"]
    ), "the metadata holds the scores of the rounded weights"
    assert metadata["test_float32"]["accuracy"] == pytest.approx(
        metadata["test"]["accuracy"], abs=0.002
    )

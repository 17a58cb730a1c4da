import argparse
import json
import math
import subprocess
import sys

import pytest
import torch

from catvae_lit.cli import MODELS, OBJECTIVES, RECURRENT_MODELS
from catvae_lit.losses import bernoulli_nll, catvae_objective
from catvae_lit.recurrent import (
    KLWarmUp,
    NetworkPriorCatVAE,
    RecurrentCatVAE,
)
from catvae_lit.training import (
    fit,
    load_checkpoint,
    restore_model,
    save_checkpoint,
)

WEIGHTS = argparse.Namespace(
    beta_cont=10.0,
    beta_cat=10.0,
    beta_info=100.0,
    reconstruction="bound",
    info_loss="cross-entropy",
    beta_balance=100.0,
    beta_invariance=100.0,
    augmentation="slant-and-stroke-vat",
    kl_warm_up=0.0,
)


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "catvae_lit", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_shapes_in_and_out_for_every_branch():
    torch.manual_seed(0)
    model = RecurrentCatVAE().eval()
    x = torch.rand(3, 784)
    probs, mu, logvar = model.encode(x)
    assert probs.shape == (3, 10) and mu.shape == logvar.shape == (
        3,
        10,
        20,
    )
    assert model.decode(mu).shape == (3, 10, 784)
    assert model.decode(mu[:, 0]).shape == (3, 784)
    assert model.reconstruction_error(mu, x.unsqueeze(1)).shape == (
        3,
        10,
    )
    assert model.sample(torch.arange(10)).shape == (10, 784)
    assert model.class_logits(x).shape == (3, 10)


def test_the_encoder_reads_rows_and_the_decoder_writes_them():
    torch.manual_seed(0)
    model = RecurrentCatVAE()
    x = torch.rand(2, 784)
    # row t of the image is time step t
    _, last = model.encoder(x.view(2, 28, 28))
    assert torch.equal(
        model.summary(x), torch.cat([last[0], last[1]], -1)
    )
    z = torch.randn(2, 20)
    first_rows = model.decode_logits(z).view(2, 28, 28)[:, :5]
    # unrolling fewer steps must give the same first rows
    model.config["steps"] = 5
    assert torch.allclose(
        model.decode_logits(z).view(2, 5, 28), first_rows, atol=1e-6
    )


def test_the_two_likelihoods():
    torch.manual_seed(0)
    bernoulli, gaussian = RecurrentCatVAE(), RecurrentCatVAE(
        likelihood="gaussian"
    )
    gaussian.load_state_dict(bernoulli.state_dict())
    z, x = torch.randn(3, 20), torch.rand(3, 784)
    assert torch.allclose(
        bernoulli.reconstruction_error(z, x),
        bernoulli_nll(bernoulli.decode_logits(z), x),
    )
    assert torch.allclose(
        gaussian.reconstruction_error(z, x),
        (gaussian.decode(z) - x).pow(2).sum(-1),
    )
    with pytest.raises(
        ValueError,
        match=(
            r"unknown likelihood 'poisson': expected one of"
            r" \['bernoulli',"
            r" 'gaussian'\]"
        ),
    ):
        RecurrentCatVAE(likelihood="poisson")


def test_heads_equal_the_one_hot_concatenation():
    torch.manual_seed(0)
    model = RecurrentCatVAE()
    x = torch.rand(4, 784)
    h = model.summary(x)
    _, mu, logvar = model.encode(x)
    for c in range(10):
        one_hot = torch.nn.functional.one_hot(
            torch.full((4,), c), 10
        ).float()
        assert torch.allclose(
            mu[:, c],
            model.mu_head(torch.cat([h, one_hot], 1)),
            atol=1e-5,
        )
        assert torch.allclose(
            logvar[:, c],
            model.logvar_head(torch.cat([h, one_hot], 1)),
            atol=1e-5,
        )


@pytest.mark.parametrize("shape", [(2, 28, 28), (2, 783), (784,)])
def test_images_of_other_shapes_are_refused(shape):
    with pytest.raises(
        ValueError,
        match=r"expected images of shape \(batch, 784\) flattened",
    ):
        RecurrentCatVAE().encode(torch.rand(shape))


def test_values_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        RecurrentCatVAE().encode(torch.full((2, 784), 2.0))


def test_only_the_free_prior_is_learned():
    fixed, free = RecurrentCatVAE(), RecurrentCatVAE(free_prior=True)
    names = {name for name, _ in fixed.named_parameters()}
    assert "prior_means" not in names and "prior_means" in dict(
        fixed.named_buffers()
    )
    assert {"prior_means", "prior_logvars"} <= {
        name for name, _ in free.named_parameters()
    }


@pytest.mark.parametrize("name", sorted(RECURRENT_MODELS))
def test_one_training_step_is_finite(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    before = {
        key: value.clone() for key, value in model.state_dict().items()
    }
    history = fit(
        model,
        OBJECTIVES[name](WEIGHTS),
        torch.rand(16, 784),
        epochs=1,
        batch_size=16,
        progress=False,
    )
    assert all(math.isfinite(value) for value in history[0].values())
    assert ("information" in history[0]) == name.endswith("infocatvae")
    changed = {
        key
        for key, value in model.state_dict().items()
        if not torch.equal(value, before[key])
    }
    # the table's entries or the network's weights
    prior_learned = any(key.startswith("prior_") for key in changed)
    assert prior_learned == name.endswith(
        ("free-prior", "network-prior")
    )


def test_the_warm_up_ramps_the_kl_weights_then_holds_them():
    torch.manual_seed(0)
    model, x = RecurrentCatVAE(), torch.rand(8, 784)
    ramps = []
    warm_up = KLWarmUp(
        lambda ramp: ramps.append(ramp) or catvae_objective,
        steps=4,
        done=1,
    )
    for _ in range(5):
        warm_up(model, x)
    assert ramps == [0.25, 0.5, 0.75, 1.0, 1.0] and warm_up.done == 6


def test_the_warm_up_resumes_where_it_stopped(tmp_path, mnist_root):
    out = tmp_path / "r.pt"
    base = [
        "train",
        "--model",
        "recurrent-catvae",
        "--subset",
        64,
        "--batch-size",
        32,
        "--out",
        out,
        "--threads",
        1,
        "--reconstruction",
        "mixed",
        "--kl-warm-up",
        2,
    ]
    assert cli(*base, "--epochs", 1).returncode == 0
    assert (
        json.loads(out.with_suffix(".json").read_text())["kl_warm_up"]
        == 2.0
    )
    assert cli(*base, "--epochs", 2, "--resume").returncode == 0
    assert len(load_checkpoint(out)["history"]) == 2
    changed = cli(*base[:-1], 1, "--epochs", 3, "--resume")
    assert (
        changed.returncode == 1
        and "kl_warm_up 2.0 -> 1.0" in changed.stderr
    )


def test_the_likelihood_option_is_refused_for_an_mlp(tmp_path):
    completed = cli(
        "train",
        "--model",
        "catvae",
        "--likelihood",
        "gaussian",
        "--out",
        tmp_path / "m.pt",
    )
    assert (
        completed.returncode == 1
        and "--likelihood applies to models with that setting"
        in completed.stderr
    )
    assert not (tmp_path / "m.pt").exists()


def test_checkpoint_restores_the_recurrent_model(tmp_path):
    torch.manual_seed(0)
    model = RecurrentCatVAE(
        free_prior=True, likelihood="gaussian"
    ).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    restored = restore_model(tmp_path / "m.pt", "cpu")
    assert (
        isinstance(restored, RecurrentCatVAE)
        and restored.config["free_prior"]
    )
    assert restored.config["likelihood"] == "gaussian"
    x = torch.rand(2, 784)
    assert torch.equal(restored.classify(x), model.classify(x))


def test_the_network_prior_is_learned_through_its_network():
    with pytest.raises(ValueError, match="expected free_prior=True"):
        NetworkPriorCatVAE(free_prior=False)
    torch.manual_seed(0)
    model = NetworkPriorCatVAE(free_prior=True)
    assert (
        model.prior_means.shape == model.prior_logvars.shape == (10, 20)
    )
    catvae_objective(model, torch.rand(4, 784))["loss"].backward()
    assert all(
        parameter.grad is not None and parameter.grad.abs().sum() > 0
        for parameter in model.prior_network.parameters()
    )


def test_checkpoint_restores_the_network_prior(tmp_path):
    torch.manual_seed(0)
    model = NetworkPriorCatVAE(free_prior=True).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    restored = restore_model(tmp_path / "m.pt", "cpu")
    assert type(restored) is NetworkPriorCatVAE
    assert torch.equal(restored.prior_means, model.prior_means)
    assert torch.equal(restored.prior_logvars, model.prior_logvars)

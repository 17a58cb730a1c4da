import argparse
import math

import pytest
import torch

from catvae_lit.cli import MODELS, OBJECTIVES, RECURRENT_MODELS
from catvae_lit.recurrent import RecurrentCatVAE
from catvae_lit.training import fit, restore_model, save_checkpoint

WEIGHTS = argparse.Namespace(beta_cont=10.0, beta_cat=10.0, beta_info=100.0, reconstruction="bound",
                             info_loss="cross-entropy")


def test_shapes_in_and_out_for_every_branch():
    torch.manual_seed(0)
    model = RecurrentCatVAE().eval()
    x = torch.rand(3, 28, 28)
    probs, mu, logvar = model.encode(x)
    assert probs.shape == (3, 10) and mu.shape == logvar.shape == (3, 10, 20)
    assert model.decode(mu).shape == (3, 10, 28, 28)
    assert model.decode(mu[:, 0]).shape == (3, 28, 28)
    assert model.reconstruction_error(mu, x.unsqueeze(1)).shape == (3, 10)
    assert model.sample(torch.arange(10)).shape == (10, 28, 28)
    assert model.class_logits(x).shape == (3, 10)


def test_heads_equal_the_one_hot_concatenation():
    torch.manual_seed(0)
    model = RecurrentCatVAE()
    x = torch.rand(4, 28, 28)
    h = model.summary(x)
    _, mu, logvar = model.encode(x)
    for c in range(10):
        one_hot = torch.nn.functional.one_hot(torch.full((4,), c), 10).float()
        assert torch.allclose(mu[:, c], model.mu_head(torch.cat([h, one_hot], 1)), atol=1e-5)
        assert torch.allclose(logvar[:, c], model.logvar_head(torch.cat([h, one_hot], 1)), atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 27, 28), (2, 28, 30), (2, 784), (28, 28)])
def test_sequences_of_other_shapes_are_refused(shape):
    with pytest.raises(ValueError, match=r"expected sequences of shape \(batch, 28 steps, 28 features\)"):
        RecurrentCatVAE().encode(torch.rand(shape))


def test_values_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        RecurrentCatVAE().encode(torch.full((2, 28, 28), 2.0))


def test_only_the_free_prior_is_learned():
    fixed, free = RecurrentCatVAE(), RecurrentCatVAE(free_prior=True)
    names = {name for name, _ in fixed.named_parameters()}
    assert "prior_means" not in names and "prior_means" in dict(fixed.named_buffers())
    assert {"prior_means", "prior_logvars"} <= {name for name, _ in free.named_parameters()}


@pytest.mark.parametrize("name", sorted(RECURRENT_MODELS))
def test_one_training_step_is_finite(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    history = fit(model, OBJECTIVES[name](WEIGHTS), torch.rand(16, 28, 28), epochs=1, batch_size=16, progress=False)
    assert all(math.isfinite(value) for value in history[0].values())
    assert ("information" in history[0]) == name.endswith("infocatvae")
    changed = {key for key, value in model.state_dict().items() if not torch.equal(value, before[key])}
    assert ("prior_means" in changed) == name.endswith("free-prior")


def test_checkpoint_restores_the_recurrent_model(tmp_path):
    torch.manual_seed(0)
    model = RecurrentCatVAE(free_prior=True).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    restored = restore_model(tmp_path / "m.pt", "cpu")
    assert isinstance(restored, RecurrentCatVAE) and restored.config["free_prior"]
    x = torch.rand(2, 28, 28)
    assert torch.equal(restored.classify(x), model.classify(x))

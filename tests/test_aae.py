import math

import torch

from catvae_lit.aae import (
    AAE,
    AAE_OBJECTIVE,
    autoencoder_objective,
    discriminator_objective,
)
from catvae_lit.training import fit, restore_model, save_checkpoint


def _gradients(model, objective, x):
    model.zero_grad(set_to_none=True)
    objective(model, x)["loss"].backward()
    return {
        name
        for name, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }


def test_each_player_moves_only_its_own_parameters():
    torch.manual_seed(0)
    model, x = AAE(), torch.rand(32, 784)
    autoencoder = _gradients(model, autoencoder_objective, x)
    discriminator = _gradients(model, discriminator_objective, x)
    assert autoencoder and all(
        name.startswith(("encoder.", "decoder.")) for name in autoencoder
    )
    # the fooling term and the reconstruction
    assert any(name.startswith("encoder.") for name in autoencoder)
    assert discriminator == {
        name
        for name, _ in model.discriminator.named_parameters(
            prefix="discriminator"
        )
    }


def test_fooling_gradient_reaches_the_encoder_through_the_frozen_discriminator():
    torch.manual_seed(0)
    model, x = AAE(), torch.rand(8, 784)
    z = model.encode(x)
    model.prior_logit(z, frozen=True).sum().backward()
    assert model.encoder[1].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.discriminator.parameters())


def test_a_training_step_gives_finite_losses():
    torch.manual_seed(0)
    history = fit(
        AAE(),
        AAE_OBJECTIVE,
        torch.rand(64, 784),
        epochs=1,
        batch_size=32,
        progress=False,
    )
    assert set(history[0]) == {
        "epoch",
        "loss",
        "reconstruction",
        "fooling",
        "discriminator",
    }
    assert all(math.isfinite(value) for value in history[0].values())
    assert math.isclose(
        history[0]["loss"],
        history[0]["reconstruction"]
        + history[0]["fooling"]
        + history[0]["discriminator"],
        rel_tol=1e-6,
    )


def test_samples_are_images_and_a_checkpoint_restores(tmp_path):
    torch.manual_seed(0)
    model = AAE().eval()
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert (
        samples.shape == (5, 784)
        and samples.min() >= 0
        and samples.max() <= 1
    )
    save_checkpoint(tmp_path / "aae.pt", model)
    restored = restore_model(tmp_path / "aae.pt", "cpu")
    assert isinstance(restored, AAE)
    assert torch.equal(
        restored.sample(5, torch.Generator().manual_seed(0)), samples
    )

"""The package's vectorised CatVAE and InfoCatVAE losses compute what
the benchmark's straightforward reference computes
(benchmarks/reference.py): the same loss and the same gradients for one
batch."""

import sys
from pathlib import Path

import pytest
import torch

from catvae_lit.losses import catvae_objective, infocatvae_objective
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import adam

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "benchmarks")
)
# noqa: E402
from reference import (
    reference_catvae_loss,
    reference_copy,
    reference_infocatvae_loss,
)

PAIRS = {
    "catvae": (catvae_objective, reference_catvae_loss),
    "infocatvae": (infocatvae_objective, reference_infocatvae_loss),
}


def loss_and_gradients(loss, model, x):
    """Loss and gradients in evaluation mode (no dropout), with the
    noise drawn from seed 1."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    value = loss(model, x)
    value.backward()
    return value.item(), {
        name: p.grad.clone()
        for name, p in model.named_parameters()
        if p.grad is not None
    }


@pytest.mark.parametrize("reading", ["bound", "mixed"])
@pytest.mark.parametrize("name", PAIRS)
def test_loss_and_gradients_agree_with_the_reference(name, reading):
    ours, reference = PAIRS[name]
    torch.manual_seed(0)
    model = MLPCatVAE().eval()
    x = (torch.rand(64, 784) < 0.3).float()
    fast_loss, fast_grads = loss_and_gradients(
        lambda m, x: ours(m, x, reconstruction=reading)["loss"], model, x
    )
    slow_loss, slow_grads = loss_and_gradients(
        lambda m, x: reference(m, x, reconstruction=reading),
        reference_copy(model),
        x,
    )
    assert fast_loss == pytest.approx(slow_loss, rel=1e-5)
    assert (
        fast_grads.keys()
        == slow_grads.keys()
        == {name for name, _ in model.named_parameters()}
    )
    for parameter, grad in fast_grads.items():
        torch.testing.assert_close(
            grad,
            slow_grads[parameter],
            rtol=1e-4,
            atol=1e-5,
            msg=parameter,
        )


def test_fused_adam_takes_the_default_adam_steps():
    torch.manual_seed(0)
    model = MLPCatVAE()
    reference = reference_copy(model)
    fused, default = adam(model, lr=1e-3), torch.optim.Adam(
        reference.parameters(), lr=1e-3
    )
    for _ in range(3):
        for ours, theirs in zip(
            model.parameters(), reference.parameters()
        ):
            ours.grad = torch.randn_like(ours)
            theirs.grad = ours.grad.clone()
        fused.step()
        default.step()
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)

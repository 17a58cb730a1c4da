import math

import torch

from catvae_lit.losses import (
    catvae_objective,
    infocatvae_objective,
    information_loss,
)
from catvae_lit.metrics import (
    double_softmax_cross_entropy,
    generated_cross_entropy,
    generated_logits,
)
from catvae_lit.models import MLPCatVAE


def test_information_gradients_reach_decoder_and_classifier():
    torch.manual_seed(0)
    model = MLPCatVAE()
    information_loss(model).backward()
    assert model.decoder.net[1].weight.grad.abs().sum() > 0
    assert model.classifier.weight.grad.abs().sum() > 0
    # the classifier's hidden layer
    assert model.body[0].weight.grad.abs().sum() > 0
    assert (
        model.mu_head.weight.grad is None
        and model.logvar_head.weight.grad is None
    )


def test_zero_weight_gives_the_catvae_loss_and_gradients():
    x = torch.rand(16, 784)
    grads = []
    for objective in (
        lambda m: infocatvae_objective(m, x, beta_info=0.0),
        lambda m: catvae_objective(m, x),
    ):
        torch.manual_seed(0)
        model = MLPCatVAE()
        objective(model)["loss"].backward()
        grads.append(
            torch.cat(
                [
                    p.grad.flatten()
                    for p in model.parameters()
                    if p.grad is not None
                ]
            )
        )
    assert torch.equal(grads[0], grads[1])


def test_information_weight_enters_the_loss():
    torch.manual_seed(0)
    terms = infocatvae_objective(
        MLPCatVAE(), torch.rand(8, 784), beta_info=3.0
    )
    catvae_part = (
        terms["reconstruction"]
        + 10 * terms["kl_continuous"]
        + 10 * terms["kl_categorical"]
    )
    assert torch.allclose(
        terms["loss"], catvae_part + 3.0 * terms["information"]
    )


def test_uniform_classifier_gives_log_k():
    model = MLPCatVAE()
    torch.nn.init.zeros_(model.classifier.weight)
    torch.nn.init.zeros_(model.classifier.bias)
    assert (
        abs(
            generated_cross_entropy(
                model, 500, torch.Generator().manual_seed(0)
            )
            - math.log(10)
        )
        < 1e-5
    )


def test_generated_logits_are_reproducible_and_shaped():
    model = MLPCatVAE()
    first = generated_logits(
        model, 300, torch.Generator().manual_seed(4), batch_size=128
    )
    second = generated_logits(
        model, 300, torch.Generator().manual_seed(4)
    )
    assert first[0].shape == (300,) and first[1].shape == (300, 10)
    assert torch.equal(first[0], second[0]) and torch.allclose(
        first[1], second[1], atol=1e-5
    )
    assert model.training, "evaluation must restore the training mode"


def test_double_softmax_band():
    confident = 100 * torch.eye(10)
    low = double_softmax_cross_entropy(confident, torch.arange(10))
    high = double_softmax_cross_entropy(
        confident, (torch.arange(10) + 3) % 10
    )
    assert (
        abs(low - (math.log(9 + math.e) - 1)) < 1e-4
        and abs(high - math.log(9 + math.e)) < 1e-4
    )

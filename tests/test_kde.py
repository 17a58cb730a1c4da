import math

import pytest
import torch

from catvae_lit.metrics import kde_log_density, kde_log_likelihood


def direct_log_density(centres, points, h):
    squared = (
        (points.double()[:, None, :] - centres.double()[None])
        .pow(2)
        .sum(-1)
    )
    return (
        torch.logsumexp(-squared / (2 * h * h), 1)
        - math.log(len(centres))
        - centres.shape[1] / 2 * math.log(2 * math.pi * h * h)
    )


def direct_kde_log_likelihood(train, samples, bandwidths, folds):
    """Cross-validated bandwidth and mean log-likelihood, pair by pair
    in float64."""
    scores = []
    for h in bandwidths:
        total = 0.0
        for held in torch.arange(len(train)).tensor_split(folds):
            kept = torch.ones(len(train), dtype=torch.bool)
            kept[held] = False
            total += (
                direct_log_density(train[kept], train[held], h)
                .sum()
                .item()
            )
        scores.append(total)
    best = bandwidths[
        max(range(len(bandwidths)), key=scores.__getitem__)
    ]
    return direct_log_density(train, samples, best).mean().item(), best


def test_kde_matches_direct_float64_computation():
    generator = torch.Generator().manual_seed(0)
    centres = torch.rand(8, 50, generator=generator)
    train = centres[
        torch.randint(0, 8, (400,), generator=generator)
    ] + 0.3 * torch.rand(400, 50, generator=generator)
    samples = torch.rand(60, 50, generator=generator)
    grid = [0.2, 0.3, 0.5, 0.8, 1.2]
    fast, fast_h = kde_log_likelihood(train, samples, grid, folds=5)
    exact, exact_h = direct_kde_log_likelihood(
        train, samples, grid, folds=5
    )
    assert fast_h == exact_h
    assert abs(fast - exact) <= 1e-4 * abs(exact)
    assert torch.allclose(
        kde_log_density(train, samples, grid)[2],
        direct_log_density(train, samples, 0.5),
        rtol=1e-5,
    )


def test_kde_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        kde_log_density(torch.rand(5, 3), torch.rand(2, 3), [0.1, 0.0])
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        kde_log_density(torch.rand(5, 3), torch.rand(2, 4), [0.1])
    with pytest.raises(ValueError, match="folds"):
        kde_log_likelihood(
            torch.rand(5, 3), torch.rand(2, 3), [0.1], folds=1
        )

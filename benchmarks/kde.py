"""Time kde_log_likelihood against scikit-learn's KernelDensity with
GridSearchCV, on the same data and grid.

    python benchmarks/kde.py [--train 3000] [--samples 1000] [--full]

Both choose the bandwidth by 5-fold cross-validation over consecutive
folds and score the same samples (MNIST test images); the exact float64
log-sum-exp at each chosen bandwidth is printed beside them. --full also
times kde_log_likelihood alone on the table-1 protocol (60,000 training
images, 10,000 samples)."""

import argparse
import math
import time

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KernelDensity

from catvae_lit.data import load_mnist
from catvae_lit.metrics import kde_log_likelihood
from catvae_lit.table1 import BANDWIDTHS


def exact_mean_log_density(centres, points, h):
    """The definition in float64, one chunk of points at a time."""
    centres = centres.double()
    total = 0.0
    for block in points.double().split(250):
        squared = torch.cdist(block, centres).pow(2)
        total += (
            (
                torch.logsumexp(-squared / (2 * h * h), 1)
                - math.log(len(centres))
                - centres.shape[1] / 2 * math.log(2 * math.pi * h * h)
            )
            .sum()
            .item()
        )
    return total / len(points)


def main():
    options = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument(
        "--train",
        type=int,
        default=3000,
        help="training images in the KDE",
    )
    options.add_argument(
        "--samples", type=int, default=1000, help="test images scored"
    )
    options.add_argument(
        "--full",
        action="store_true",
        help="also time the full table-1 protocol",
    )
    args = options.parse_args()
    train_x, _ = load_mnist("train")
    test_x, _ = load_mnist("test")
    train, samples = train_x[: args.train], test_x[: args.samples]
    print(
        f"{args.train} training images, {args.samples} scored,"
        f" {len(BANDWIDTHS)} bandwidths, 5 folds,"
        f" {torch.get_num_threads()} threads"
    )

    start = time.perf_counter()
    ours, ours_h = kde_log_likelihood(
        train, samples, BANDWIDTHS, folds=5
    )
    ours_seconds = time.perf_counter() - start

    start = time.perf_counter()
    search = GridSearchCV(
        KernelDensity(), {"bandwidth": BANDWIDTHS}, cv=KFold(5)
    ).fit(train.double().numpy())
    theirs = search.best_estimator_.score_samples(
        samples.double().numpy()
    ).mean()
    theirs_seconds = time.perf_counter() - start
    theirs_h = search.best_params_["bandwidth"]

    print(
        f"{'':>28} {'bandwidth':>9} {'mean log-lik':>12}"
        f" {'exact at that h':>15} {'seconds':>8}"
    )
    for name, h, value, seconds in (
        ("catvae_lit kde_log_likelihood", ours_h, ours, ours_seconds),
        ("scikit-learn GridSearchCV", theirs_h, theirs, theirs_seconds),
    ):
        print(
            f"{name:>28} {h:>9} {value:12.2f}"
            f" {exact_mean_log_density(train, samples, h):15.2f}"
            f" {seconds:8.1f}"
        )
    print(f"speed-up: {theirs_seconds / ours_seconds:.1f}x")

    if args.full:
        start = time.perf_counter()
        value, h = kde_log_likelihood(
            train_x, test_x, BANDWIDTHS, folds=5
        )
        print(
            "table-1 protocol (60,000 training images, 10,000 test"
            f" images): bandwidth {h}, mean {value:.2f} nats,"
            f" {time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()

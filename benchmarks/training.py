"""Training throughput of the CatVAE and InfoCatVAE steps: catvae_lit
against a straightforward reference.

    python benchmarks/training.py [--steps 469] [--rounds 20] [--threads 2]

For each model and reconstruction reading, both implementations start
from the same weights and take Adam steps on the same batches of MNIST
(ours with catvae_lit's fused Adam, the reference with the default
one), timed in alternating rounds, each round ending with half a
second of 1024 x 1024 float32 matrix products. The table gives images
per second, the loss each computes on one batch in evaluation mode
(same noise), the counted floating-point operations of a step
(torch.utils.flop_counter, forward and backward) and the rate they
reach, as a fraction of the matrix-multiply rate of the same rounds.

First, on Linux with glibc, it measures what
`catvae_lit.training.keep_freed_memory` (which `fit` calls on the CPU)
does for our bound CatVAE step: time and page faults per step with
glibc's initial thresholds (freed blocks over 128 KiB go back to the
system) and with freed blocks kept, alternating. The table after it
runs with freed blocks kept, for both implementations."""

import argparse
import ctypes
import functools
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from catvae_lit.data import load_mnist
from catvae_lit.losses import catvae_objective, infocatvae_objective
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import adam, keep_freed_memory
from reference import (
    reference_catvae_loss,
    reference_copy,
    reference_infocatvae_loss,
)


def matmul_rate(seconds, size=1024):
    """Float32 matrix-multiply rate (FLOP/s) of this machine, from
    square products for about `seconds`."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - start)


def train_seconds(loss, model, optimizer, batches):
    model.train()
    start = time.perf_counter()
    for x in batches:
        optimizer.zero_grad(set_to_none=True)
        loss(model, x).backward()
        optimizer.step()
    return time.perf_counter() - start


def alternating_timings(implementations, models, batches, rounds):
    """Seconds per step of each implementation, and the matrix-multiply
    rate, measured in alternating rounds.

    This machine's speed drifts by a third within a run (other virtual
    machines, clock frequency), so each round times a share of the
    batches with each implementation and then the matrix-multiply rate
    for half a second: all three see the same conditions, and their
    ratios are like for like."""
    optimizers = {
        "ours": adam(models["ours"], lr=1e-4),
        "reference": torch.optim.Adam(
            models["reference"].parameters(), lr=1e-4
        ),
    }
    seconds, rates = dict.fromkeys(implementations, 0.0), []
    for part in [batches[i::rounds] for i in range(rounds)]:
        for name, loss in implementations.items():
            seconds[name] += train_seconds(
                loss, models[name], optimizers[name], part
            )
        rates.append(matmul_rate(seconds=0.5))
    return {
        name: total / len(batches) for name, total in seconds.items()
    }, sum(rates) / len(rates)


def glibc_initial_thresholds():
    """Undo keep_freed_memory: glibc's initial 128 KiB mmap and trim
    thresholds, and trim the heap now."""
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 128 << 10)
    libc.mallopt(M_TRIM_THRESHOLD, 128 << 10)
    libc.malloc_trim(0)


def memory_reuse(batches, rounds):
    """Milliseconds and page faults per bound CatVAE step of ours,
    without and with keep_freed_memory.

    Each round ends with freed memory kept, the setting `fit` uses and
    the rest of the benchmark runs with."""
    torch.manual_seed(0)
    model = MLPCatVAE()
    optimizer = adam(model, lr=1e-4)
    loss = lambda model, x: catvae_objective(model, x)["loss"]
    totals = {"glibc initial": [0.0, 0], "kept": [0.0, 0]}
    for part in [batches[i::rounds] for i in range(rounds)]:
        for setting, apply in (
            ("glibc initial", glibc_initial_thresholds),
            ("kept", keep_freed_memory),
        ):
            apply()
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            totals[setting][0] += train_seconds(
                loss, model, optimizer, part
            )
            totals[setting][1] += (
                resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                - faults
            )
    return {
        setting: (1000 * seconds / len(batches), faults / len(batches))
        for setting, (seconds, faults) in totals.items()
    }


def flops_per_step(loss, model, x):
    with FlopCounterMode(display=False) as counter:
        loss(model, x).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def eval_loss(loss, model, x):
    model.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        return loss(model, x).item()


def main():
    options = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument(
        "--steps",
        type=int,
        default=469,
        help="Adam steps timed (469 = one epoch of 60,000)",
    )
    options.add_argument(
        "--rounds",
        type=int,
        default=20,
        help="alternating timing rounds per comparison",
    )
    options.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's choice)",
    )
    args = options.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images, _ = load_mnist("train")
    batches = list(
        images[
            torch.randperm(
                len(images), generator=torch.Generator().manual_seed(0)
            )
        ].split(128)
    )[: args.steps]
    # also lets the machine settle: a new process runs slow for seconds
    start_rate = matmul_rate(seconds=3.0)
    print(
        f"{torch.get_num_threads()} threads, {len(batches)} steps of 128"
        f" images; float32 matrix-multiply rate {start_rate / 1e9:.1f}"
        " GFLOP/s at the start"
    )
    if keep_freed_memory():
        reuse = memory_reuse(batches, args.rounds)
        print("\nfreed memory, ours, CatVAE bound step:")
        for setting, (ms, faults) in reuse.items():
            print(
                f"{setting:>24} {ms:8.1f} ms/step {faults:8.0f} page"
                " faults/step"
            )
        print(
            f"{'':>24} speed-up from keeping freed memory:"
            f" {reuse['glibc initial'][0] / reuse['kept'][0]:.2f}x\n"
        )
    else:
        print("not glibc: keep_freed_memory does nothing here\n")
    rows = []
    for model_name, ours, theirs in (
        ("catvae", catvae_objective, reference_catvae_loss),
        ("infocatvae", infocatvae_objective, reference_infocatvae_loss),
    ):
        for reading in ("bound", "mixed"):
            torch.manual_seed(0)
            implementations = {
                "ours": lambda model, x: ours(
                    model, x, reconstruction=reading
                )["loss"],
                "reference": functools.partial(
                    theirs, reconstruction=reading
                ),
            }
            models = {"ours": MLPCatVAE()}
            models["reference"] = reference_copy(models["ours"])
            values = {
                name: eval_loss(loss, models[name], batches[0])
                for name, loss in implementations.items()
            }
            flops = {
                name: flops_per_step(loss, models[name], batches[0])
                for name, loss in implementations.items()
            }
            steps, peak = alternating_timings(
                implementations, models, batches, args.rounds
            )
            rows.append(
                (model_name, reading, steps, values, flops, peak)
            )
    header = (
        "model",
        "reading",
        "impl",
        "images/s",
        "eval loss",
        "GFLOP/step",
        "GFLOP/s",
        "of matmul",
    )
    print(" ".join(f"{column:>10}" for column in header))
    for model_name, reading, steps, values, flops, peak in rows:
        for name in steps:
            print(
                f"{model_name:>10} {reading:>10} {name:>10}"
                f" {128 / steps[name]:10.0f} {values[name]:10.3f}"
                f" {flops[name] / 1e9:10.2f}"
                f" {flops[name] / steps[name] / 1e9:10.1f}"
                f" {flops[name] / steps[name] / peak:10.0%}"
            )
        print(
            f"{'':>21} speed-up of ours over the reference:"
            f" {steps['reference'] / steps['ours']:.2f}x;"
            f" matrix-multiply rate in these rounds {peak / 1e9:.1f}"
            " GFLOP/s"
        )


if __name__ == "__main__":
    main()

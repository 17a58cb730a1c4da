"""Training throughput of the recurrent chapter's steps, and where
their time goes.

    python benchmarks/recurrent.py [--steps 60] [--rounds 6] [--threads 1]

For the recurrent CatVAE (mixed and bound readings) and InfoCatVAE
(mixed), it times Adam steps on batches of 128 MNIST images as `fit`
takes them, in float32 and under bfloat16 autocast, alternating the
two in rounds that each end with half a second of 1024 x 1024 float32
matrix products (this machine's speed drifts). The table gives images
per second, the counted floating-point operations of a step
(torch.utils.flop_counter, forward and backward), the rate they reach
as a share of the matrix-multiply rate of the same rounds, and the
share of a float32 step that the profiler finds in matrix products
(mm, addmm, bmm)."""

import argparse
import functools
import time

import torch
from torch.profiler import ProfilerActivity, profile

from catvae_lit.data import load_mnist
from catvae_lit.losses import catvae_objective, infocatvae_objective
from catvae_lit.recurrent import RecurrentCatVAE
from catvae_lit.training import adam
from training import flops_per_step, matmul_rate

STEPS = {
    "catvae, mixed": functools.partial(
        catvae_objective, reconstruction="mixed"
    ),
    "catvae, bound": functools.partial(
        catvae_objective, reconstruction="bound"
    ),
    "infocatvae, mixed": functools.partial(
        infocatvae_objective, reconstruction="mixed"
    ),
}
PRECISIONS = {
    "float32": lambda: torch.autocast("cpu", enabled=False),
    "bfloat16 autocast": lambda: torch.autocast(
        "cpu", dtype=torch.bfloat16
    ),
}


def train_seconds(objective, model, optimizer, batches, precision):
    start = time.perf_counter()
    for x in batches:
        optimizer.zero_grad(set_to_none=True)
        with PRECISIONS[precision]():
            loss = objective(model, x)["loss"]
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def matrix_product_share(objective, model, x):
    """The share of a float32 step's CPU time spent in matrix products,
    by the profiler."""
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        objective(model, x)["loss"].backward()
    model.zero_grad(set_to_none=True)
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    return (
        sum(
            event.self_cpu_time_total
            for event in events
            if event.key in ("aten::mm", "aten::addmm", "aten::bmm")
        )
        / total
    )


def main():
    options = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument(
        "--steps",
        type=int,
        default=60,
        help="Adam steps timed per step kind and precision",
    )
    options.add_argument(
        "--rounds", type=int, default=6, help="alternating timing rounds"
    )
    options.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (the ablation trains with 1)",
    )
    args = options.parse_args()
    torch.set_num_threads(args.threads)
    images, _ = load_mnist("train")
    batches = list(
        images[
            torch.randperm(
                len(images), generator=torch.Generator().manual_seed(0)
            )
        ].split(128)
    )[: args.steps]
    print(
        f"{torch.get_num_threads()} threads, {len(batches)} steps of 128"
        " images; float32 matrix-multiply rate"
        f" {matmul_rate(seconds=3.0) / 1e9:.1f} GFLOP/s at the start"
    )
    header = (
        "step",
        "precision",
        "images/s",
        "GFLOP/step",
        "GFLOP/s",
        "of matmul",
        "in matmul",
    )
    print(" ".join(f"{column:>18}" for column in header))
    for name, objective in STEPS.items():
        torch.manual_seed(0)
        model = RecurrentCatVAE()
        optimizer = adam(model, lr=1e-3)
        flops = flops_per_step(
            lambda m, x: objective(m, x)["loss"], model, batches[0]
        )
        share = matrix_product_share(objective, model, batches[0])
        seconds, rates = dict.fromkeys(PRECISIONS, 0.0), []
        for part in [
            batches[i :: args.rounds] for i in range(args.rounds)
        ]:
            for precision in PRECISIONS:
                seconds[precision] += train_seconds(
                    objective, model, optimizer, part, precision
                )
            rates.append(matmul_rate(seconds=0.5))
        rate = sum(rates) / len(rates)
        for precision, total in seconds.items():
            step = total / len(batches)
            in_matmul = f"{share:.0%}" if precision == "float32" else "-"
            print(
                f"{name:>18} {precision:>18} {128 / step:18.0f}"
                f" {flops / 1e9:18.2f} {flops / step / 1e9:18.1f}"
                f" {flops / step / rate:18.0%} {in_matmul:>18}"
            )
        print(
            f"{'':>18} bfloat16 speed-up:"
            f" {seconds['float32'] / seconds['bfloat16 autocast']:.2f}x;"
            f" matrix-multiply rate in these rounds {rate / 1e9:.1f}"
            " GFLOP/s"
        )


if __name__ == "__main__":
    main()

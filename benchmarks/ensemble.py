"""Throughput of training N CatVAEs or InfoCatVAEs: as one ensemble,
one after the other, or in N processes.

    python benchmarks/ensemble.py [--steps 20] [--rounds 5] [--members 1 3 6] [--threads 2]

For each model, reconstruction reading and number of members N, three
ways of training N models are timed in alternating rounds (the
machine's speed drifts, so each round times all three and then the
float32 matrix-multiply rate for half a second): ensemble
catvae_lit.ensemble.EnsembleCatVAE, one Adam step on a batch of 128
per member sequential  N MLPCatVAEs in this process, a step of each in
turn, with all threads parallel    N MLPCatVAEs in N worker processes
stepping at the same time, the threads split between them
              (at least one each), which is what a user who starts N training commands at once gets
The table gives images per second per member and in total, and the
share of the matrix-multiply rate that the counted floating-point
operations of the steps reach. First, it times the largest layer alone
(784 to 400, forward and backward, 3 members): one batched product
against a plain layer per member. Last, the peak resident memory of a
process that trains a 6-member InfoCatVAE ensemble (bound reading) for
one epoch of MNIST with fit_ensemble."""

import argparse
import functools
import multiprocessing
import resource
import time

import torch
from torch import nn

from catvae_lit.data import load_mnist
from catvae_lit.ensemble import EnsembleCatVAE, EnsembleLinear
from catvae_lit.losses import catvae_objective, infocatvae_objective
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import adam, fit_ensemble, keep_freed_memory
from training import flops_per_step, matmul_rate

OBJECTIVES = {
    "catvae": catvae_objective,
    "infocatvae": infocatvae_objective,
}
BATCH = 128


def seeded_model(seed):
    torch.manual_seed(seed)
    return MLPCatVAE()


def member_batches(images, seed, steps):
    """`steps` batches of the training images in the order of seed
    `seed`."""
    order = torch.randperm(
        len(images), generator=torch.Generator().manual_seed(seed)
    )
    return list(images[order[: steps * BATCH]].split(BATCH))


def step_seconds(objective, model, optimizer, batches):
    """Seconds for one Adam step on each of `batches`, the losses added
    (one per member for an ensemble)."""
    model.train()
    start = time.perf_counter()
    for x in batches:
        optimizer.zero_grad(set_to_none=True)
        objective(model, x)["loss"].sum().backward()
        optimizer.step()
    return time.perf_counter() - start


def worker(connection):
    """A process that trains one model on command, for the 'parallel'
    timings."""
    keep_freed_memory()
    images, _ = load_mnist("train")
    while True:
        message = connection.recv()
        if message is None:
            return
        if message[0] == "setup":
            _, model_name, reading, seed, threads, steps = message
            torch.set_num_threads(threads)
            objective = functools.partial(
                OBJECTIVES[model_name], reconstruction=reading
            )
            model = seeded_model(seed)
            optimizer = adam(model, lr=1e-4)
            batches = member_batches(images, seed, steps)
            # warm up
            step_seconds(objective, model, optimizer, batches[:2])
            connection.send("ready")
        else:
            connection.send(
                step_seconds(objective, model, optimizer, batches)
            )


def parallel_seconds(connections):
    """Wall-clock seconds for all workers to run their steps at the same
    time."""
    start = time.perf_counter()
    for connection in connections:
        connection.send("run")
    for connection in connections:
        connection.recv()
    return time.perf_counter() - start


def time_configuration(
    model_name, reading, members, images, workers, args
):
    """Seconds per round of `args.steps` steps of N models, each way,
    and the mean matrix-multiply rate."""
    objective = functools.partial(
        OBJECTIVES[model_name], reconstruction=reading
    )
    seeds = list(range(members))
    singles = [seeded_model(seed) for seed in seeds]
    ensemble = EnsembleCatVAE.stack(singles)
    optimizers = {
        "ensemble": adam(ensemble, lr=1e-4),
        "sequential": [adam(model, lr=1e-4) for model in singles],
    }
    per_member = [
        member_batches(images, seed, args.steps) for seed in seeds
    ]
    stacked = [torch.stack(batch) for batch in zip(*per_member)]
    for connection, seed in zip(workers[:members], seeds):
        connection.send(
            (
                "setup",
                model_name,
                reading,
                seed,
                max(1, args.threads // members),
                args.steps,
            )
        )
    for connection in workers[:members]:
        connection.recv()
    # warm up
    step_seconds(
        objective, ensemble, optimizers["ensemble"], stacked[:2]
    )
    seconds, rates = {
        "ensemble": 0.0,
        "sequential": 0.0,
        "parallel": 0.0,
    }, []
    for _ in range(args.rounds):
        seconds["ensemble"] += step_seconds(
            objective, ensemble, optimizers["ensemble"], stacked
        )
        seconds["sequential"] += sum(
            step_seconds(objective, model, optimizer, batches)
            for model, optimizer, batches in zip(
                singles, optimizers["sequential"], per_member
            )
        )
        seconds["parallel"] += parallel_seconds(workers[:members])
        rates.append(matmul_rate(seconds=0.5))
    flops = members * flops_per_step(
        lambda model, x: objective(model, x)["loss"],
        singles[0],
        per_member[0][0],
    )
    return (
        {way: total / args.rounds for way, total in seconds.items()},
        flops * args.steps,
        sum(rates) / len(rates),
    )


def layer_milliseconds(members=3, rounds=100):
    """Milliseconds for forward and backward of the 784-to-400 layer of
    `members` models, in alternating rounds: one batched product
    (EnsembleLinear) and one nn.Linear per member."""
    x = torch.rand(members, BATCH, 784)
    batched, plain = EnsembleLinear(members, 784, 400), [
        nn.Linear(784, 400) for _ in range(members)
    ]
    ways = {
        "batched": lambda: batched(x).sum().backward(),
        "one layer per member": lambda: sum(
            layer(x[i]).sum() for i, layer in enumerate(plain)
        ).backward(),
    }
    seconds = dict.fromkeys(ways, 0.0)
    for _ in range(rounds):
        for way, run in ways.items():
            start = time.perf_counter()
            run()
            seconds[way] += time.perf_counter() - start
    return {way: 1000 * total / rounds for way, total in seconds.items()}


def peak_memory_of_six_members(queue):
    keep_freed_memory()
    images, _ = load_mnist("train")
    ensemble = EnsembleCatVAE.stack(
        [seeded_model(seed) for seed in range(6)]
    )
    fit_ensemble(
        ensemble,
        infocatvae_objective,
        images,
        epochs=1,
        seeds=list(range(6)),
        progress=False,
    )
    # Linux reports kilobytes
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def main():
    options = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument(
        "--steps",
        type=int,
        default=20,
        help="steps per model in each round",
    )
    options.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="alternating rounds per configuration",
    )
    options.add_argument(
        "--members",
        type=int,
        nargs="+",
        default=[1, 3, 6],
        help="ensemble sizes N",
    )
    options.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads in all (this machine has 2 cores)",
    )
    options.add_argument(
        "--skip-memory",
        action="store_true",
        help="skip the one-epoch peak-memory run",
    )
    args = options.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    images, _ = load_mnist("train")
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in range(max(args.members))]
    processes = [
        context.Process(target=worker, args=(child,), daemon=True)
        for _, child in pipes
    ]
    for process in processes:
        process.start()
    workers = [parent for parent, _ in pipes]
    print(
        f"{args.threads} threads; {args.steps} steps of {BATCH} images"
        f" per model per round, {args.rounds} rounds; float32"
        f" matrix-multiply rate {matmul_rate(seconds=3.0) / 1e9:.1f}"
        " GFLOP/s at the start"
    )
    layer = layer_milliseconds()
    print(
        "784-to-400 layer, 3 members, forward and backward: "
        + ", ".join(f"{way} {ms:.2f} ms" for way, ms in layer.items())
        + "\n"
    )
    header = (
        "model",
        "reading",
        "N",
        "way",
        "img/s/member",
        "img/s total",
        "of matmul",
        "vs sequential",
        "vs parallel",
    )
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for model_name in OBJECTIVES:
        for reading in ("bound", "mixed"):
            for members in args.members:
                seconds, flops, rate = time_configuration(
                    model_name, reading, members, images, workers, args
                )
                for way, spent in seconds.items():
                    total = members * args.steps * BATCH / spent
                    print(
                        f"{model_name} | {reading} | {members} | {way} |"
                        f" {total / members:.0f} | {total:.0f} |"
                        f" {flops / spent / rate:.0%} |"
                        f" {seconds['sequential'] / spent:.2f}x |"
                        f" {seconds['parallel'] / spent:.2f}x",
                        flush=True,
                    )
    for connection in workers:
        connection.send(None)
    if not args.skip_memory:
        queue = context.Queue()
        process = context.Process(
            target=peak_memory_of_six_members, args=(queue,)
        )
        process.start()
        print(
            "\npeak resident memory, 6-member InfoCatVAE ensemble"
            " (bound), one epoch of MNIST:"
            f" {queue.get() / 2**30:.2f} GiB"
        )
        process.join()


if __name__ == "__main__":
    main()

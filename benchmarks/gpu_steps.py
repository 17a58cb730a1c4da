"""Training throughput of the paper's headline settings on a device
(issue 25): images per second of the step that `train` takes, three
ways, for the CatVAE and the InfoCatVAE at appendix B's settings (the
`train` defaults: bound reading, lr 1e-4) and the adversarial
autoencoder:

    eager      `fit`, one model (the AAE's only way: it has no ensemble)
    ensemble   `fit_ensemble`, one model per seed of 0, 1, 2 at once
    graph      the same, its step recorded as a CUDA graph (CUDA only)

Each way trains from scratch for one epoch (once untimed, to ready the
process, then timed) and for 1 + EPOCHS epochs on the first SUBSET
training images; the difference of the two timed runs is EPOCHS epochs
of steady training (the start, the first steps' warm-up and the graph's
recording cancel out). With it, the table gives the
images per second per model and in all, the hours one 600-epoch run of
MNIST would take, and the share of the device's measured float32
matrix-multiply rate that the step's counted floating-point operations
reach. TF32 stays off, as `train` leaves it: the rates are strict
float32. Each run saves a checkpoint after every epoch, as `train`
does, and two checks of the longer run say whether a way trains as the
others do: the steps Adam counted against one per batch, and
the first epoch's mean loss (the same batches, other random draws).

    PYTHONPATH=src CATVAE_DATA_DIR=data python3 benchmarks/gpu_steps.py --device cuda --out OUT
    python benchmarks/gpu_steps.py --device cpu --subset 512 --epochs 1 --out runs/steps-try

Every row is written to OUT/gpu_steps.json and OUT/gpu_steps.md as soon
as it is measured, so a run cut short keeps what it finished."""

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from catvae_lit.cli import new_model, parser
from catvae_lit.data import load_mnist
from catvae_lit.ensemble import EnsembleCatVAE
from catvae_lit.registry import OBJECTIVES
from catvae_lit.training import fit, fit_ensemble, load_checkpoint

SEEDS = [0, 1, 2]
# (model, way) in the order they are measured: the graphs last, since a
# recording that fails may leave the device unusable for what follows
CONFIGURATIONS = [
    ("catvae", "eager"),
    ("catvae", "ensemble"),
    ("infocatvae", "eager"),
    ("infocatvae", "ensemble"),
    ("aae", "eager"),
    ("catvae", "graph"),
    ("infocatvae", "graph"),
]
MNIST_EPOCH = 60_000
PAPER_EPOCHS = 600


def headline_settings(model):
    """The options of `train --model MODEL` left at their defaults."""
    return parser().parse_args(
        ["train", "--model", model, "--out", "unused.pt"]
    )


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_and_time(model, way, images, epochs, device, folder):
    """Train the way `way` for `epochs` epochs on `images`, from fresh
    models, saving a checkpoint after every epoch as `train` does.
    Returns the seconds it took, the history, and the number of steps
    Adam counted."""
    args = headline_settings(model)
    objective = OBJECTIVES[model](args)
    checkpoint = folder / f"{model}-{way}.pt"
    # what both loops take, as `train` passes it
    options = dict(
        batch_size=args.batch_size,
        lr=args.lr,
        device=device,
        progress=False,
        checkpoint=checkpoint,
        overwrite=True,
    )
    synchronize(device)
    start = time.perf_counter()
    if way == "eager":
        history = fit(
            new_model(args, SEEDS[0]),
            objective,
            images,
            epochs,
            **options,
        )
    else:
        history = fit_ensemble(
            EnsembleCatVAE.stack(
                [new_model(args, seed) for seed in SEEDS]
            ),
            objective,
            images,
            epochs,
            SEEDS,
            cuda_graph=way == "graph",
            **options,
        )
    synchronize(device)
    seconds = time.perf_counter() - start
    adam = load_checkpoint(checkpoint)["optimizer_state"]["state"]
    steps = max(int(state["step"]) for state in adam.values())
    checkpoint.unlink()
    return seconds, history, steps


def measure(model, way, images, epochs, device, folder):
    """A row of the table: the steady training rate of `way`, from a
    run of one epoch and a run of 1 + `epochs` epochs, after a run of
    one epoch that readies the process (its time is not counted); and
    two checks of the longer run: that Adam took one step per batch
    (no step lost or repeated by a recording), and its first epoch's
    mean loss, to compare across ways (the same batches, other noise)."""
    train_and_time(model, way, images, 1, device, folder)
    warm, _, _ = train_and_time(model, way, images, 1, device, folder)
    both, history, steps = train_and_time(
        model, way, images, 1 + epochs, device, folder
    )
    models = 1 if way == "eager" else len(SEEDS)
    per_model = epochs * len(images) / (both - warm)
    batches = math.ceil(
        len(images) / headline_settings(model).batch_size
    )
    return {
        "model": model,
        "way": way,
        "models": models,
        "first_epoch_seconds": warm,
        "seconds": both,
        "images_per_second_per_model": per_model,
        "images_per_second": models * per_model,
        "hours_per_paper_run": PAPER_EPOCHS
        * MNIST_EPOCH
        / per_model
        / 3600,
        "flops_per_image": flops_per_image(model, images),
        "adam_steps": steps,
        # each parameter steps once per batch, also in the AAE's turns
        "adam_steps_expected": (1 + epochs) * batches,
        "first_epoch_loss": float(np.mean(history[0]["loss"])),
    }


def flops_per_image(model, images):
    """Floating-point operations of one training step of one model
    (forward and backward of every objective it takes turns with), per
    image, counted on the CPU."""
    args = headline_settings(model)
    objective = OBJECTIVES[model](args)
    network = new_model(args, SEEDS[0])
    batch = images[: args.batch_size].cpu()
    with FlopCounterMode(display=False) as counter:
        for turn in (
            objective if isinstance(objective, list) else [objective]
        ):
            turn(network, batch)["loss"].backward()
    return counter.get_total_flops() / len(batch)


def matmul_rate(device, size=4096, seconds=1.0):
    """The device's float32 matrix-multiply rate (FLOP/s), from square
    products for about `seconds`."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
        if count % 10 == 0:
            synchronize(device)
    synchronize(device)
    return 2 * size**3 * count / (time.perf_counter() - start)


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()})"


def markdown(report):
    lines = [
        (
            f"Device: {report['device']}; torch {report['torch']}; TF32"
            f" for matrix products: {report['tf32']}; float32"
            f" matrix-multiply rate {report['matmul_tflops']:.1f}"
            f" TFLOP/s. Steady rate over {report['epochs']} epoch(s) of"
            f" {report['subset']} images."
        ),
        "",
        (
            "| model | way | models | images/s per model | images/s in"
            " all | hours per 600-epoch run | share of the float32 rate"
            " | Adam steps (expected) | first epoch's loss |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if "skipped" in row:
            lines.append(
                f"| {row['model']} | {row['way']} | | {row['skipped']} |"
                " | | | | |"
            )
            continue
        lines.append(
            f"| {row['model']} | {row['way']} | {row['models']} |"
            f" {row['images_per_second_per_model']:,.0f} |"
            f" {row['images_per_second']:,.0f} |"
            f" {row['hours_per_paper_run']:.2f} |"
            f" {row['share_of_matmul_rate']:.1%} |"
            f" {row['adam_steps']} ({row['adam_steps_expected']}) |"
            f" {row['first_epoch_loss']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    options = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument("--device", default="cuda")
    options.add_argument(
        "--subset",
        type=int,
        default=MNIST_EPOCH,
        help="training images per epoch (all of MNIST by default)",
    )
    options.add_argument(
        "--epochs",
        type=int,
        default=2,
        help="epochs of steady training timed, after a first one",
    )
    options.add_argument("--out", type=Path, required=True)
    args = options.parse_args()
    device = torch.device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    images = load_mnist("train")[0][: args.subset]
    # the runs' checkpoints, deleted after each run is checked
    folder = Path(tempfile.mkdtemp())
    report = {
        "command": (
            "python benchmarks/gpu_steps.py"
            f" --device {args.device} --subset {args.subset}"
            f" --epochs {args.epochs}"
        ),
        "device": device_name(device),
        "torch": torch.__version__,
        "tf32": torch.backends.cuda.matmul.allow_tf32,
        "matmul_tflops": matmul_rate(device) / 1e12,
        "epochs": args.epochs,
        "subset": len(images),
        "rows": [],
    }
    for model, way in CONFIGURATIONS:
        if way == "graph" and device.type != "cuda":
            row = {"model": model, "way": way, "skipped": "CUDA only"}
        else:
            try:
                row = measure(
                    model, way, images, args.epochs, device, folder
                )
            except Exception as err:  # reported in the table, then on
                row = {
                    "model": model,
                    "way": way,
                    "skipped": (
                        f"failed: {type(err).__name__}:"
                        f" {str(err).strip().splitlines()[0]}"
                    ),
                }
        if "skipped" not in row:
            row["share_of_matmul_rate"] = (
                row["images_per_second"]
                * row["flops_per_image"]
                / (report["matmul_tflops"] * 1e12)
            )
        report["rows"].append(row)
        (args.out / "gpu_steps.json").write_text(
            json.dumps(report, indent=2)
        )
        (args.out / "gpu_steps.md").write_text(markdown(report))
        print(json.dumps(row), flush=True)
    print(markdown(report))


if __name__ == "__main__":
    main()

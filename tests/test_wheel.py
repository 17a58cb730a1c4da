"""The package as someone who imports it gets it: a wheel built from the
checkout, installed into a fresh virtual environment in a temporary
folder outside the checkout, where a short script uses the public API
on data of another shape than MNIST's.

The fresh environment borrows the third-party packages of the
environment running the tests (PyTorch alone is gigabytes), through a
path file, but not its catvae_lit: the path file adds a folder to the
search path without running the path files inside it, so the project's
editable install stays inactive there, and the script checks that it
imports the copy the wheel installed."""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import functools

import torch

import catvae_lit
from catvae_lit.config import checkpoint_dir
from catvae_lit.losses import invariant_objective
from catvae_lit.metrics import predict_clusters
from catvae_lit.models import MLPCatVAE
from catvae_lit.training import fit, restore_model

assert "site-packages" in catvae_lit.__file__, catvae_lit.__file__
torch.manual_seed(0)
data = torch.rand(500, 64)
model = MLPCatVAE(input_dim=64, num_classes=4, latent_dim=8, hidden_dim=32)
objective = functools.partial(invariant_objective, augmentation="vat")
fit(model, objective, data, epochs=1, checkpoint="own.pt", progress=False)
restored = restore_model("own.pt", "cpu")
clusters = predict_clusters(restored, data)
assert clusters.shape == (500,) and 0 <= clusters.min() <= clusters.max() < 4
with torch.no_grad():
    samples = restored.sample(torch.arange(4))
assert samples.shape == (4, 64) and 0 <= samples.min() <= samples.max() <= 1
assert torch.equal(predict_clusters(model, data), clusters)
try:
    checkpoint_dir()
except FileNotFoundError as err:
    assert "CATVAE_CHECKPOINT_DIR" in str(err), err
else:
    raise AssertionError("no error without the repository's checkpoints")
print("the installed package works")
"""


def run(*command, **options):
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        **options,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_wheel_installs_and_works_outside_the_checkout(tmp_path):
    # built from a copy of what the wheel is made of, since setuptools
    # writes its build folder beside the sources
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--wheel-dir",
        tmp_path / "dist",
        source,
    )
    (wheel,) = (tmp_path / "dist").glob("catvae_lit-*.whl")
    packaged = zipfile.ZipFile(wheel).namelist()
    # the package's modules and the wheel's metadata, nothing of the
    # repository (checkpoints, data, chapters)
    assert all(
        name.startswith(("catvae_lit/", "catvae_lit-"))
        for name in packaged
    ), packaged
    assert "catvae_lit/models.py" in packaged

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    own_site = run(
        python,
        "-c",
        "import sysconfig; print(sysconfig.get_path('purelib'))",
    ).strip()
    Path(own_site, "borrowed.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel)

    work = tmp_path / "work"
    work.mkdir()
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": work}
    output = run(python, "-c", SCRIPT, cwd=work, env=environment)
    assert "the installed package works" in output
    help_text = run(
        venv / "bin" / "catvae-lit", "--help", cwd=work, env=environment
    )
    assert "train" in help_text and "evaluate" in help_text

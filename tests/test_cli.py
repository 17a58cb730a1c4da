import subprocess
import sys
from pathlib import Path

import pytest

from catvae_lit.models import VAE
from catvae_lit.training import save_checkpoint

COMMANDS = (
    "train",
    "publish",
    "reproduce",
    "evaluate",
    "sample",
    "train-judge",
    "ablation",
    "table1",
)


def test_console_script_lists_every_command():
    script = Path(sys.executable).parent / "catvae-lit"
    completed = subprocess.run(
        [script, "--help"], capture_output=True, text=True, check=True
    )
    assert all(command in completed.stdout for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_documents_itself(command):
    completed = subprocess.run(
        [sys.executable, "-m", "catvae_lit", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.startswith(
        f"usage: python -m catvae_lit {command}"
    )


def test_a_checkpoint_without_a_model_name_gets_a_clear_error(tmp_path):
    save_checkpoint(tmp_path / "anonymous.pt", VAE())
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "catvae_lit",
            "evaluate",
            tmp_path / "anonymous.pt",
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0
    assert (
        "does not say which model it holds" in completed.stderr
        and "pass --model" in completed.stderr
    )

import os
from pathlib import Path

import pytest

from catvae_lit.data import IDX_FILES, data_root


@pytest.fixture(scope="session")
def mnist_root():
    """The data folder holding MNIST; the tests that read real data need
    it (CI points CATVAE_DATA_DIR at it)."""
    root = data_root()
    if not all(
        (root / "MNIST" / "raw" / name).exists()
        for pair in IDX_FILES.values()
        for name in pair
    ):
        pytest.fail(
            f"MNIST is not in {root.resolve()}; set CATVAE_DATA_DIR"
            " (tests never download)"
        )
    return root


@pytest.fixture(autouse=True)
def _no_full_run(monkeypatch):
    monkeypatch.delenv("CATVAE_FULL", raising=False)
    monkeypatch.delenv("CATVAE_DEVICE", raising=False)

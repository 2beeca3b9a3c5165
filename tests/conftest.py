"""Shared test fixtures: golden reference arrays and quiet TensorFlow logs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def golden():
    """Load a golden array by file stem, e.g. ``golden("input_wave_2x16000")``."""

    def load(stem: str) -> np.ndarray:
        return np.load(GOLDEN_DIR / f"{stem}.npy")

    return load

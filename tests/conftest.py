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


@pytest.fixture(scope="session")
def tiny_keywords(tmp_path_factory) -> Path:
    """A small built-in keyword set (all three engines), generated once per test session."""
    from leaf_edge.data.synth import KeywordSetConfig, generate_keywords

    out = tmp_path_factory.mktemp("data") / "keywords"
    generate_keywords(out, KeywordSetConfig(speakers=20, background_seconds=5), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_keywords, tmp_path_factory) -> Path:
    """A LEAF + EfficientNetB0 run trained for two short epochs on the tiny keyword set."""
    from leaf_edge.data.augment import AugmentConfig
    from leaf_edge.train import TrainConfig, train

    run = tmp_path_factory.mktemp("runs") / "leaf"
    config = TrainConfig(data=str(tiny_keywords), epochs=2, batch_size=16, augment=AugmentConfig(rooms=4))
    train(config, run, verbose=0, log=lambda *_: None)
    return run


@pytest.fixture(scope="session")
def tiny_model(tiny_run, tmp_path_factory) -> Path:
    """The tiny run converted to a float .tflite with its metadata (for runtime mechanics, not accuracy)."""
    from converter.convert import convert_run

    path = tmp_path_factory.mktemp("models") / "tiny.tflite"
    convert_run(tiny_run, path, "none", log=lambda *_: None)
    return path

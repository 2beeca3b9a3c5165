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
    """A LEAF + EfficientNetB0 (the shipped architecture) run trained for two short epochs on the
    tiny keyword set."""
    from leaf_edge.data.augment import AugmentConfig
    from leaf_edge.runs import TrainConfig
    from leaf_edge.train import train

    run = tmp_path_factory.mktemp("runs") / "leaf"
    config = TrainConfig(
        data=str(tiny_keywords), classifier="efficientnet-b0", epochs=2, batch_size=16,
        augment=AugmentConfig(rooms=4),
    )  # fmt: skip
    train(config, run, verbose=0, log=lambda *_: None)
    return run


@pytest.fixture(scope="session")
def tiny_model(tiny_run, tmp_path_factory) -> Path:
    """The tiny run converted to a float .tflite with its metadata (for runtime mechanics, not accuracy)."""
    from converter.convert import convert_run

    path = tmp_path_factory.mktemp("models") / "tiny.tflite"
    convert_run(tiny_run, path, "none", log=lambda *_: None)
    return path


def require(available: bool, what: str) -> None:
    """Skip a test whose dependency is missing here; under CI=true that is a failure instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (CI must install it)")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def virtual_mic(tmp_path_factory):
    """A PulseAudio virtual microphone (tests/tools/virtual-mic.sh): yields a function that plays a WAV
    into it, and the environment a client needs to record from it."""
    import shutil
    import subprocess

    require(shutil.which("pulseaudio") is not None, "pulseaudio (scripts/install-system-deps.sh)")
    script = Path(__file__).parent / "tools" / "virtual-mic.sh"
    env = {**os.environ, "VMIC_DIR": str(tmp_path_factory.mktemp("vmic"))}
    subprocess.run(["bash", str(script), "start"], env=env, check=True, capture_output=True, timeout=60)
    env["PULSE_SERVER"] = f"unix:{env['VMIC_DIR']}/pulse/native"

    def control(*args: str, background: bool = False):
        command = ["bash", str(script), *args]
        if background:
            return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)

    control.env = env
    yield control
    subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def keyword_model() -> Path:
    """The shipped default keyword model (accurate enough to test detections end to end)."""
    from device.models import DEFAULT_MODEL

    require(DEFAULT_MODEL.exists(), f"the shipped model {DEFAULT_MODEL}")
    return DEFAULT_MODEL

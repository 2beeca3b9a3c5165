"""What a finished run keeps for its conversion, so that a run converts without its data set.

``RUN/conversion.npz`` holds the calibration sets int8 is fitted on (training clips through the
run's own augmentation, as training saw them) and the run's validation and test clips with
their labels, float16, together under :data:`BUDGET_BYTES`: a split that does not fit is
stored as a seeded sample of it (the same clips every time), and the file says how many clips
each split had. Training writes it (:func:`leaf_edge.recipe.keep_conversion_inputs`); the
converter reads it and nothing else of the data. No TensorFlow here: both sides import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.atomic import atomic_path

CONVERSION_FILE = "conversion.npz"
BUDGET_BYTES = 128 * 2**20
CALIBRATION_DRAWS = 5  # calibration sets kept, each tried by int8/int16x8 (see converter.convert)
CALIBRATION_CLIPS = 200  # clips in each set (fewer for long clips, within the budget)
SPLITS = ("validation", "test")


@dataclass(frozen=True)
class ConversionInputs:
    """A run's calibration sets and its (sampled) validation and test clips, as float32."""

    calibration: np.ndarray  # [draws, clips, samples]
    waves: dict[str, np.ndarray]  # split -> [clips, samples]
    labels: dict[str, np.ndarray]  # split -> [clips]
    totals: dict[str, int]  # split -> clips the split had (those stored may be fewer)


def budget(samples: int, draws: int, count: int, sizes: dict[str, int]) -> tuple[int, dict[str, int]]:
    """Calibration clips per draw and clips kept per split within :data:`BUDGET_BYTES`: the
    calibration sets take at most half, validation at most a third of the rest, test the others."""
    clips = BUDGET_BYTES // (2 * samples)
    per_draw = min(count, clips // 2 // max(draws, 1))
    rest = clips - per_draw * draws
    validation = min(sizes["validation"], rest // 3)
    return per_draw, {"validation": validation, "test": min(sizes["test"], rest - validation)}


def write_conversion_inputs(
    run: Path, calibration: np.ndarray, splits: dict[str, tuple[np.ndarray, np.ndarray]], seed: int
) -> Path:
    """Write ``RUN/conversion.npz`` atomically. ``calibration`` is ``[draws, clips, samples]``
    already within the budget; each split's (waves, labels) is sampled down to it here."""
    samples = calibration.shape[-1]
    draws, count = calibration.shape[:2]
    _, keep = budget(samples, draws, count, {name: len(splits[name][1]) for name in SPLITS})
    arrays = {"calibration": calibration.astype(np.float16)}
    for name in SPLITS:
        waves, labels = splits[name]
        chosen = np.sort(np.random.default_rng(seed).permutation(len(labels))[: keep[name]])
        arrays[name] = waves[chosen].astype(np.float16)
        arrays[f"{name}_labels"] = np.asarray(labels)[chosen].astype(np.int32)
        arrays[f"{name}_total"] = np.int64(len(labels))
    path = Path(run) / CONVERSION_FILE
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def read_conversion_inputs(run: Path) -> ConversionInputs | None:
    """The run's conversion inputs, or None for a run trained before they were kept."""
    path = Path(run) / CONVERSION_FILE
    if not path.exists():
        return None
    with np.load(path) as stored:
        return ConversionInputs(
            calibration=stored["calibration"].astype(np.float32),
            waves={name: stored[name].astype(np.float32) for name in SPLITS},
            labels={name: stored[f"{name}_labels"] for name in SPLITS},
            totals={name: int(stored[f"{name}_total"]) for name in SPLITS},
        )

"""What the built-in data sets share: built atomically beside their target, a manifest with the
Speech Commands split lists, and ``_background_noise_`` files of five kinds of noise."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import soundfile as sf

from leaf_edge.data import noise
from leaf_edge.data.words import BACKGROUND_NOISE


def build_atomically(out: str | os.PathLike, build: Callable[[Path], dict]) -> dict:
    """Run ``build`` on ``OUT.partial`` and rename it to ``out`` once it returned; on any failure or
    interruption nothing is left behind. ``out`` must be absent or empty."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        summary = build(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return summary


def write_manifest(out: Path, clips: list) -> None:
    """``manifest.csv`` (a row per clip dataclass, sorted by path) and the validation/test lists."""
    clips.sort(key=lambda clip: clip.path)
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(clips[0])])
        writer.writeheader()
        writer.writerows(asdict(clip) for clip in clips)
    for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        (out / name).write_text("".join(f"{c.path}\n" for c in clips if c.split == split))


def write_background_noise(out: Path, seconds: float, sample_rate: int, rng: np.random.Generator) -> None:
    """One quiet file of each kind of :data:`leaf_edge.data.noise.NOISE_KINDS`."""
    folder = out / BACKGROUND_NOISE
    folder.mkdir()
    for kind in noise.NOISE_KINDS:
        audio = 0.1 * noise.make_noise(kind, int(seconds * sample_rate), sample_rate, rng)
        sf.write(folder / f"{kind}.wav", audio, sample_rate, subtype="PCM_16")

"""Labelled audio from folders: Speech Commands layout or any folder-per-label tree.

``index_folder`` finds the labels, files and splits; ``load_split`` reads one split into
memory at the model's rate and clip length. Files that cannot be read are reported, never
silently dropped and never fatal.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from leaf_edge.data.words import BACKGROUND_NOISE, KEYWORDS, SILENCE, UNKNOWN

AUDIO_SUFFIXES = {".wav", ".flac"}
SPLITS = ("train", "validation", "test")
HELD_OUT = "held_out"  # the split of a held-out engine's clips (leave-one-engine-out)
SILENCE_SHARE = 0.1  # Speech Commands' share of silence clips when it must be made from noise


class DataError(ValueError):
    """A data set that cannot be used; the message says why and what to do."""


@dataclass
class DatasetIndex:
    """Where every clip of a data set is, its label and split."""

    root: Path
    labels: list[str]
    files: dict[str, list[tuple[Path, int]]]  # split -> [(path, label index)]
    background: list[Path] = field(default_factory=list)
    silence_from_background: bool = False


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def speech_commands_split(relative: str, validation: float = 0.1, test: float = 0.1) -> str:
    """Speech Commands' rule: a stable hash of the speaker part of the name picks the split."""
    speaker = re.sub(r"_nohash_.*$", "", Path(relative).name)
    share = int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 10000 / 10000
    if share < validation:
        return "validation"
    if share < validation + test:
        return "test"
    return "train"


def index_folder(root: str | Path, keywords: Sequence[str] | None = None) -> DatasetIndex:
    """Index a data set folder.

    With ``keywords`` (or a Speech Commands layout holding all ten of its keywords), the
    labels are the keywords plus ``_silence_`` and ``_unknown_``: every other word folder is
    unknown, and silence comes from a ``_silence_`` folder or, failing that, from
    ``_background_noise_``. Otherwise every folder is a label. Splits come from
    ``validation_list.txt``/``testing_list.txt`` when present, else from the speaker hash.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    folders = {p.name: _audio_files(p) for p in sorted(root.iterdir()) if p.is_dir()}
    background = folders.pop(BACKGROUND_NOISE, [])
    folders = {name: files for name, files in folders.items() if files}
    if not folders:
        raise DataError(f"{root} has no label folders with .wav or .flac files")
    has_lists = (root / "validation_list.txt").exists() and (root / "testing_list.txt").exists()
    if keywords is None and has_lists and set(KEYWORDS) <= set(folders):
        keywords = KEYWORDS
    if keywords:
        missing = [k for k in keywords if k not in folders]
        if missing:
            raise DataError(f"no folder for keyword(s) {', '.join(missing)} in {root}")
        silence_from_background = SILENCE not in folders and bool(background)
        has_silence = SILENCE in folders or silence_from_background
        labels = [*keywords, *([SILENCE] if has_silence else []), UNKNOWN]
        if len(folders) == len(keywords) + (SILENCE in folders):
            labels.remove(UNKNOWN)  # no other words to call unknown
    else:
        silence_from_background = False
        labels = sorted(folders)
    if len(labels) < 2:
        raise DataError(f"{root} has only one label ({labels[0]}); a classifier needs at least two")

    def label_of(folder: str) -> int:
        if not keywords:
            return labels.index(folder)
        if folder in keywords or folder == SILENCE:
            return labels.index(folder)
        return labels.index(UNKNOWN)

    listed = {}
    if has_lists:
        for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
            for line in (root / name).read_text().split():
                listed[line.strip()] = split
    files: dict[str, list[tuple[Path, int]]] = {split: [] for split in SPLITS}
    for folder, paths in folders.items():
        for path in paths:
            relative = manifest_key(path)
            split = listed.get(relative, "train") if has_lists else speech_commands_split(relative)
            files[split].append((path, label_of(folder)))
    return DatasetIndex(root, labels, files, background, silence_from_background)


def manifest_key(path: Path) -> str:
    """A clip's name in manifest.csv and the split lists: ``label/file.wav``."""
    return f"{path.parent.name}/{path.name}"


def clip_engines(root: str | Path) -> dict[str, str]:
    """The engine that made each clip (:func:`manifest_key` -> engine), from the set's manifest.csv."""
    manifest = Path(root) / "manifest.csv"
    if not manifest.is_file():
        raise DataError(f"{root} has no manifest.csv, so its clips' engines are unknown")
    with open(manifest, newline="") as f:
        return {row["path"]: row["engine"] for row in csv.DictReader(f)}


def hold_out_engine(index: DatasetIndex, engine: str) -> DatasetIndex:
    """The index without one engine's clips in any split; they become the split HELD_OUT.

    Training without an engine and testing on all of its clips measures how the model does
    on voices it never heard (the built-in set's own test split shares engines with training).
    """
    engines = clip_engines(index.root)
    known = sorted(set(engines.values()) - {"noise"})
    if engine not in known:
        raise DataError(f"no clips by engine {engine!r} in {index.root}; it has {', '.join(known)}")

    def by_engine(path: Path) -> bool:
        return engines.get(manifest_key(path)) == engine

    files = {split: [f for f in kept if not by_engine(f[0])] for split, kept in index.files.items()}
    files[HELD_OUT] = [f for kept in index.files.values() for f in kept if by_engine(f[0])]
    return dataclasses.replace(index, files=files)


class AudioError(ValueError):
    """An audio file that cannot be used."""


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """A file as mono float32 at ``sample_rate`` (any format libsndfile reads, any rate/depth)."""
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"not readable as audio ({error})") from None
    if audio.size == 0:
        raise AudioError("no samples")
    if not np.isfinite(audio).all():
        raise AudioError("contains NaN or infinite samples")
    audio = audio.mean(axis=1)
    if rate != sample_rate:
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    return audio


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Centre-crop or zero-pad (evenly on both sides) to exactly ``samples``."""
    if len(audio) >= samples:
        start = (len(audio) - samples) // 2
        return audio[start : start + samples]
    left = (samples - len(audio)) // 2
    return np.pad(audio, (left, samples - len(audio) - left))


@dataclass
class LoadedSplit:
    waves: np.ndarray  # [N, clip_samples] float32
    labels: np.ndarray  # [N] int32
    problems: list[tuple[Path, str]]
    paths: list[Path | None]  # [N] where each clip came from; None: cut from background noise

    def report(self) -> str | None:
        """One line about unreadable files (count and first few), or None."""
        if not self.problems:
            return None
        first = "; ".join(f"{p.name}: {why}" for p, why in self.problems[:3])
        return f"skipped {len(self.problems)} unreadable file(s), e.g. {first}"


def load_split(
    index: DatasetIndex, split: str, sample_rate: int, clip_samples: int, seed: int = 0
) -> LoadedSplit:
    """Read a split into memory, in parallel; silence is cut from background noise if needed."""

    def load(item):
        path, label = item
        try:
            return fit_length(read_audio(path, sample_rate), clip_samples), label, None
        except AudioError as error:
            return None, label, (path, str(error))

    items = index.files[split]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(load, items))
    read = [
        (w, label, path) for (w, label, _), (path, _) in zip(results, items, strict=True) if w is not None
    ]
    waves = [w for w, _, _ in read]
    labels = [label for _, label, _ in read]
    paths: list[Path | None] = [path for _, _, path in read]
    problems = [problem for _, _, problem in results if problem is not None]
    if index.silence_from_background and waves and split in SPLITS:
        silence = _silence_from_background(index, sample_rate, clip_samples, len(waves), split, seed)
        waves.extend(silence)
        labels.extend([index.labels.index(SILENCE)] * len(silence))
        paths.extend([None] * len(silence))
    if not waves:
        return LoadedSplit(np.zeros((0, clip_samples), np.float32), np.zeros(0, np.int32), problems, [])
    return LoadedSplit(np.stack(waves).astype(np.float32), np.asarray(labels, np.int32), problems, paths)


def _silence_from_background(index, sample_rate, clip_samples, n_speech, split, seed):
    noises = [read_audio(path, sample_rate) for path in index.background]
    noises = [n for n in noises if len(n) >= clip_samples]
    if not noises:
        return []
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    clips = []
    for _ in range(int(round(n_speech * SILENCE_SHARE))):
        noise = noises[rng.integers(len(noises))]
        start = rng.integers(len(noise) - clip_samples + 1)
        clips.append(noise[start : start + clip_samples] * rng.uniform(0, 1))
    return clips

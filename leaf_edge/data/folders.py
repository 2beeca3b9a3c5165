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

# training, conversion and the device read and cut clips alike
from device.audio import AUDIO_SUFFIXES, AudioInputError, fit_length, read_audio
from device.contract import SILENCE, UNKNOWN, LeafEdgeError
from leaf_edge.data import noise
from leaf_edge.data.words import BACKGROUND_NOISE, KEYWORDS

SPLITS = ("train", "validation", "test")
HELD_OUT = "held_out"  # the split of a held-out engine's clips (leave-one-engine-out)
SILENCE_SHARE = 0.1  # Speech Commands' share of silence clips when it must be made from noise
MIN_CLIP_SHARE = 0.1  # files shorter than this share of the clip are skipped, not padded


class DataError(LeafEdgeError):
    """A data set that cannot be used; the message says why and what to do."""


@dataclass
class DatasetIndex:
    """Where every clip of a data set is, its label and split."""

    root: Path
    labels: list[str]
    files: dict[str, list[tuple[Path, int]]]  # split -> [(path, label index)]
    background: list[Path] = field(default_factory=list)
    silence_from_background: bool = False
    generated_background: bool = False  # silence clips are generated quiet noise, not cut from files


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def speaker_of(relative: str) -> str:
    """Speech Commands' speaker: the file name before ``_nohash_`` (the whole name without one)."""
    return re.sub(r"_nohash_.*$", "", Path(relative).name)


def _stable_hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)


def stratified_split(relatives: Sequence[str], group_of, validation: float, test: float) -> dict[str, str]:
    """Splits for one label's clips: exact shares, whole groups (speakers, files) in one split.

    Groups are taken in the order of a stable hash of their name: test first until its share is
    full, then validation, the rest train. A share above zero gets at least one clip when the
    label has three or more.
    """

    def target(share: float) -> int:
        wanted = round(share * len(relatives))
        return max(wanted, 1) if share > 0 and len(relatives) >= 3 else wanted

    n_test, n_validation = target(test), target(validation)
    groups: dict[str, list[str]] = {}
    for relative in relatives:
        groups.setdefault(group_of(relative), []).append(relative)
    splits, count = {}, 0
    for group in sorted(groups, key=_stable_hash):
        split = "test" if count < n_test else "validation" if count < n_test + n_validation else "train"
        splits.update(dict.fromkeys(groups[group], split))
        count += len(groups[group])
    return splits


SPLIT_RULES = ("auto", "lists", "speaker", "file")


def index_folder(
    root: str | Path,
    keywords: Sequence[str] | None = None,
    split_by: str = "auto",
    validation_share: float = 0.1,
    test_share: float = 0.1,
    test_folder: str | Path | None = None,
    background: str | None = None,
) -> DatasetIndex:
    """Index a data set folder.

    With ``keywords`` (or a Speech Commands layout holding all ten of its keywords), the
    labels are the keywords plus ``_silence_`` and ``_unknown_``: every other word folder is
    unknown, and silence comes from a ``_silence_`` folder or, failing that, from
    ``_background_noise_``. Otherwise every folder is a label, and ``background`` (a folder of
    recordings, or ``noise`` for generated quiet noise) adds a ``_silence_`` class cut from it.

    ``split_by``: ``lists`` (``validation_list.txt``/``testing_list.txt``), ``speaker``
    (Speech Commands' speaker part of the name) or ``file``, the last two stratified by label at
    ``validation_share``/``test_share``; ``auto`` takes the lists when both exist, else speaker.
    ``test_folder``: a separate folder (same labels) whose every clip is a test clip; the
    data set's own clips then go to train and validation only.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    if split_by not in SPLIT_RULES:
        raise DataError(f"--split-by {split_by!r}: choose one of {', '.join(SPLIT_RULES)}")
    if not (0 <= validation_share < 1 and 0 <= test_share < 1 and validation_share + test_share < 1):
        raise DataError("--validation-share and --test-share must be in [0, 1) and leave some training clips")
    folders = {p.name: _audio_files(p) for p in sorted(root.iterdir()) if p.is_dir()}
    noise_files = folders.pop(BACKGROUND_NOISE, [])
    folders = {name: files for name, files in folders.items() if files}
    if not folders:
        raise DataError(f"{root} has no label folders with .wav or .flac files")
    has_lists = (root / "validation_list.txt").exists() and (root / "testing_list.txt").exists()
    if split_by == "lists" and not has_lists:
        raise DataError(f"--split-by lists: {root} needs validation_list.txt and testing_list.txt")
    if keywords is None and has_lists and set(KEYWORDS) <= set(folders):
        keywords = KEYWORDS
    generated_background = background == "noise"
    if background not in (None, "noise"):
        background_dir = Path(background)
        if not background_dir.is_dir() or not _audio_files(background_dir):
            raise DataError(f"--background {background}: not a folder of .wav or .flac recordings")
        noise_files = _audio_files(background_dir)
    if keywords:
        missing = [k for k in keywords if k not in folders]
        if missing:
            raise DataError(f"no folder for keyword(s) {', '.join(missing)} in {root}")
        silence_from_background = SILENCE not in folders and (bool(noise_files) or generated_background)
        has_silence = SILENCE in folders or silence_from_background
        labels = [*keywords, *([SILENCE] if has_silence else []), UNKNOWN]
        if len(folders) == len(keywords) + (SILENCE in folders):
            labels.remove(UNKNOWN)  # no other words to call unknown
    else:
        silence_from_background = background is not None and SILENCE not in folders
        labels = sorted(folders) + ([SILENCE] if silence_from_background else [])
    if len(labels) < 2:
        raise DataError(f"{root} has only one label ({labels[0]}); a classifier needs at least two")

    def label_of(folder: str) -> int:
        if not keywords:
            return labels.index(folder)
        if folder in keywords or folder == SILENCE:
            return labels.index(folder)
        return labels.index(UNKNOWN)

    use_lists = split_by == "lists" or (split_by == "auto" and has_lists)
    if test_folder is not None:
        test_share = 0.0
    files: dict[str, list[tuple[Path, int]]] = {split: [] for split in SPLITS}
    if use_lists:
        listed = {}
        for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
            for line in (root / name).read_text().split():
                listed[line.strip()] = split
        for folder, paths in folders.items():
            for path in paths:
                files[listed.get(manifest_key(path), "train")].append((path, label_of(folder)))
    else:
        group_of = speaker_of if split_by in ("auto", "speaker") else (lambda relative: relative)
        for folder, paths in folders.items():
            keyed = {manifest_key(path): path for path in paths}
            chosen = stratified_split(list(keyed), group_of, validation_share, test_share)
            for relative, split in chosen.items():
                files[split].append((keyed[relative], label_of(folder)))
    if test_folder is not None:
        files["test"] = _test_folder_files(Path(test_folder), labels, label_of)
    return DatasetIndex(root, labels, files, noise_files, silence_from_background, generated_background)


def _test_folder_files(folder: Path, labels: list[str], label_of) -> list[tuple[Path, int]]:
    """Every clip of a separate test folder, labelled like the training folders."""
    if not folder.is_dir():
        raise DataError(f"--test {folder} is not a folder")
    found = {p.name: _audio_files(p) for p in sorted(folder.iterdir()) if p.is_dir()}
    found = {name: paths for name, paths in found.items() if paths and name != BACKGROUND_NOISE}
    if not found:
        raise DataError(f"--test {folder} has no label folders with .wav or .flac files")
    files = []
    for name, paths in found.items():
        try:
            label = label_of(name)
        except ValueError:
            raise DataError(f"--test {folder} has a label {name!r} that the training data lacks") from None
        files.extend((path, label) for path in paths)
    return files


def typical_clip_seconds(root: str | Path, sample: int = 200) -> float:
    """The median length of a data set's label files (a stable sample of ``sample``), in tenths of
    a second within 0.5-10 s: the clip length a model of this data should see."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    paths = [p for folder in sorted(root.iterdir()) if folder.is_dir() and folder.name != BACKGROUND_NOISE
             for p in _audio_files(folder)]  # fmt: skip
    lengths = []
    for path in sorted(paths, key=lambda p: _stable_hash(p.name))[:sample]:
        try:
            lengths.append(sf.info(str(path)).duration)
        except (sf.LibsndfileError, RuntimeError, OSError):
            continue  # reported when the split is read
    if not lengths:
        raise DataError(f"{root} has no readable .wav or .flac files in label folders")
    return float(np.clip(round(float(np.median(lengths)), 1), 0.5, 10.0))


def manifest_key(path: Path) -> str:
    """A clip's name in manifest.csv and the split lists: ``label/file.wav``."""
    return f"{path.parent.name}/{path.name}"


def clip_engines(root: str | Path) -> dict[str, str]:
    """The engine that made each clip (:func:`manifest_key` -> engine), from the set's manifest.csv."""
    return {path: row["engine"] for path, row in manifest_rows(root).items()}


def voice_name(row: dict[str, str]) -> str:
    """A clip's voice from its manifest row: ``engine/voice`` (espeak-ng's variant dropped: ``en-us+m3``
    is ``en-us``), ``+world`` after it when the speaker was made by resynthesis."""
    world = "+world" if '"resynthesis"' in (row.get("settings") or "") else ""
    return f"{row['engine']}/{(row.get('voice') or '?').split('+')[0]}{world}"


def manifest_rows(root: str | Path) -> dict[str, dict[str, str]]:
    """The set's manifest.csv, a row per clip (:func:`manifest_key` -> row)."""
    manifest = Path(root) / "manifest.csv"
    if not manifest.is_file():
        raise DataError(f"{root} has no manifest.csv, so its clips' engines are unknown")
    with open(manifest, newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


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
            audio = read_audio(path, sample_rate)
            if len(audio) < MIN_CLIP_SHARE * clip_samples:
                raise AudioInputError(f"{len(audio) / sample_rate:.3f} s: shorter than a tenth of the clip")
            return fit_length(audio, clip_samples), label, None
        except AudioInputError as error:
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
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    count = int(round(n_speech * SILENCE_SHARE))
    if index.generated_background:
        return [noise.silence_clip(clip_samples, sample_rate, rng)[0] for _ in range(count)]
    noises = [read_audio(path, sample_rate) for path in index.background]
    noises = [n for n in noises if len(n) >= clip_samples]
    if not noises:
        return []
    clips = []
    for _ in range(count):
        recording = noises[rng.integers(len(noises))]
        start = rng.integers(len(recording) - clip_samples + 1)
        clips.append(recording[start : start + clip_samples] * rng.uniform(0, 1))
    return clips

"""Negative audio: hours of sound with no keyword in it, gathered offline from Debian packages.

Three kinds of source, each wholly in one split so that the test hours come from sources that
training never heard:

- recordings inside Debian main packages (game music, effects and ambiences, syllables spoken
  in other languages), fetched with ``apt-get download`` into a cache and unpacked with
  ``dpkg-deb -x`` (nothing is installed);
- General MIDI music composed here from the seed and rendered from a sample set of the
  instrument set (fluidsynth or timidity);
- text-to-speech passages of sentences from the ``fortunes`` package with no keyword in them.

Everything becomes 16 kHz mono FLAC under ``OUT/SPLIT/SOURCE/``; ``manifest.csv`` gives each
file's source, package, licence, kind, split and duration. Kept out, for independent checks:
the sound packages of asterisk, alsa-utils and ktuberling, pocketsphinx's test audio, festival's
slt HTS voice, any PyPI or npm voice.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from device.audio import AUDIO_SUFFIXES, AudioInputError, read_audio
from leaf_edge.data.engines import Voice, require_engine
from leaf_edge.data.folders import DataError
from leaf_edge.data.generated import build_atomically
from leaf_edge.data.instruments import SOUND_FONTS, Note, midi_file, render_midi, require_fonts
from leaf_edge.data.words import KEYWORDS

RATE = 16000
SPLITS = ("train", "validation", "test")
NAMED_KEYWORD = re.compile(r"(^|[^a-z])(" + "|".join(KEYWORDS) + r")([^a-z]|$)")


@dataclass(frozen=True)
class PackageSource:
    """Recordings inside a Debian package: files matching ``patterns`` under its unpacked tree."""

    name: str
    package: str
    kind: str  # music, effects, speech
    licence: str
    split: str
    patterns: tuple[str, ...]


PACKAGE_SOURCES = (
    PackageSource("warzone2100-music", "warzone2100-music", "music", "GPL-2+ / CC0", "train",
                  ("usr/share/games/warzone2100/music/**/*.opus",)),
    PackageSource("planetblupi-music", "planetblupi-music-ogg", "music", "GPL-3+", "train",
                  ("usr/share/planetblupi/music/*.ogg",)),
    PackageSource("wesnoth-music", "wesnoth-1.16-music", "music", "GPL-2+", "train",
                  ("usr/share/games/wesnoth/1.16/data/**/*.ogg",)),
    PackageSource("wordwarvi-sounds", "wordwarvi-sound", "effects", "GPL-2+ / CC-BY-SA", "train",
                  ("usr/share/wordwarvi/sounds/*.ogg",)),
    PackageSource("lincity-ng", "lincity-ng-data", "effects", "GPL-2+", "train",
                  ("usr/share/games/lincity-ng/music/**/*.ogg", "usr/share/games/lincity-ng/sounds/*.wav")),
    PackageSource("klettres-east", "klettres-data", "speech", "GPL-2+ / CC0", "train",
                  ("usr/share/klettres/ml/**/*.ogg", "usr/share/klettres/ru/**/*.ogg",
                   "usr/share/klettres/lt/**/*.ogg")),
    PackageSource("singularity-music", "singularity-music", "music", "CC (see the package)", "validation",
                  ("usr/share/games/singularity/music/**/*.ogg",)),
    PackageSource("colobot", "colobot-common-sounds", "music", "GPL-3+", "validation",
                  ("usr/share/games/colobot/music/*.ogg", "usr/share/games/colobot/sounds/*.wav")),
    PackageSource("lugaru", "lugaru-data", "effects", "CC-BY-SA / GPL-2+", "validation",
                  ("usr/share/games/lugaru/Sounds/*.ogg",)),
    PackageSource("klettres-west", "klettres-data", "speech", "GPL-2+ / CC0", "validation",
                  ("usr/share/klettres/es/**/*.ogg", "usr/share/klettres/it/**/*.ogg")),
    PackageSource("hedgewars-music", "hedgewars-data", "music", "GPL-2", "test",
                  ("usr/share/games/hedgewars/Data/Music/*.ogg",)),
    PackageSource("freedroidrpg", "freedroidrpg-data", "music", "GPL-2+ / CC0", "test",
                  ("usr/share/freedroidrpg/data/sound/music/*.ogg",
                   "usr/share/freedroidrpg/data/sound/effects/**/*.ogg")),
    PackageSource("hyperrogue-music", "hyperrogue-music", "music", "GPL-2+ / CC-BY-SA", "test",
                  ("usr/share/hyperrogue/music/*.ogg",)),
    PackageSource("supertux", "supertux-data", "music", "GPL-2+/3+, CC-BY-SA", "test",
                  ("usr/share/games/supertux2/music/**/*.ogg", "usr/share/games/supertux2/sounds/*.ogg")),
    PackageSource("klettres-uk-pt", "klettres-data", "speech", "GPL-2+ / CC0", "test",
                  ("usr/share/klettres/uk/**/*.ogg", "usr/share/klettres/pt_BR/**/*.ogg")),
)  # fmt: skip

# Generated sources: MIDI music from one sample set, passages from one TTS engine, per split.
MIDI_FONTS = {"train": ("fluidr3", "opl3", "freepats"), "validation": ("csound",), "test": ("timgm6mb",)}
TTS_VOICES = {
    "train": (Voice("espeak-ng", "en-us+m3", {"speed_wpm": 160, "pitch": 45}),
              Voice("espeak-ng", "en-gb+f3", {"speed_wpm": 150, "pitch": 65})),
    "validation": (Voice("flite", "awb", {"duration_stretch": 1.0, "f0_mean": 120.0}),),
    "test": (Voice("festival", "kal_diphone", {"duration_stretch": 1.0}),),
}  # fmt: skip
FORTUNES = Path("usr/share/games/fortunes")
SENTENCES_PER_PASSAGE = 40  # enough for a minute; the passage is cut at piece_seconds


@dataclass(frozen=True)
class NegativeSetConfig:
    """What to gather; the defaults make the set the stream figures are measured on."""

    seed: int = 0
    sources: tuple[str, ...] = tuple(s.name for s in PACKAGE_SOURCES)
    midi_minutes: dict = field(default_factory=lambda: {"train": 60, "validation": 15, "test": 15})
    tts_minutes: dict = field(default_factory=lambda: {"train": 60, "validation": 15, "test": 15})
    piece_seconds: float = 60.0  # one generated file


def fetch_package(package: str, cache: Path) -> Path:
    """The unpacked tree of ``package`` (downloaded with apt-get and unpacked once, in ``cache``)."""
    tree = cache / "unpacked" / package
    if (tree / ".complete").exists():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        done = subprocess.run(["apt-get", "download", package], cwd=cache, capture_output=True, text=True)
        debs = sorted(cache.glob(f"{package}_*.deb"))
        if done.returncode or not debs:
            reason = (done.stderr.strip().splitlines() or ["no .deb"])[-1]
            raise RuntimeError(f"apt-get download {package} failed ({reason})")
    tree.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(tree)], check=True, capture_output=True)
    (tree / ".complete").touch()
    return tree


def source_files(source: PackageSource, tree: Path) -> list[Path]:
    """The source's recordings, sorted; symbolic links and files named after a keyword are left out."""
    files = {
        p for pattern in source.patterns for p in tree.glob(pattern) if p.is_file() and not p.is_symlink()
    }
    return sorted(p for p in files if not NAMED_KEYWORD.search(p.stem.lower()))


def _to_flac(job) -> tuple[str, float] | None:
    """Decode, mix to mono, resample to 16 kHz and write FLAC; None for an unusable file."""
    source_path, out_path = job
    try:
        audio = read_audio(source_path, RATE)
    except AudioInputError:
        return None
    if len(audio) < RATE // 10 or np.abs(audio).max() < 1e-4:
        return None
    sf.write(out_path, np.clip(audio, -1, 1), RATE, subtype="PCM_16")
    return str(out_path), len(audio) / RATE


def compose_piece(rng: np.random.Generator, seconds: float) -> tuple[int, list[Note]]:
    """A melodic GM program and notes for ``seconds``: a melody over chords, random tempo and key."""
    program = int(rng.integers(0, 96))
    beat = 60 / rng.uniform(70, 150)
    key = int(rng.integers(48, 66))
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    notes, now, bar = [], 0.0, 0
    while now < seconds - 1:
        length = beat * float(rng.choice([0.5, 1, 1, 2]))
        pitches: tuple[int, ...] = (key + 12 + int(rng.choice(scale)),)
        if now >= bar * 4 * beat:  # a chord under the first note of each bar
            root = key + int(rng.choice([0, 5, 7, 9]))
            pitches = (root - 12, root - 8, root - 5, *pitches)
            bar += 1
        notes.append(Note(pitches, int(rng.integers(60, 118)), now, length * 0.9, 64))
        now += length
    return program, notes


def _midi_piece(job) -> tuple[str, float]:
    font_name, seed, seconds, out_path = job
    program, notes = compose_piece(np.random.default_rng(seed), seconds)
    midi = midi_file(program, notes, [0.0] * len(notes), seconds + 1.0)
    audio = render_midi(SOUND_FONTS[font_name], midi, 44100).mean(axis=1)
    audio = soxr.resample(audio, 44100, RATE)[: round(seconds * RATE)]
    audio = 0.5 * audio / max(1e-6, float(np.abs(audio).max()))
    sf.write(out_path, audio, RATE, subtype="PCM_16")
    return str(out_path), len(audio) / RATE


def fortune_sentences(tree: Path) -> list[str]:
    """Plain sentences of 5-25 words from the fortunes files, none holding a keyword."""
    sentences = set()
    for path in sorted((tree / FORTUNES).iterdir()):
        if path.suffix or not path.is_file():
            continue
        for fortune in path.read_text(encoding="latin-1").split("\n%\n"):
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(fortune.split())):
                words = {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)}
                if (5 <= len(sentence.split()) <= 25 and not words & set(KEYWORDS)
                        and re.fullmatch(r"[A-Za-z',.;:!? -]+", sentence)):  # fmt: skip
                    sentences.add(sentence)
    return sorted(sentences)


def _passage(job) -> tuple[str, float]:
    """Sentences spoken one after another (a short pause between) until ``seconds`` are filled."""
    voice, sentences, seconds, out_path = job
    pieces, total = [], 0
    for wave, rate in voice.render(sentences):
        wave = soxr.resample(wave, rate, RATE) if rate != RATE and len(wave) else wave
        if len(wave):
            pieces += [0.5 * wave / max(1e-6, float(np.abs(wave).max())), np.zeros(RATE // 3, np.float32)]
            total += len(wave) + RATE // 3
        if total >= seconds * RATE:
            break
    audio = np.concatenate(pieces)[: round(seconds * RATE)] if pieces else np.zeros(RATE, np.float32)
    sf.write(out_path, audio, RATE, subtype="PCM_16")
    return str(out_path), len(audio) / RATE


@dataclass
class Recording:
    path: str
    source: str
    package: str
    licence: str
    kind: str
    split: str
    seconds: float


def generate_negatives(out: str | os.PathLike, config: NegativeSetConfig, cache: Path,
                       workers: int | None = None, progress: bool = True) -> dict:  # fmt: skip
    """Gather the set into ``out`` (atomically: built beside it, then renamed)."""
    sources = [s for s in PACKAGE_SOURCES if s.name in config.sources]
    unknown = sorted(set(config.sources) - {s.name for s in PACKAGE_SOURCES})
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(s.name for s in PACKAGE_SOURCES)}")  # fmt: skip
    if any(config.midi_minutes.values()):
        require_fonts(sorted({f for fonts in MIDI_FONTS.values() for f in fonts}))
    for split, voices in TTS_VOICES.items():
        if config.tts_minutes.get(split):
            for voice in voices:
                require_engine(voice.engine)
    return build_atomically(out, lambda partial: _gather(partial, config, sources, cache, workers, progress))


def _gather(out: Path, config, sources, cache: Path, workers, progress) -> dict:
    started = time.monotonic()
    jobs, rows = [], []  # (function, job, row without duration)
    for source in sources:
        tree = fetch_package(source.package, cache)
        (out / source.split / source.name).mkdir(parents=True, exist_ok=True)
        for k, path in enumerate(source_files(source, tree)):
            target = out / source.split / source.name / f"{k:04d}-{path.stem[:40]}.flac"
            jobs.append((_to_flac, (str(path), str(target))))
            rows.append(
                Recording("", source.name, source.package, source.licence, source.kind, source.split, 0)
            )
    sentences: list[str] = []
    if any(config.tts_minutes.values()):
        sentences = fortune_sentences(fetch_package("fortunes", cache))
        sentences = [
            sentences[i] for i in np.random.default_rng([config.seed, 11]).permutation(len(sentences))
        ]
    said = 0  # sentences used so far: no sentence is spoken in two passages
    for split in SPLITS:
        fonts, voices = MIDI_FONTS[split], TTS_VOICES[split]
        pieces = round(config.midi_minutes.get(split, 0) * 60 / config.piece_seconds)
        if pieces:
            (out / split / "midi").mkdir(parents=True, exist_ok=True)
        for k in range(pieces):
            font = SOUND_FONTS[fonts[k % len(fonts)]]
            target = out / split / "midi" / f"{font.name}-{k:04d}.flac"
            jobs.append((_midi_piece, (font.name, [config.seed, 12, SPLITS.index(split), k],
                                       config.piece_seconds, str(target))))  # fmt: skip
            rows.append(Recording("", f"midi-{font.name}", font.package, font.licence, "music", split, 0))
        passages = round(config.tts_minutes.get(split, 0) * 60 / config.piece_seconds)
        if passages:
            (out / split / "speech").mkdir(parents=True, exist_ok=True)
        for k in range(passages):
            voice = voices[k % len(voices)]
            chosen, said = sentences[said : said + SENTENCES_PER_PASSAGE], said + SENTENCES_PER_PASSAGE
            target = out / split / "speech" / f"{voice.engine}-{k:04d}.flac"
            jobs.append((_passage, (voice, chosen, config.piece_seconds, str(target))))
            rows.append(Recording("", f"tts-{voice.engine}", f"{voice.engine}, fortunes", "BSD (text)",
                                  "speech", split, 0))  # fmt: skip
    kept = []
    workers = workers or len(os.sched_getaffinity(0))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.imap(_run, jobs, chunksize=1)
        for row, result in tqdm(zip(rows, results, strict=True), total=len(jobs), desc="files",
                                disable=not progress):  # fmt: skip
            if result is not None:
                path, seconds = result
                kept.append(replace(row, path=str(Path(path).relative_to(out)), seconds=round(seconds, 3)))
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(kept[0])) if kept else ["path"])
        writer.writeheader()
        writer.writerows(asdict(r) for r in kept)
    hours = {split: round(sum(r.seconds for r in kept if r.split == split) / 3600, 3) for split in SPLITS}
    summary = {
        "task": "negatives",
        "config": asdict(config),
        "seconds_to_gather": round(time.monotonic() - started, 1),
        "hours": hours,
        "hours_by_kind": {
            kind: round(sum(r.seconds for r in kept if r.kind == kind) / 3600, 3)
            for kind in sorted({r.kind for r in kept})
        },  # fmt: skip
        "sources": {
            name: {
                "split": rs[0].split,
                "package": rs[0].package,
                "licence": rs[0].licence,
                "kind": rs[0].kind,
                "files": len(rs),
                "hours": round(sum(r.seconds for r in rs) / 3600, 3),
            }
            for name in sorted({r.source for r in kept})
            for rs in [[r for r in kept if r.source == name]]
        },  # fmt: skip
        "skipped": len(jobs) - len(kept),
    }
    (out / "dataset.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _run(job):
    function, arguments = job
    return function(arguments)


def negative_files(folder: str | Path, split: str) -> list[Path]:
    """The recordings of ``folder`` in ``split`` (its manifest.csv's ``split`` column), or every
    audio file under it when it has no manifest."""
    folder = Path(folder)
    manifest = folder / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        if rows and "split" in rows[0]:
            files = [folder / row["path"] for row in rows if row["split"] == split]
            if not files:
                raise DataError(f"{manifest} lists no {split} recordings")
            return files
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no audio files")
    return files

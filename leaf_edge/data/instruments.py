"""The built-in instrument set: NSynth's 11 instrument families rendered from General MIDI fonts.

Each clip is one note or a chord of one General MIDI program (random pitch within the family's
range, velocity, length, pan), rendered at 44.1 kHz stereo from a sample set in Debian's main
archive: three sound fonts played by fluidsynth and the freepats patches played by timidity
(a second synthesizer as well as other samples). Clips of the training fonts are split 80/10/10
into train, validation and test; every clip of the unseen font (TimGM6mb by default) is in the
test split, so the test split measures both in-font accuracy and accuracy on a font no training
clip came from (``evaluate`` reports accuracy per font from ``manifest.csv``'s ``engine`` column)::

    OUT/bass/fluidr3-032-0007.flac ...   a folder per family
    OUT/_background_noise_/*.wav         quiet noise files for augmentation and background
    OUT/validation_list.txt, OUT/testing_list.txt
    OUT/manifest.csv                     font, program, notes, velocity, split of every clip
    OUT/dataset.json                     configuration, counts, dropped clips, licences

The MuseScore General fonts are never used: they are kept for an independent check.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from tqdm import tqdm

from device.contract import LeafEdgeError
from leaf_edge.data.generated import build_atomically, write_background_noise, write_manifest

SPLITS = ("train", "validation", "test")

# NSynth's families -> General MIDI programs (0-based) and the MIDI note range they are played in.
FAMILIES: dict[str, tuple[tuple[int, ...], tuple[int, int]]] = {
    "bass": (tuple(range(32, 40)), (28, 55)),
    "brass": (tuple(range(56, 64)), (40, 82)),
    "flute": (tuple(range(72, 80)), (60, 96)),
    "guitar": (tuple(range(24, 32)), (40, 84)),
    "keyboard": (tuple(range(0, 8)), (28, 100)),
    "mallet": (tuple(range(8, 16)), (60, 96)),
    "organ": (tuple(range(16, 21)), (36, 90)),
    "reed": ((21, 22, 23, *range(64, 72)), (45, 84)),
    "string": ((*range(40, 47), *range(48, 52)), (40, 88)),
    "synth_lead": (tuple(range(80, 88)), (48, 90)),
    "vocal": ((52, 53, 54), (48, 79)),
}


@dataclass(frozen=True)
class SoundFont:
    """A sample set and the synthesizer that plays it (``file``: an .sf2 for fluidsynth, a
    timidity configuration for timidity). ``programs``: the GM programs it defines, where it
    lacks some (a missing program would sound as another instrument: a wrong label)."""

    name: str
    package: str
    file: str
    licence: str
    renderer: str = "fluidsynth"
    programs: tuple[int, ...] | None = None


FREEPATS_PROGRAMS = (
    0, 1, 2, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 19, 21, 23, *range(24, 31), *range(32, 39), 40, 42,
    44, 45, 46, 48, 53, *range(56, 62), *range(64, 77), 79, 80, 84,
)  # fmt: skip  # the melodic programs /etc/timidity/freepats.cfg maps to a patch

SOUND_FONTS = {
    font.name: font
    for font in (
        SoundFont("fluidr3", "fluid-soundfont-gm", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "MIT"),
        SoundFont("opl3", "opl3-soundfont", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2", "GPL-3+"),
        SoundFont("csound", "csound-soundfont", "/usr/share/sounds/sf2/sf_GMbank.sf2", "LGPL-2.1+"),
        SoundFont(
            "freepats",
            "freepats",
            "/etc/timidity/freepats.cfg",
            "GPL-2+ (with a composition exception)",
            renderer="timidity",
            programs=FREEPATS_PROGRAMS,
        ),  # fmt: skip
        SoundFont("timgm6mb", "timgm6mb-soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2", "GPL-2"),
    )
}


@dataclass(frozen=True)
class InstrumentSetConfig:
    """What to generate. The defaults make the set the shipped instrument models train on."""

    clips_per_family: int = 150  # per sound font
    seed: int = 0
    train_fonts: tuple[str, ...] = ("fluidr3", "opl3", "csound", "freepats")
    unseen_fonts: tuple[str, ...] = ("timgm6mb",)
    validation_share: float = 0.1
    test_share: float = 0.1
    sample_rate: int = 44100
    clip_seconds: float = 2.0
    chord_share: float = 0.25
    background_seconds: float = 60.0


@dataclass
class Note:
    pitches: tuple[int, ...]
    velocity: int
    start: float  # seconds into the clip
    length: float  # seconds held
    pan: int


@dataclass
class Clip:
    path: str
    label: str
    engine: str  # the sound font (named "engine" like the keyword set's, for per-source reports)
    program: int
    pitches: str
    velocity: int
    seconds_held: float
    split: str


class FontMissing(LeafEdgeError):
    """fluidsynth or a sound font is not installed."""


def require_fonts(names) -> None:
    """Fail with the packages to install when fluidsynth or a font is missing."""
    unknown = [n for n in names if n not in SOUND_FONTS]
    if unknown:
        raise ValueError(f"unknown sound font(s) {', '.join(unknown)}; choose from {', '.join(SOUND_FONTS)}")
    fonts = [SOUND_FONTS[n] for n in names]
    renderers = sorted({font.renderer for font in fonts if shutil.which(font.renderer) is None})
    missing = renderers + [font.package for font in fonts if not Path(font.file).is_file()]
    if missing:
        raise FontMissing(f"install the Debian package(s) {' '.join(missing)} (apt-get install ...)")


def plan_notes(config: InstrumentSetConfig, rng: np.random.Generator, family: str) -> Note:
    """One clip's notes: a single note or a chord, with random pitch, velocity, timing and pan."""
    low, high = FAMILIES[family][1]
    root = int(rng.integers(low, high + 1))
    pitches = (root,)
    if rng.random() < config.chord_share:
        shape = [(0, 4, 7), (0, 3, 7), (0, 7), (0, 5), (0, 4, 7, 11)][rng.integers(5)]
        pitches = tuple(p for p in (root + step for step in shape) if p <= 108)
    start = float(rng.uniform(0.0, 0.25 * config.clip_seconds))
    length = float(rng.uniform(0.2, 0.8) * (config.clip_seconds - start))
    return Note(pitches, int(rng.integers(45, 128)), start, length, int(rng.integers(24, 104)))


def midi_file(program: int, notes: list[Note], offsets: list[float], end: float) -> mido.MidiFile:
    """One track of one program: note k starts at ``offsets[k] + notes[k].start`` seconds
    (120 bpm, 480 ticks a beat); the file lasts ``end`` seconds."""
    ticks_per_second = 960
    midi = mido.MidiFile(ticks_per_beat=480)
    events = []
    for note, offset in zip(notes, offsets, strict=True):
        on = round((offset + note.start) * ticks_per_second)
        off = round((offset + note.start + note.length) * ticks_per_second)
        events.append((on - 1, 0, mido.Message("control_change", control=10, value=note.pan)))
        for pitch in note.pitches:
            events.append((on, 1, mido.Message("note_on", note=pitch, velocity=note.velocity)))
            events.append((off, 0, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.Message("program_change", program=program, time=0)])
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=max(0, tick - now)))
        now = max(now, tick)
    track.append(mido.MetaMessage("end_of_track", time=max(0, round(end * ticks_per_second) - now)))
    midi.tracks.append(track)
    return midi


def _render_command(font: SoundFont, midi_path: Path, wav_path: Path, rate: int) -> list[str]:
    if font.renderer == "timidity":
        return ["timidity", "-c", font.file, "-Ow", "-s", str(rate), "-o", str(wav_path), str(midi_path)]
    return ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(rate), "-O", "float",
            "-F", str(wav_path), font.file, str(midi_path)]  # fmt: skip


def render_midi(font: SoundFont, midi: mido.MidiFile, rate: int) -> np.ndarray:
    """The MIDI file played by the font's synthesizer -> ``[samples, 2]`` float32 at ``rate``."""
    with tempfile.TemporaryDirectory(prefix="leaf-edge-midi-") as tmp:
        midi_path, wav_path = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        midi.save(midi_path)
        command = _render_command(font, midi_path, wav_path, rate)
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        audio, _ = sf.read(wav_path, dtype="float32", always_2d=True)
    return audio


def render_program(font: SoundFont, program: int, notes: list[Note], config: InstrumentSetConfig):
    """Render the notes (one slot each, a second of tail between) -> [clips, samples, 2] float32."""
    slot = config.clip_seconds + 1.0
    midi = midi_file(program, notes, [k * slot for k in range(len(notes))], len(notes) * slot)
    audio = render_midi(font, midi, config.sample_rate)
    slot_samples = round(slot * config.sample_rate)
    clip_samples = round(config.clip_seconds * config.sample_rate)
    audio = np.pad(audio, ((0, max(0, len(notes) * slot_samples - len(audio))), (0, 0)))
    return [audio[k * slot_samples : k * slot_samples + clip_samples] for k in range(len(notes))]


def _jobs(config: InstrumentSetConfig) -> list[tuple[str, str, int, list[tuple[int, Note, str]]]]:
    """(font, family, program, [(clip number, notes, split)]) for every program, from the seed."""
    jobs = []
    for f, font in enumerate(config.train_fonts + config.unseen_fonts):
        unseen = font in config.unseen_fonts
        for g, (family, (programs, _)) in enumerate(FAMILIES.items()):
            rng = np.random.default_rng([config.seed, f, g])
            order = rng.permutation(config.clips_per_family)
            n_test = round(config.clips_per_family * config.test_share)
            n_validation = round(config.clips_per_family * config.validation_share)
            defined = SOUND_FONTS[font].programs
            programs = tuple(p for p in programs if defined is None or p in defined)
            per_program: dict[int, list] = {p: [] for p in programs}
            for k in range(config.clips_per_family):
                position = int(order[k])
                split = (
                    "test" if unseen or position < n_test
                    else "validation" if position < n_test + n_validation
                    else "train"
                )  # fmt: skip
                per_program[programs[k % len(programs)]].append((k, plan_notes(config, rng, family), split))
            jobs.extend((font, family, p, clips) for p, clips in per_program.items() if clips)
    return jobs


def _render_job(args) -> tuple[list[Clip], list[tuple[str, str]]]:
    font_name, family, program, clips, config, out = args
    waves = render_program(SOUND_FONTS[font_name], program, [n for _, n, _ in clips], config)
    rng = np.random.default_rng([config.seed, 7, program, clips[0][0]])
    kept, dropped = [], []
    for (k, note, split), wave in zip(clips, waves, strict=True):
        name = f"{family}/{font_name}-{program:03d}-{k:04d}.flac"
        peak = float(np.abs(wave).max())
        if peak < 1e-4:
            dropped.append((name, "silent (the font has no sound for this program)"))
            continue
        level = 10 ** (rng.uniform(-20, -3) / 20)  # peak level -20..-3 dBFS: gain variety
        sf.write(out / name, wave * (level / peak), config.sample_rate, subtype="PCM_16")
        kept.append(Clip(name, family, font_name, program, " ".join(map(str, note.pitches)),
                         note.velocity, round(note.length, 3), split))  # fmt: skip
    return kept, dropped


def generate_instruments(
    out: str | os.PathLike, config: InstrumentSetConfig, workers: int | None = None, progress=True
) -> dict:
    """Generate the set into ``out`` (atomically: built beside it, then renamed)."""
    if set(config.train_fonts) & set(config.unseen_fonts):
        raise ValueError("a sound font cannot be both a training font and the unseen font")
    require_fonts(config.train_fonts + config.unseen_fonts)
    return build_atomically(out, lambda partial: _generate(partial, config, workers, progress))


def _generate(out: Path, config: InstrumentSetConfig, workers: int | None, progress: bool) -> dict:
    started = time.monotonic()
    for family in FAMILIES:
        (out / family).mkdir()
    jobs = [(*job, config, out) for job in _jobs(config)]
    clips, dropped = [], []
    workers = workers or len(os.sched_getaffinity(0))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.imap_unordered(_render_job, jobs)
        for kept, lost in tqdm(results, total=len(jobs), desc="programs", disable=not progress):
            clips.extend(kept)
            dropped.extend(lost)
    rng = np.random.default_rng([config.seed, 3])
    write_background_noise(out, config.background_seconds, config.sample_rate, rng)
    write_manifest(out, clips)
    fonts = config.train_fonts + config.unseen_fonts
    summary = {
        "task": "instruments",
        "config": asdict(config),
        "seconds_to_generate": round(time.monotonic() - started, 1),
        "clips": {split: sum(c.split == split for c in clips) for split in SPLITS},
        "labels": {family: sum(c.label == family for c in clips) for family in FAMILIES},
        "fonts": {
            name: {
                **asdict(SOUND_FONTS[name]),
                "clips": sum(c.engine == name for c in clips),
                "role": "unseen (test only)" if name in config.unseen_fonts else "train",
            }
            for name in fonts
        },  # fmt: skip
        "dropped": {"total": len(dropped), "first": [list(d) for d in sorted(dropped)[:20]]},
    }
    (out / "dataset.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary

"""The built-in keyword data set: Speech Commands' 12-label task spoken by TTS engines.

Hundreds of speakers (engine voice x accent x speed x pitch x vocal-tract scale, optionally
made new by WORLD resynthesis), each saying
the ten keywords and a few unknown words; every clip checked; speaker-disjoint splits;
Speech Commands layout::

    OUT/yes/3fa91c2e_nohash_0.wav ...   one folder per word (unknown words under their own)
    OUT/_silence_/...                   quiet noise clips
    OUT/_background_noise_/*.wav        long noise files for augmentation
    OUT/validation_list.txt, OUT/testing_list.txt
    OUT/manifest.csv                    engine, voice, settings, text, split of every clip
    OUT/dataset.json                    configuration, counts, dropped clips and why

The same seed gives the same data set on the same engine versions.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from device.contract import SILENCE, UNKNOWN
from leaf_edge.data import engines, noise
from leaf_edge.data.folders import DataError
from leaf_edge.data.generated import build_atomically, write_background_noise, write_manifest
from leaf_edge.data.resynthesis import Resynthesis, require_pyworld
from leaf_edge.data.vocabulary import common_words, near_misses, short_words
from leaf_edge.data.words import KEYWORDS, UNKNOWN_WORDS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class KeywordSetConfig:
    """What to generate. The defaults make the set the shipped model is trained on."""

    speakers: int = 800
    seed: int = 0
    engines: tuple[str, ...] = engines.ENGINES
    engine_shares: tuple[float, ...] = (0.5, 0.3, 0.2)
    accent_share: float = 0.0  # share of espeak-ng and festival speakers in another language's voice
    resynthesis_share: float = 0.0  # share of speakers made new by WORLD resynthesis (resynthesis.py)
    unknown_words_per_speaker: int = 2
    common_words: int = 0  # > 0: unknown words from the lexicons (leaf_edge.data.vocabulary)
    phrases_per_speaker: int = 0  # short phrases of common words, none a keyword (unknown too)
    silence_per_speaker: float = 1.2
    validation_share: float = 0.1
    test_share: float = 0.1
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    background_seconds: float = 60.0


@dataclass
class Speaker:
    """One synthetic speaker and the words it says."""

    speaker_id: str
    split: str
    voice: engines.Voice
    tract_scale: float  # resampling factor: >1 raises pitch and shortens, like a smaller vocal tract
    words: list[str]
    clip_seed: int
    resynthesis: Resynthesis | None = None


@dataclass
class Clip:
    path: str
    label: str
    text: str
    engine: str
    voice: str
    settings: str
    speaker: str
    split: str
    speech_seconds: float = 0.0


@dataclass
class SpeakerResult:
    clips: list[Clip] = field(default_factory=list)
    dropped: list[tuple[str, str, str]] = field(default_factory=list)  # (speaker, text, reason)


def _speaker_hash(seed: int, index: int) -> str:
    return hashlib.sha1(f"leaf-edge-{seed}-{index}".encode()).hexdigest()[:8]


def _split_for(position: int, count: int, config: KeywordSetConfig) -> str:
    """Exact shares within each engine: the first ones test, then validation, then train."""
    n_test = round(count * config.test_share)
    n_validation = round(count * config.validation_share)
    if position < n_test:
        return "test"
    if position < n_test + n_validation:
        return "validation"
    return "train"


def accent_draw(config: KeywordSetConfig, index: int) -> float:
    """Speaker ``index``'s uniform draw for an accent, from a stream of its own: turning accents
    on changes nothing else of any speaker, and those accented at a share are at a larger one."""
    return float(np.random.default_rng([config.seed, 4, index]).random())


def resynthesis_draw(config: KeywordSetConfig, index: int) -> Resynthesis | None:
    """Speaker ``index``'s WORLD changes, or None, from a stream of its own (as :func:`accent_draw`)."""
    rng = np.random.default_rng([config.seed, 5, index])
    chosen = rng.random() < config.resynthesis_share
    return Resynthesis.draw(rng) if chosen else None


def unknown_word_draw(config: KeywordSetConfig, rng: np.random.Generator) -> list[str]:
    """One speaker's unknown words: from Speech Commands' 37, or with ``common_words`` half
    from the keywords' near-misses and half from the most common words of festival's lexicons."""
    count = config.unknown_words_per_speaker
    if not config.common_words:
        return list(map(str, rng.choice(UNKNOWN_WORDS, count, replace=False)))
    close = rng.choice(near_misses(KEYWORDS), (count + 1) // 2, replace=False)
    common = rng.choice(common_words(KEYWORDS, config.common_words), count // 2, replace=False)
    return [*map(str, close), *map(str, common)]


PHRASE_WORDS = (2, 3)  # words a phrase, drawn uniformly
PHRASE_POOL = 300  # the most common short words (3 phones or fewer) phrases are made of


def phrase_draw(config: KeywordSetConfig, index: int) -> list[str]:
    """Speaker ``index``'s phrases, from a stream of its own (as :func:`accent_draw`): two or three
    of the most common short words that are not a keyword, do not sound like one and are not a
    near-miss."""
    if not config.phrases_per_speaker:
        return []  # and the lexicons need not be installed
    rng = np.random.default_rng([config.seed, 6, index])
    pool = short_words(KEYWORDS, PHRASE_POOL)
    lengths = rng.integers(PHRASE_WORDS[0], PHRASE_WORDS[1] + 1, config.phrases_per_speaker)
    return [" ".join(map(str, rng.choice(pool, n, replace=False))) for n in lengths]


def word_folder(text: str) -> str:
    """The folder of a word's clips; a phrase's words joined by ``-``."""
    return text.replace(" ", "-")


def check_unknown_words(config: KeywordSetConfig) -> None:
    """Refuse more unknown words a speaker than :func:`unknown_word_draw` has to draw from."""
    count = config.unknown_words_per_speaker
    if config.common_words:
        enough = (count + 1) // 2 <= len(near_misses(KEYWORDS)) and count // 2 <= config.common_words
    else:
        enough = count <= len(UNKNOWN_WORDS)
    if not enough:
        raise DataError(
            f"--unknown-per-speaker {count} is more than there are unknown words to draw from: "
            "give fewer, or more --common-words"
        )


def plan_speakers(config: KeywordSetConfig) -> list[Speaker]:
    """Draw every speaker (voice, settings, words, split) from the seed; no audio yet."""
    if len(config.engine_shares) != len(config.engines):
        raise ValueError("give one engine share per engine")
    shares = np.asarray(config.engine_shares, float) / sum(config.engine_shares)
    counts = np.floor(shares * config.speakers).astype(int)
    counts[0] += config.speakers - counts.sum()
    speakers, index = [], 0
    for engine, count in zip(config.engines, counts, strict=True):
        order = np.random.default_rng([config.seed, 1, index]).permutation(count)
        for position in range(count):
            rng = np.random.default_rng([config.seed, 2, index])
            accented = accent_draw(config, index) < config.accent_share
            voice = engines.sample_voice(engine, rng, accented)
            unknown = unknown_word_draw(config, rng)
            speakers.append(
                Speaker(
                    speaker_id=_speaker_hash(config.seed, index),
                    split=_split_for(int(order[position]), count, config),
                    voice=voice,
                    tract_scale=float(rng.uniform(0.9, 1.12)),
                    words=[*KEYWORDS, *unknown, *phrase_draw(config, index)],
                    clip_seed=int(rng.integers(2**31)),
                    resynthesis=resynthesis_draw(config, index),
                )
            )
            index += 1
    return speakers


def check_speech(audio: np.ndarray, rate: int, max_seconds: float) -> tuple[np.ndarray | None, str]:
    """Trim silence around speech and judge it: returns (trimmed, "ok") or (None, reason)."""
    if audio.size == 0 or np.abs(audio).max() < 1e-3:
        return None, "empty"
    if np.mean(np.abs(audio) >= 0.99) > 1e-3:
        return None, "clipped"
    frame = max(1, rate // 100)
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    energy = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() * 10 ** (-40 / 20))
    start, stop = loud[0] * frame, (loud[-1] + 1) * frame
    margin = rate // 50
    trimmed = audio[max(0, start - margin) : stop + margin]
    if (stop - start) / rate < 0.08:
        return None, "empty"
    if len(trimmed) / rate > max_seconds:
        return None, "too long for the clip"
    return trimmed, "ok"


def render_speaker(speaker: Speaker, config: KeywordSetConfig, out: Path) -> SpeakerResult:
    """Synthesise, check and write one speaker's clips."""
    result = SpeakerResult()
    rng = np.random.default_rng(speaker.clip_seed)
    clip_samples = int(round(config.sample_rate * config.clip_seconds))
    described = {**speaker.voice.settings, "tract_scale": round(speaker.tract_scale, 4)}
    if speaker.resynthesis:
        described["resynthesis"] = speaker.resynthesis.settings()
    settings = json.dumps(described)
    world_rng = np.random.default_rng([speaker.clip_seed, 1])  # the clips' offsets stay as without it
    for k, (word, (audio, rate)) in enumerate(
        zip(speaker.words, speaker.voice.render(speaker.words), strict=True)
    ):
        if audio.size and speaker.resynthesis:
            audio = speaker.resynthesis.apply(audio, rate, world_rng)
        if audio.size:
            audio = soxr.resample(audio, rate * speaker.tract_scale, config.sample_rate)
        trimmed, reason = check_speech(audio, config.sample_rate, 0.98 * config.clip_seconds)
        if trimmed is None:
            result.dropped.append((speaker.speaker_id, word, reason))
            continue
        clip = np.zeros(clip_samples, np.float32)
        offset = int(rng.integers(0, clip_samples - len(trimmed) + 1))
        clip[offset : offset + len(trimmed)] = 0.5 * trimmed / np.abs(trimmed).max()
        relative = f"{word_folder(word)}/{speaker.speaker_id}_nohash_{k}.wav"
        (out / word_folder(word)).mkdir(exist_ok=True)
        sf.write(out / relative, clip, config.sample_rate, subtype="PCM_16")
        result.clips.append(
            Clip(relative, word if word in KEYWORDS else UNKNOWN, word, speaker.voice.engine,
                 speaker.voice.name, settings, speaker.speaker_id, speaker.split,
                 round(len(trimmed) / config.sample_rate, 3))
        )  # fmt: skip
    return result


def _render_job(args) -> SpeakerResult:
    return render_speaker(*args)


def write_noise(config: KeywordSetConfig, out: Path, speech_counts: dict[str, int]) -> list[Clip]:
    """``_background_noise_`` files and ``_silence_`` clips, split like the speech."""
    rng = np.random.default_rng([config.seed, 3])
    write_background_noise(out, config.background_seconds, config.sample_rate, rng)
    (out / SILENCE).mkdir()
    clip_samples = int(round(config.sample_rate * config.clip_seconds))
    clips = []
    for split in SPLITS:
        speakers_in_split = speech_counts[split]
        for i in range(int(round(speakers_in_split * config.silence_per_speaker))):
            audio, info = noise.silence_clip(clip_samples, config.sample_rate, rng)
            source = f"noise-{split}-{i:05d}"
            relative = f"{SILENCE}/{source}_nohash_0.wav"
            sf.write(out / relative, audio, config.sample_rate, subtype="PCM_16")
            clips.append(Clip(relative, SILENCE, "", "noise", info["kind"], json.dumps(info), source, split))
    return clips


def generate_keywords(
    out: str | os.PathLike, config: KeywordSetConfig, workers: int | None = None, progress=True
) -> dict:
    """Generate the data set into ``out`` (atomically: built beside it, then renamed)."""
    for engine in config.engines:
        engines.require_engine(engine)
    if config.accent_share > 0 and "festival" in config.engines:
        engines.require_accent_voices()
    check_unknown_words(config)  # before OUT is started (and the lexicons are there)
    phrase_draw(config, 0)  # the lexicons phrases are drawn from, too
    if config.resynthesis_share > 0:
        require_pyworld()
    return build_atomically(out, lambda partial: _generate(partial, config, workers, progress))


def _generate(out: Path, config: KeywordSetConfig, workers: int | None, progress: bool) -> dict:
    started = time.monotonic()
    speakers = plan_speakers(config)
    workers = workers or len(os.sched_getaffinity(0))
    jobs = [(speaker, config, out) for speaker in speakers]
    clips, dropped = [], []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.imap(_render_job, jobs, chunksize=4)
        for result in tqdm(results, total=len(jobs), desc="speakers", unit="spk", disable=not progress):
            clips.extend(result.clips)
            dropped.extend(result.dropped)
    speech_counts = {split: sum(s.split == split for s in speakers) for split in SPLITS}
    clips.extend(write_noise(config, out, speech_counts))
    return _write_lists(out, config, clips, dropped, speakers, time.monotonic() - started)


def _write_lists(out, config, clips, dropped, speakers, seconds) -> dict:
    write_manifest(out, clips)
    reasons: dict[str, int] = {}
    for _, _, reason in dropped:
        reasons[reason] = reasons.get(reason, 0) + 1
    summary = {
        "config": asdict(config),
        "seconds_to_generate": round(seconds, 1),
        "speakers": {e: sum(s.voice.engine == e for s in speakers) for e in config.engines},
        "clips": {split: sum(c.split == split for c in clips) for split in SPLITS},
        "labels": {label: sum(c.label == label for c in clips) for label in sorted({c.label for c in clips})},
        "dropped": {"total": len(dropped), "by_reason": reasons, "first": [list(d) for d in dropped[:20]]},
    }
    (out / "dataset.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary

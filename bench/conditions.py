"""Accuracy in conditions the training never saw: babble, synthetic music, long reverberation.

    .venv/bin/python bench/conditions.py DATA MODEL.tflite... [--clips 1056]

Every model classifies the same test clips of DATA (its ``testing_list.txt``) clean and under:

* ``pink-10dB``, ``pink-0dB``: pink noise, a kind the training mixed in (for reference);
* ``babble-10dB``, ``babble-0dB``: four voices the data set does not draw (fixed espeak-ng and
  flite settings) reading sentences at once; training heard no speech-like noise;
* ``music-10dB``: chords of harmonic tones changing every 250 ms; training heard no music;
* ``hall-rt60-1.2s``: rooms of 15-25 m with 1.0-1.4 s of reverberation and the talker 4-8 m from
  the microphone; training rooms are at most 10 m with at most 0.8 s.

SNR is against the clip's power (speech and its pauses). Conditions are drawn with a fixed seed,
so every model meets the same audio. Prints JSON: accuracy per condition and model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device.runtime import ModelRunner  # noqa: E402
from leaf_edge.data.engines import Voice  # noqa: E402
from leaf_edge.data.folders import index_folder, load_split  # noqa: E402
from leaf_edge.data.noise import make_noise  # noqa: E402

RATE = 16000
BABBLE_VOICES = (
    Voice("espeak-ng", "en-us+f3", {"speed_wpm": 170, "pitch": 55}),
    Voice("espeak-ng", "en-gb-scotland+m2", {"speed_wpm": 150, "pitch": 40}),
    Voice("flite", "awb", {"duration_stretch": 0.95, "f0_mean": 110.0}),
    Voice("flite", "slt", {"duration_stretch": 1.05, "f0_mean": 185.0}),
)
SENTENCES = [
    "the weather will change again before the evening train arrives",
    "please remember to bring the blue folder to the meeting tomorrow",
    "a small boat drifted slowly past the harbour lights last night",
    "she counted the apples twice and wrote the number on the board",
]


def babble(samples: int) -> np.ndarray:
    """Four voices reading sentences at once, looped to ``samples``, unit RMS."""
    mix = np.zeros(samples, np.float32)
    for voice in BABBLE_VOICES:
        speech = np.concatenate([soxr.resample(w, r, RATE) for w, r in voice.render(SENTENCES)])
        speech = np.tile(speech, samples // len(speech) + 1)[:samples]
        mix += speech / (np.sqrt(np.mean(speech**2)) + 1e-9)
    return mix / np.sqrt(np.mean(mix**2))


def music(samples: int, rng: np.random.Generator) -> np.ndarray:
    """Chords of three harmonic tones (5 partials) changing every 250 ms, unit RMS."""
    step = RATE // 4
    t = np.arange(step) / RATE
    pieces = []
    for _ in range(-(-samples // step)):
        root = 110 * 2 ** (rng.integers(0, 24) / 12)
        chord = sum(
            sum(np.sin(2 * np.pi * root * ratio * k * t) / k for k in range(1, 6)) for ratio in (1, 1.26, 1.5)
        )
        pieces.append(chord * np.hanning(step))
    x = np.concatenate(pieces)[:samples]
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def hall_responses(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Impulse responses of large, reverberant rooms with a distant talker (direct path = 1)."""
    import pyroomacoustics as pra

    responses = []
    while len(responses) < count:
        size = rng.uniform([15.0, 10.0, 5.0], [25.0, 18.0, 9.0])
        try:
            absorption, max_order = pra.inverse_sabine(rng.uniform(1.0, 1.4), size)
        except ValueError:
            continue
        room = pra.ShoeBox(size, fs=RATE, materials=pra.Material(absorption), max_order=min(max_order, 20))
        source = rng.uniform(1.0, size - 1.0)
        direction = rng.normal(size=3)
        mic = source + direction / np.linalg.norm(direction) * rng.uniform(4.0, 8.0)
        if np.any(mic < 0.5) or np.any(mic > size - 0.5):
            continue
        room.add_source(source)
        room.add_microphone(mic)
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], np.float64)
        direct = int(np.argmax(np.abs(rir)))
        responses.append((rir[direct:] / rir[direct]).astype(np.float32))
    return responses


def at_snr(clips: np.ndarray, noise: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Each clip plus a random stretch of ``noise`` scaled to ``snr_db`` below the clip's power."""
    out = np.empty_like(clips)
    for i, clip in enumerate(clips):
        start = rng.integers(0, len(noise) - clip.shape[0])
        piece = noise[start : start + clip.shape[0]]
        power = np.mean(clip**2) + 1e-12
        out[i] = np.clip(clip + piece * np.sqrt(power / 10 ** (snr_db / 10)), -1, 1)
    return out


def conditions(clips: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    long = 60 * RATE
    pink, talk, chords = make_noise("pink", long, RATE, rng), babble(long), music(long, rng)
    halls = hall_responses(50, rng)
    reverberant = np.stack(
        [np.convolve(c, halls[i % len(halls)])[: len(c)] for i, c in enumerate(clips)]
    ).astype(np.float32)
    reverberant *= (np.abs(clips).max(axis=1) / (np.abs(reverberant).max(axis=1) + 1e-9))[:, None]
    return {
        "clean": clips,
        "pink-10dB": at_snr(clips, pink, 10, rng),
        "pink-0dB": at_snr(clips, pink, 0, rng),
        "babble-10dB": at_snr(clips, talk, 10, rng),
        "babble-0dB": at_snr(clips, talk, 0, rng),
        "music-10dB": at_snr(clips, chords, 10, rng),
        "hall-rt60-1.2s": reverberant,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--clips", type=int, default=1056)
    args = parser.parse_args()
    test = load_split(index_folder(args.data), "test", RATE, RATE, 0)
    clips, labels = test.waves[: args.clips], test.labels[: args.clips]
    results = {}
    for name, audio in conditions(clips).items():
        results[name] = {}
        for model in args.models:
            scores = ModelRunner(model.read_bytes()).scores(audio)
            results[name][model.name] = round(float(np.mean(scores.argmax(1) == labels)), 4)
    print(json.dumps({"clips": len(clips), "accuracy": results}, indent=2))


if __name__ == "__main__":
    main()

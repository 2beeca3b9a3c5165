"""Test speech made offline: keywords spoken by a text-to-speech voice, with gaps and light noise.

The voice and its settings are fixed here, not drawn like the built-in data set's speakers, so the
recordings are speech the shipped model did not train on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from leaf_edge.data.engines import Voice

RATE = 16000
TEST_VOICES = (
    Voice("espeak-ng", "en-us+m3", {"speed_wpm": 150, "pitch": 45}),
    Voice("espeak-ng", "en-gb+f2", {"speed_wpm": 165, "pitch": 60}),
)
# Fixed voices of all three engines (the data set draws its speakers at random).
ENGINE_VOICES = (
    *TEST_VOICES,
    Voice("espeak-ng", "en-029+m1", {"speed_wpm": 140, "pitch": 35}),
    Voice("flite", "slt", {"duration_stretch": 1.1, "f0_mean": 190.0}),
    Voice("festival", "ked_diphone", {"duration_stretch": 1.05}),
)


def spoken_words(words: list[str], voice: Voice = TEST_VOICES[0]) -> list[np.ndarray]:
    """Each word as a 16 kHz float waveform."""
    return [soxr.resample(wave, rate, RATE).astype(np.float32) for wave, rate in voice.render(words)]


def recording(words: list[str], gap_seconds: float = 1.2, snr_db: float = 30.0, seed: int = 0,
              voice: Voice = TEST_VOICES[0]) -> tuple[np.ndarray, list[float]]:  # fmt: skip
    """Words separated by ``gap_seconds`` of quiet noise; returns the waveform and each word's end time."""
    rng = np.random.default_rng(seed)
    pieces, ends, position = [np.zeros(int(0.5 * RATE), np.float32)], [], 0.5
    for wave in spoken_words(words, voice):
        wave = 0.5 * wave / max(1e-6, float(np.abs(wave).max()))
        pieces += [wave, np.zeros(int(gap_seconds * RATE), np.float32)]
        position += len(wave) / RATE
        ends.append(round(position, 3))
        position += gap_seconds
    audio = np.concatenate(pieces)
    speech_power = float(np.mean(np.concatenate(pieces[1::2]) ** 2))
    audio += rng.normal(0, np.sqrt(speech_power / 10 ** (snr_db / 10)), len(audio)).astype(np.float32)
    return np.clip(audio, -1, 1), ends


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    """16-bit PCM, what the virtual microphone plays losslessly."""
    sf.write(path, audio, rate, subtype="PCM_16")
    return path

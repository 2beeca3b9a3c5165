"""Make the recording `make demo` classifies: spoken keywords and two other words, with fan noise.

Spoken by espeak-ng (GPL-3; its output audio is free to ship), a voice setting the data set does
not draw, so the demo shows speech the model never heard. Deterministic.

    python scripts/make_demo_recording.py models/demo-keywords.wav
"""

from __future__ import annotations

import sys

import numpy as np
import soundfile as sf
import soxr

from leaf_edge.data.engines import Voice
from leaf_edge.data.noise import make_noise

RATE = 16000
PHRASES = ["Okay.", "Yes!", "Left.", "Stop.", "Then.", "Up.", "No.", "Right.", "Go!", "Down.", "Off."]
VOICE = Voice("espeak-ng", "en-us+m3", {"speed_wpm": 140, "pitch": 45})
GAP_SECONDS = 0.7
SNR_DB = 20.0


def make_recording(seed: int = 0) -> np.ndarray:
    """The phrases with pauses between them, plus fan noise at ``SNR_DB``; 16 kHz float32."""
    rng = np.random.default_rng(seed)
    pieces = [np.zeros(int(0.5 * RATE), np.float32)]
    for wave, rate in VOICE.render(PHRASES):
        wave = soxr.resample(wave, rate, RATE).astype(np.float32)
        pieces += [0.5 * wave / np.abs(wave).max(), np.zeros(int(GAP_SECONDS * RATE), np.float32)]
    pieces.append(np.zeros(int(0.5 * RATE), np.float32))
    speech = np.concatenate(pieces)
    power = float(np.mean(np.concatenate(pieces[1:-1:2]) ** 2))
    noise = make_noise("fan", len(speech), RATE, rng) * np.sqrt(power / 10 ** (SNR_DB / 10))
    return np.clip(speech + noise, -1, 1)


if __name__ == "__main__":
    sf.write(sys.argv[1], make_recording(), RATE, subtype="PCM_16")

"""Noise made from numbers: background noise files and ``_silence_`` clips.

Colours of noise (white, pink, brown), mains hum with harmonics, and a fan-like rumble with a
blade tone: the kinds of sound a keyword spotter must learn to call silence.
"""

from __future__ import annotations

import numpy as np

NOISE_KINDS = ("white", "pink", "brown", "hum", "fan")


def _coloured(rng: np.random.Generator, samples: int, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f^exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
    return np.fft.irfft(spectrum / freqs ** (exponent / 2), n=samples)


def make_noise(kind: str, samples: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` of noise of a kind in :data:`NOISE_KINDS`, at unit RMS, float32."""
    t = np.arange(samples) / sample_rate
    if kind == "white":
        x = rng.standard_normal(samples)
    elif kind == "pink":
        x = _coloured(rng, samples, 1.0)
    elif kind == "brown":
        x = _coloured(rng, samples, 2.0)
    elif kind == "hum":
        mains = rng.choice([50.0, 60.0])
        x = sum(
            rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 8)
        )
        x = x / np.sqrt(np.mean(x**2)) + 0.05 * rng.standard_normal(samples)
    elif kind == "fan":
        blade = rng.uniform(80, 400)
        x = _coloured(rng, samples, 1.5)
        x = x / np.sqrt(np.mean(x**2)) + 0.3 * np.sin(2 * np.pi * blade * t)
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def silence_clip(samples: int, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One ``_silence_`` clip: quiet noise of a random kind and level (sometimes digital zero)."""
    if rng.random() < 0.05:
        return np.zeros(samples, np.float32), {"kind": "zero", "rms_dbfs": None}
    kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
    level_db = float(rng.uniform(-70, -25))
    clip = make_noise(kind, samples, sample_rate, rng) * 10 ** (level_db / 20)
    return clip.astype(np.float32), {"kind": kind, "rms_dbfs": round(level_db, 1)}

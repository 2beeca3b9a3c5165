"""New speakers from old voices: WORLD analysis and resynthesis (pyworld).

A TTS voice speaks with its engine's pitch rules and vocal tract. WORLD splits a clip into a
pitch track, a spectral envelope and an aperiodicity; changing each apart gives a speaker the
engines never made: a natural pitch contour (range, slow movement, declination), jitter and
shimmer, breathiness, formants moved without moving the pitch, and a spectral tilt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from leaf_edge.data.folders import DataError

FRAME_MS = 5.0  # WORLD's analysis step
TILT_REFERENCE_HZ = 500.0  # the tilt turns the envelope around this frequency...
TILT_FLOOR_HZ = 200.0  # ...and leaves the band below this as it is at this


def require_pyworld() -> None:
    """A one-line error if pyworld (WORLD's Python binding, built from source) is missing."""
    try:
        import pyworld  # noqa: F401
    except ImportError:
        raise DataError("resynthesis needs pyworld: pip install pyworld (it builds with g++)") from None


@dataclass(frozen=True)
class Resynthesis:
    """One new speaker's changes to a voice; :meth:`draw` picks them, :meth:`apply` makes them."""

    pitch_scale: float  # mean pitch multiplied by this
    pitch_range: float  # excursions around the mean (in log pitch) multiplied by this
    contour_depth: float  # a slow random pitch movement and a declination, in log pitch
    jitter: float  # frame-to-frame pitch perturbation, relative
    shimmer: float  # frame-to-frame amplitude perturbation, relative
    breathiness: float  # share of the periodic part turned to noise
    formant_scale: float  # the envelope's frequency axis stretched by this (formants up when > 1)
    tilt_db_per_octave: float  # added slope of the envelope around 500 Hz

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Resynthesis:
        """A speaker's changes: pitch 0.75-1.35x, range 0.6-1.8x, formants 0.88-1.14x, up to 2 %
        jitter, 8 % shimmer, 40 % breathiness, a tilt of -3 to +2 dB an octave (turning around
        500 Hz, flat below 200 Hz)."""
        return cls(
            pitch_scale=float(np.exp(rng.uniform(np.log(0.75), np.log(1.35)))),
            pitch_range=float(rng.uniform(0.6, 1.8)),
            contour_depth=float(rng.uniform(0.0, 0.15)),
            jitter=float(rng.uniform(0.0, 0.02)),
            shimmer=float(rng.uniform(0.0, 0.08)),
            breathiness=float(rng.uniform(0.0, 0.4)),
            formant_scale=float(np.exp(rng.uniform(np.log(0.88), np.log(1.14)))),
            tilt_db_per_octave=float(rng.uniform(-3.0, 2.0)),
        )

    def settings(self) -> dict:
        return {name: round(value, 4) for name, value in asdict(self).items()}

    def apply(self, audio: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        """The clip said by this speaker, at the same rate and peak level."""
        import pyworld

        x = np.ascontiguousarray(audio, np.float64)
        f0, envelope, aperiodicity = pyworld.wav2world(x, rate, frame_period=FRAME_MS)
        frames = len(f0)
        f0 = self._pitch(f0, rng)
        envelope = self._envelope(envelope, rate) * self._shimmer(frames, rng)[:, None]
        aperiodicity = aperiodicity + self.breathiness * (1.0 - aperiodicity)
        y = pyworld.synthesize(f0, envelope, np.clip(aperiodicity, 0.0, 1.0), rate, frame_period=FRAME_MS)
        y = y[: len(x)]
        peak = np.abs(y).max()
        return (y * (np.abs(x).max() / peak) if peak > 0 else y).astype(np.float32)

    def _pitch(self, f0: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        voiced = f0 > 0
        if not voiced.any():
            return f0
        log_f0 = np.log(f0[voiced])
        mean = log_f0.mean()
        seconds = np.arange(len(f0)) * FRAME_MS / 1000
        slow = np.sin(2 * np.pi * rng.uniform(1.0, 4.0) * seconds + rng.uniform(0, 2 * np.pi))
        declination = 0.5 - seconds / max(seconds[-1], 1e-3)  # falls across the clip
        contour = self.contour_depth * (slow + declination)
        jitter = self.jitter * rng.standard_normal(len(f0))
        shaped = mean + np.log(self.pitch_scale) + self.pitch_range * (log_f0 - mean)
        out = np.zeros_like(f0)
        out[voiced] = np.exp(shaped + contour[voiced] + jitter[voiced])
        return out

    def _envelope(self, envelope: np.ndarray, rate: int) -> np.ndarray:
        bins = envelope.shape[1]
        freqs = np.linspace(0, rate / 2, bins)
        # A formant at f moves to f * formant_scale: read the old envelope at f / formant_scale.
        source = np.clip(freqs / self.formant_scale, 0, rate / 2)
        log_envelope = np.log(np.maximum(envelope, 1e-16))
        warped = np.stack([np.interp(source, freqs, row) for row in log_envelope])
        octaves = np.log2(np.maximum(freqs, TILT_FLOOR_HZ) / TILT_REFERENCE_HZ)
        tilt = self.tilt_db_per_octave * octaves * np.log(10) / 10  # dB on power -> natural log
        return np.exp(warped + tilt)

    def _shimmer(self, frames: int, rng: np.random.Generator) -> np.ndarray:
        amplitude = np.maximum(1.0 + self.shimmer * rng.standard_normal(frames), 0.1)
        return amplitude**2  # the envelope is a power spectrum

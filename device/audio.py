"""Audio in for the device: any sample type, channel count and rate -> mono float32 at the model's rate.

Files are read in blocks (soundfile), so an hour-long recording never sits in memory; rates are
converted with soxr's streaming resampler, so a file and a microphone take the same path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soxr

from device.contract import LeafEdgeError

AUDIO_SUFFIXES = {".wav", ".flac"}  # what a folder of audio is searched for
MIN_RATE, MAX_RATE = 1000, 384000  # sample rates outside these are damaged headers, not audio
MAX_CHANNELS = 64  # more "channels" than this: an array passed as [channels, samples]
FLOAT_LIMIT = 4.0  # float samples beyond 12 dB over full scale are not [-1, 1] audio


class AudioInputError(LeafEdgeError):
    """Audio that cannot be classified; the message says why."""


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Centre-crop or zero-pad (evenly on both sides) to exactly ``samples``."""
    if len(audio) >= samples:
        start = (len(audio) - samples) // 2
        return audio[start : start + samples]
    left = (samples - len(audio)) // 2
    return np.pad(audio, (left, samples - len(audio) - left))


def to_mono_float(samples: np.ndarray) -> np.ndarray:
    """``[T]`` or ``[T, channels]`` samples of any numeric type -> mono float32 in [-1, 1].

    Integer samples are scaled by their type's full range; channels are averaged.

    >>> to_mono_float(np.array([[16384, -16384], [32767, 32767]], np.int16)).round(3).tolist()
    [0.0, 1.0]
    """
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise AudioInputError(f"audio must be [samples] or [samples, channels], not shape {samples.shape}")
    if samples.ndim == 2 and samples.shape[1] > MAX_CHANNELS:
        raise AudioInputError(
            f"audio of shape {samples.shape} would be {samples.shape[1]} channels: pass "
            "[samples, channels] (the transpose of a [channels, samples] array)"
        )
    if np.issubdtype(samples.dtype, np.unsignedinteger):  # e.g. 8-bit WAV: silence is 128
        half = (np.iinfo(samples.dtype).max + 1) / 2
        samples = (samples.astype(np.float32) - half) / half
    elif np.issubdtype(samples.dtype, np.signedinteger):
        samples = samples.astype(np.float32) / -np.iinfo(samples.dtype).min
    elif not np.issubdtype(samples.dtype, np.floating):
        raise AudioInputError(f"audio samples must be numbers, not {samples.dtype}")
    samples = samples.astype(np.float32, copy=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    check_samples(samples)
    return samples


def check_samples(samples: np.ndarray) -> None:
    """Refuse float audio that is not audio in [-1, 1]: NaN, infinity, or far beyond full scale."""
    if not np.all(np.isfinite(samples)):
        raise AudioInputError("audio contains NaN or infinite samples")
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > FLOAT_LIMIT:
        raise AudioInputError(
            f"float audio reaches {peak:.3g}, far outside [-1, 1]: scale it to [-1, 1] first"
        )


def check_rate(rate: int, source: str = "the audio") -> None:
    """Refuse a rate no audio has (a damaged header, a typo): it would cost minutes to resample."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioInputError(f"{source}: a sample rate of {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")


class Resampler:
    """Streaming rate conversion; chunks in, chunks out, no clicks at chunk borders."""

    def __init__(self, rate_in: int, rate_out: int):
        check_rate(rate_in)
        self.passthrough = rate_in == rate_out
        self._stream = (
            None if self.passthrough else soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")
        )

    def __call__(self, chunk: np.ndarray, last: bool = False) -> np.ndarray:
        if self.passthrough:
            return chunk
        return self._stream.resample_chunk(chunk, last=last)


def resampled(chunks: Iterable[np.ndarray], rate_in: int, rate_out: int) -> Iterator[np.ndarray]:
    """Mono float32 chunks at ``rate_out`` from chunks of any type, channels and ``rate_in``."""
    resampler = Resampler(rate_in, rate_out)
    for chunk in chunks:
        out = resampler(to_mono_float(chunk))
        if len(out):
            yield out
    tail = resampler(np.zeros(0, np.float32), last=True)
    if len(tail):
        yield tail


def file_info(path: Path):
    """soundfile's description of an audio file, or a one-line error for anything that is not one."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        reason = str(error).split(":")[-1].strip() or "unreadable"
        raise AudioInputError(f"{path}: not an audio file ({reason})") from None
    if info.frames == 0:
        raise AudioInputError(f"{path}: the audio file is empty")
    check_rate(info.samplerate, str(path))
    return info


def header_seconds(info) -> float:
    """How long the file says it is: libsndfile clamps a WAV's frames to the bytes there, and
    notes a data chunk declared longer ("data : 128000 (should be 63978)") in its extra info."""
    declared = re.search(r"^data\s*:\s*(\d+)\s*\(should be \d+\)", info.extra_info, re.M)
    per_second = re.search(r"^\s*Bytes/sec\s*:\s*(\d+)", info.extra_info, re.M)
    seconds = info.frames / info.samplerate
    if declared and per_second and int(per_second.group(1)):
        seconds = max(seconds, int(declared.group(1)) / int(per_second.group(1)))
    return seconds


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """A whole file (a clip) as mono float32 at ``sample_rate``: any format libsndfile reads, any
    rate and depth. Long recordings go through :func:`file_blocks` instead."""
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioInputError(f"not readable as audio ({error})") from None
    if audio.size == 0:
        raise AudioInputError("no samples")
    check_rate(rate)
    audio = audio.mean(axis=1)
    check_samples(audio)
    if rate != sample_rate:
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    return audio


def file_blocks(path: Path, seconds: float = 10.0):
    """``(soundfile info, blocks)`` of a file read ``seconds`` at a time (bounded memory)."""
    import soundfile as sf

    info = file_info(path)

    def blocks() -> Iterator[np.ndarray]:
        try:
            yield from sf.blocks(str(path), blocksize=max(1, int(seconds * info.samplerate)), dtype="float32")
        except (sf.LibsndfileError, RuntimeError) as error:
            raise AudioInputError(f"{path}: the audio file is damaged or truncated ({error})") from None

    return info, blocks()

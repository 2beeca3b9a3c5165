"""AudioSpec: the sample rate, clip length and frame grid that a model is built for."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

NYQUIST_SHARE = 0.975  # the default top of the filterbank, as a share of half the sample rate
MAX_CLIP_SECONDS = 10.0
MAX_FRAMES = 1000  # what the classifier reads per clip: 10 s at the default 10 ms stride


@dataclass(frozen=True)
class AudioSpec:
    """Where the audio comes from and how it is framed.

    The window and stride follow LEAF's conventions: a window of ``window_ms`` gives
    ``int(sample_rate * window_ms // 1000 + 1)`` taps (401 at 16 kHz, 25 ms) and a stride
    of ``stride_ms`` gives ``int(sample_rate * stride_ms // 1000)`` samples (160).

    >>> spec = AudioSpec()
    >>> spec.window_size, spec.stride, spec.clip_samples, spec.n_frames
    (401, 160, 16000, 100)
    """

    sample_rate: int = 16000
    clip_seconds: float = 1.0
    n_filters: int = 40
    window_ms: float = 25.0
    stride_ms: float = 10.0
    min_freq: float = 60.0
    max_freq: float | None = None  # None: 97.5 % of Nyquist (LEAF's 7800 Hz at 16 kHz)

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.clip_seconds <= 0 or self.n_filters <= 0:
            raise ValueError("--sample-rate, --clip-seconds and --n-filters must be positive")
        if self.clip_seconds > MAX_CLIP_SECONDS:
            raise ValueError(f"--clip-seconds {self.clip_seconds:g} is over the {MAX_CLIP_SECONDS:g} s limit")
        if self.max_freq is None:
            object.__setattr__(self, "max_freq", NYQUIST_SHARE * self.sample_rate / 2)
        if not 0 <= self.min_freq < self.max_freq <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= --min-freq < --max-freq <= half the --sample-rate, got "
                f"{self.min_freq:g} and {self.max_freq:g} Hz at {self.sample_rate} Hz"
            )
        if self.stride < 1 or self.window_size < self.stride:
            raise ValueError("--window-ms must be at least one --stride-ms long, and the stride one sample")
        if self.n_frames > MAX_FRAMES:
            raise ValueError(
                f"{self.n_frames} frames a clip is over the {MAX_FRAMES}-frame budget: "
                "raise --stride-ms or shorten --clip-seconds"
            )

    @property
    def window_size(self) -> int:
        return int(self.sample_rate * self.window_ms // 1000 + 1)

    @property
    def stride(self) -> int:
        return int(self.sample_rate * self.stride_ms // 1000)

    @property
    def clip_samples(self) -> int:
        return int(round(self.sample_rate * self.clip_seconds))

    @property
    def n_frames(self) -> int:
        return math.ceil(self.clip_samples / self.stride)

    def to_dict(self) -> dict:
        return asdict(self)

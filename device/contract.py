"""The contract between training, conversion and the device: what a leaf-edge .tflite holds.

One small module, no TensorFlow: the converter writes every name below and the device reads
them, so a name is changed in one place. It holds the audio spec a model is built for, the
names of the file's members, signatures, tensors and scopes, the labels that never fire, the
task kinds with their detection defaults, and the base class of the project's user errors.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


class LeafEdgeError(ValueError):
    """A failure that is the user's to fix (bad data, option, file): one line, exit status 1."""


# The file: the standard TFLite metadata buffer, and a zip archive appended to the flatbuffer.
METADATA_BUFFER_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
LABELS_FILE = "labels.txt"  # one label per output score
LEAF_EDGE_FILE = "leaf_edge.json"  # the leaf-edge entry
STREAM_FILE = "stream.tflite.gz"  # the streaming model, its shared weights left out (device.streaming)
STREAM_ALIGNMENT = 16  # bytes: where each shared weight buffer starts in the rebuilt streaming model
LEAF_EDGE_FORMAT = 1

# Tensors and scopes. The window model: waveform in, scores out; the streaming model's one
# signature: a hop of audio in (and its state), scores out.
WAVEFORM_INPUT = "audio"
SCORES_OUTPUT = "scores"
HOP_INPUT = "hop"
STREAM_STATES = ("audio", "frames")  # the streaming model's state: past audio, past frames
FOLDED_LEAF_SCOPE = "folded_leaf"
FOLDED_MEL_SCOPE = "folded_mel"
FRONTEND_SCOPES = (FOLDED_LEAF_SCOPE, FOLDED_MEL_SCOPE)  # kept in float by int8, read by the pictures

# Labels that never fire an event.
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND_LABELS = (SILENCE, UNKNOWN)

# Task kinds and their detection defaults, stored in the metadata (see DetectionSettings).
TASKS = ("keywords", "events", "scenes")


def task_of(labels) -> str:
    """The task kind a label set suggests: keywords when it has an unknown-word class, else events."""
    return "keywords" if UNKNOWN in labels else "events"


def detection_defaults(task: str, clip_seconds: float) -> dict:
    """Recommended detection settings per task kind.

    keywords: short words in a 1 s window (hop 0.25 s, two of three smoothed windows, one event
    per second). events (alarms, birds, knocks): sounds shorter than the clip, caught in any of
    four hops per clip, one event per clip length. scenes (instruments, machines, places):
    a state that lasts, so half-clip hops, a longer average and three windows in a row.
    """
    if task == "keywords":
        return {"hop_seconds": 0.25, "smoothing_windows": 3, "threshold": 0.6, "min_count": 2,
                "suppression_seconds": 1.0}  # fmt: skip
    if task == "events":
        return {"hop_seconds": clip_seconds / 4, "smoothing_windows": 2, "threshold": 0.5,
                "min_count": 1, "suppression_seconds": clip_seconds}  # fmt: skip
    if task == "scenes":
        return {"hop_seconds": clip_seconds / 2, "smoothing_windows": 4, "threshold": 0.5,
                "min_count": 3, "suppression_seconds": 2 * clip_seconds}  # fmt: skip
    raise LeafEdgeError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


NYQUIST_SHARE = 0.975  # the default top of the filterbank, as a share of half the sample rate
MAX_CLIP_SECONDS = 10.0
MAX_FRAMES = 1000  # what the classifier reads per clip: 10 s at the default 10 ms stride


@dataclass(frozen=True)
class AudioSpec:
    """Where the audio comes from and how it is framed: what a model is built for.

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
            raise LeafEdgeError("--sample-rate, --clip-seconds and --n-filters must be positive")
        if self.clip_seconds > MAX_CLIP_SECONDS:
            raise LeafEdgeError(
                f"--clip-seconds {self.clip_seconds:g} is over the {MAX_CLIP_SECONDS:g} s limit"
            )
        if self.max_freq is None:
            object.__setattr__(self, "max_freq", NYQUIST_SHARE * self.sample_rate / 2)
        if not 0 <= self.min_freq < self.max_freq <= self.sample_rate / 2:
            raise LeafEdgeError(
                f"need 0 <= --min-freq < --max-freq <= half the --sample-rate, got "
                f"{self.min_freq:g} and {self.max_freq:g} Hz at {self.sample_rate} Hz"
            )
        if self.stride < 1 or self.window_size < self.stride:
            raise LeafEdgeError(
                "--window-ms must be at least one --stride-ms long, and the stride one sample"
            )
        if self.n_frames > MAX_FRAMES:
            raise LeafEdgeError(
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

"""The contract between training, conversion and the device: what a leaf-edge .tflite holds.

One small module, no TensorFlow: the converter writes every name below and the device reads
them, so a name is changed in one place. It holds the audio spec a model is built for, the
names of the file's members, signatures, tensors and scopes, the labels that never fire, the
task kinds with their detection settings and defaults, the leaf-edge entry's schema with its
validation, and the base class of the project's user errors.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field


class LeafEdgeError(ValueError):
    """A failure that is the user's to fix (bad data, option, file): one line, exit status 1."""


# The file: the standard TFLite metadata buffer, and a zip archive appended to the flatbuffer.
METADATA_BUFFER_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
LABELS_FILE = "labels.txt"  # one label per output score
LEAF_EDGE_FILE = "leaf_edge.json"  # the leaf-edge entry
STREAM_FILE = "stream.tflite.gz"  # the streaming model, its shared weights left out (device.streaming)
STREAM_ALIGNMENT = 16  # bytes: where each shared weight buffer starts in the rebuilt streaming model
# 2: the whole AudioSpec in the entry's "audio". 1 (still read, see upgraded_entry): the sample
# rate and clip length there, the framing in "frontend".
LEAF_EDGE_FORMAT = 2
INTEGRITY = "integrity"  # the entry's SHA-256 record of the flatbuffer and the other members

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


MIN_HOP_SECONDS = 0.01  # one stride: a shorter hop repeats windows and only costs time
MAX_SECONDS = 3600.0  # hops and suppression beyond an hour are mistakes
MAX_WINDOWS = 1000


@dataclass(frozen=True)
class DetectionSettings:
    """How windows are taken and turned into events; defaults come from the model's metadata."""

    hop_seconds: float = 0.25
    smoothing_windows: int = 3
    threshold: float = 0.6
    min_count: int = 2
    suppression_seconds: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)  # per label; others use ``threshold``

    def __post_init__(self) -> None:
        if not MIN_HOP_SECONDS <= self.hop_seconds <= MAX_SECONDS:  # also refuses NaN
            raise LeafEdgeError(f"the hop must be {MIN_HOP_SECONDS:g} to {MAX_SECONDS:g} seconds")
        if not (1 <= self.smoothing_windows <= MAX_WINDOWS and 1 <= self.min_count <= MAX_WINDOWS):
            raise LeafEdgeError(f"smoothing windows and minimum count must be 1 to {MAX_WINDOWS}")
        if not 0 <= self.threshold <= 1 or not all(0 <= t <= 1 for t in self.thresholds.values()):
            raise LeafEdgeError("thresholds are probabilities, between 0 and 1")
        if not 0 <= self.suppression_seconds <= MAX_SECONDS:
            raise LeafEdgeError(f"the suppression time must be 0 to {MAX_SECONDS:g} seconds")

    @classmethod
    def from_metadata(cls, entry: dict, **overrides) -> DetectionSettings:
        """The model's recommended settings, with ``overrides`` (None values ignored) on top."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in entry.get("detection", {}).items() if k in known}
        if overrides.get("threshold") is not None and overrides.get("thresholds") is None:
            values.pop("thresholds", None)  # a threshold asked for holds for every label
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


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
        numbers = (self.sample_rate, self.clip_seconds, self.n_filters, self.window_ms, self.stride_ms,
                   self.min_freq, 0.0 if self.max_freq is None else self.max_freq)  # fmt: skip
        if not all(
            isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in numbers
        ):
            raise LeafEdgeError("the audio spec's values must be finite numbers")
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


def audio_spec(entry: dict) -> AudioSpec:
    """The audio spec a model was built for, from its leaf-edge entry: the one place it is read."""
    return AudioSpec(**entry["audio"])


FORMAT_1_FRAMING = ("n_filters", "window_ms", "stride_ms", "init_range_hz")


def upgraded_entry(entry: dict) -> dict:
    """A format-1 entry in today's layout (its framing moved from "frontend" into "audio")."""
    audio, frontend = entry.get("audio"), entry.get("frontend")
    if entry.get("format", 1) != 1 or not isinstance(audio, dict) or not isinstance(frontend, dict):
        return entry  # today's, or not an entry at all: validation says what is wrong
    bounds = frontend.get("init_range_hz")
    low, high = bounds if isinstance(bounds, list) and len(bounds) == 2 else (None, None)
    spec = {"sample_rate": audio.get("sample_rate"), "clip_seconds": audio.get("clip_seconds"),
            "n_filters": frontend.get("n_filters"), "window_ms": frontend.get("window_ms"),
            "stride_ms": frontend.get("stride_ms"), "min_freq": low, "max_freq": high}  # fmt: skip
    return {
        **entry,
        "format": 2,
        "audio": {k: v for k, v in spec.items() if v is not None},
        "frontend": {k: v for k, v in frontend.items() if k not in FORMAT_1_FRAMING},
    }


NUMBER = (int, float)
# The entry's schema: what the runtime reads, with its type; a dict is a part checked key by
# key, a tuple lists the types allowed. Other keys (data set, accuracy, calibration) are free.
ENTRY_SCHEMA = {
    "format": int,
    "labels": list,
    "background_labels": list,
    "audio": {
        "sample_rate": int,
        "clip_seconds": NUMBER,
        "n_filters": int,
        "window_ms": NUMBER,
        "stride_ms": NUMBER,
        "min_freq": NUMBER,
        "max_freq": NUMBER,
    },  # fmt: skip
    "frontend": {"type": str},
    "quantization": {"mode": str},
    "detection": dict,
    "streaming": (dict, type(None)),
}
STREAMING_SCHEMA = {"file": str, "hop_samples": int, "delay_samples": int}
INTEGRITY_SCHEMA = {INTEGRITY: {"flatbuffer_sha256": str, "files_sha256": dict}}


def _schema_problems(values: dict, schema: dict, where: str) -> list[str]:
    problems = []
    for key, kind in schema.items():
        name = f"{where}{key}"
        if key not in values:
            problems.append(f"has no {name}")
        elif isinstance(kind, dict):
            if not isinstance(values[key], dict):
                problems.append(f"{name} is not an object")
            else:
                problems += _schema_problems(values[key], kind, f"{name}.")
        elif not isinstance(values[key], kind) or isinstance(values[key], bool):
            problems.append(f"{name} is {type(values[key]).__name__}, not {_names(kind)}")
    return problems


def _names(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def entry_problems(entry: dict) -> list[str]:
    """What is wrong with a (format 2) leaf-edge entry, each as a phrase; empty when it is usable."""
    if not isinstance(entry, dict):
        return ["is not a JSON object"]
    problems = _schema_problems(entry, ENTRY_SCHEMA, "")
    if entry.get("streaming") is not None and not problems:
        problems += _schema_problems(entry["streaming"], STREAMING_SCHEMA, "streaming.")
    if INTEGRITY in entry:
        problems += _schema_problems({INTEGRITY: entry[INTEGRITY]}, INTEGRITY_SCHEMA, "")
    if problems:
        return problems
    labels, background = entry["labels"], entry["background_labels"]
    if not labels or not all(isinstance(label, str) for label in labels + background):
        problems.append("labels is not a list of label names")
    elif not set(background) <= set(labels):
        problems.append("background_labels names labels the model does not have")
    for part, check in (("audio", audio_spec), ("detection", DetectionSettings.from_metadata)):
        try:
            check(entry)
        except (LeafEdgeError, TypeError) as error:
            problems.append(f"{part}: {error}")
    return problems

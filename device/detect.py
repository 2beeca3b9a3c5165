"""From a score per window to events: smoothing, per-label thresholds, a minimum count, suppression.

A window is scored every hop; one spoken word covers several windows. The detector averages the
last few score vectors, asks the best non-background label to stay above its threshold for a
minimum number of hops and reports it once: it fires again only after dropping below its
threshold, and no label fires within the suppression time of the last event. Background labels
(``_silence_``, ``_unknown_``) never fire.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field

import numpy as np


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
        if self.hop_seconds <= 0 or self.smoothing_windows < 1 or self.min_count < 1:
            raise ValueError("hop must be positive; smoothing windows and minimum count at least 1")
        if not 0 <= self.threshold <= 1 or not all(0 <= t <= 1 for t in self.thresholds.values()):
            raise ValueError("thresholds are probabilities, between 0 and 1")
        if self.suppression_seconds < 0:
            raise ValueError("suppression time cannot be negative")

    @classmethod
    def from_metadata(cls, entry: dict, **overrides) -> DetectionSettings:
        """The model's recommended settings, with ``overrides`` (None values ignored) on top."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in entry.get("detection", {}).items() if k in known}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class Event:
    """One detection: a label, its smoothed score, and when the deciding window ended (seconds)."""

    label: str
    score: float
    time: float


class Detector:
    """Feed it one score vector per hop; it returns an :class:`Event` when a label fires.

    >>> d = Detector(["yes", "_silence_"], DetectionSettings(smoothing_windows=1, min_count=2))
    >>> [d.update(np.array(s), t) for s, t in [([.9, .1], .25), ([.9, .1], .5), ([.9, .1], .75)]]
    [None, Event(label='yes', score=0.9, time=0.5), None]
    """

    def __init__(self, labels: list[str], settings: DetectionSettings, background: tuple[str, ...] = ()):
        self.labels = list(labels)
        self.settings = settings
        background = set(background) or {label for label in labels if label.startswith("_")}
        self._active = np.array([label not in background for label in labels])
        self._thresholds = np.array([settings.thresholds.get(label, settings.threshold) for label in labels])
        self._recent: deque[np.ndarray] = deque(maxlen=settings.smoothing_windows)
        self._candidate, self._count = None, 0
        self._fired = None  # the label that fired and has not yet dropped below its threshold
        self._last_event = -np.inf

    def update(self, scores: np.ndarray, time: float) -> Event | None:
        """Take the scores of the window that ended at ``time``; return an event or None."""
        self._recent.append(np.asarray(scores, np.float32))
        smoothed = np.mean(self._recent, axis=0)
        masked = np.where(self._active, smoothed, -1.0)
        best = int(masked.argmax())
        if masked[best] < self._thresholds[best]:
            self._candidate, self._count, self._fired = None, 0, None
            return None
        self._count = self._count + 1 if best == self._candidate else 1
        self._candidate = best
        if best == self._fired or self._count < self.settings.min_count:
            return None
        if time - self._last_event < self.settings.suppression_seconds:
            return None
        self._fired, self._last_event = best, time
        return Event(self.labels[best], round(float(smoothed[best]), 4), round(float(time), 3))

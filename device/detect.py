"""From a score per window to events: smoothing, per-label thresholds, a minimum count, suppression.

A window is scored every hop; one spoken word covers several windows. The detector averages the
last few score vectors, asks the best non-background label to stay above its threshold for a
minimum number of hops and reports it once: it fires again only after dropping below its
threshold, and no label fires within the suppression time of the last event. Background labels
(``_silence_``, ``_unknown_``) never fire.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from device.contract import BACKGROUND_LABELS, DetectionSettings


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
        background = set(background) or set(BACKGROUND_LABELS)
        self._active = np.array([label not in background for label in labels])
        self._thresholds = np.array([settings.thresholds.get(label, settings.threshold) for label in labels])
        self._recent: deque[np.ndarray] = deque(maxlen=settings.smoothing_windows)
        self._candidate, self._count = None, 0
        self._fired = None  # the label that fired and has not yet dropped below its threshold
        self._last_event = -np.inf

    def skip(self, scores: np.ndarray) -> None:
        """Take a window in which no label reaches its threshold: what :meth:`update` would do with
        it (remember it for smoothing, restart the count), without deciding anything."""
        self._recent.append(np.asarray(scores, np.float32))
        self._candidate, self._count, self._fired = None, 0, None

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


def smoothed_scores(scores: np.ndarray, windows: int) -> np.ndarray:
    """The mean of each window's scores and the ``windows - 1`` before it (fewer at the start), as
    :class:`Detector` smooths them."""
    scores = np.asarray(scores, np.float64)
    totals = np.cumsum(np.vstack([np.zeros(scores.shape[1]), scores]), axis=0)
    ends = np.arange(1, len(scores) + 1)
    return (totals[ends] - totals[np.maximum(ends - windows, 0)]) / np.minimum(ends, windows)[:, None]


def detect_along(
    labels: list[str],
    settings: DetectionSettings,
    times: np.ndarray,
    scores: np.ndarray,
    background: tuple[str, ...] = (),
) -> list[Event]:
    """The events a fresh :class:`Detector` reports along a whole scored stream [windows, labels].

    The same as :meth:`Detector.update` on every window, at a small share of the cost over hours
    of quiet audio: a window where no label's smoothed score reaches its threshold only resets
    the detector, so such a window is only remembered (:meth:`Detector.skip`), and only when a
    later window's smoothing reads it or the detector has something to reset.
    """
    detector = Detector(labels, settings, background)
    scores = np.asarray(scores, np.float32).reshape(-1, len(labels))
    smoothed = smoothed_scores(scores, settings.smoothing_windows)
    hot = np.any((smoothed >= detector._thresholds - 1e-4) & detector._active, axis=1)
    fed = hot.copy()
    fed[1:] |= hot[:-1]  # the window after: it resets the detector
    for before in range(1, settings.smoothing_windows):  # the windows a hot one's smoothing reads
        fed[:-before] |= hot[before:]
    events = []
    for i in np.flatnonzero(fed):
        if not hot[i]:
            detector.skip(scores[i])
        elif (event := detector.update(scores[i], float(times[i]))) is not None:
            events.append(event)
    return events


def quiet_thresholds(
    labels: list[str],
    scores: np.ndarray,
    settings: DetectionSettings,
    background: tuple[str, ...] = (),
    margin: float = 0.01,
) -> dict[str, float]:
    """Per-label thresholds raised just enough that a :class:`Detector` with ``settings`` fires
    nothing on ``scores`` [windows, labels] (a room with nobody speaking); labels that would not
    have fired keep their threshold.

    A label fires once it is the best non-background label with its smoothed score at or above
    its threshold for ``min_count`` windows in a row, so its threshold must exceed, over every
    such run, the run's lowest smoothed score.
    """
    active = Detector(labels, settings, background)._active
    scores = np.asarray(scores, np.float64).reshape(-1, len(labels))
    m = settings.min_count
    smoothed = smoothed_scores(scores, settings.smoothing_windows)
    best = np.where(active, smoothed, -1.0).argmax(axis=1)
    thresholds = {}
    for i, label in enumerate(labels):
        current = settings.thresholds.get(label, settings.threshold)
        if not active[i] or len(scores) < m:
            continue
        value = np.where(best == i, smoothed[:, i], -np.inf)
        runs = np.lib.stride_tricks.sliding_window_view(value, m).min(axis=1)
        needed = float(runs.max())
        if needed >= current:
            thresholds[label] = min(1.0, float(np.ceil((needed + margin) * 100) / 100))
    return thresholds

"""Warnings about models that look trained but are not: one class for (almost) everything.

TensorFlow-free, so that training, evaluation and conversion share one rule.
"""

from __future__ import annotations

import numpy as np

DOMINANT_SHARE = 0.8  # a class predicted for more than this share of the inputs ...
DOMINANT_EXCESS = 0.3  # ... and this much more often than it truly occurs is a collapse


def dominant_class_warning(predicted, labels, names, what: str) -> str | None:
    """A warning when one class is predicted for most inputs far more often than it occurs."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.size < 10 or len(names) < 2:
        return None
    counts = np.bincount(predicted, minlength=len(names))
    top = int(np.argmax(counts))
    share = counts[top] / predicted.size
    truth = float(np.mean(labels == top)) if labels.size else 0.0
    if share <= DOMINANT_SHARE or share - truth <= DOMINANT_EXCESS:
        return None
    return (
        f"warning: {what} predicts {names[top]!r} for {share:.0%} of {predicted.size} clips "
        f"({truth:.0%} truly are): the model has collapsed onto one class; train longer, check "
        "the labels and class balance, or try --classifier efficientnet-small on a small set"
    )

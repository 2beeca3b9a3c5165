"""Which epoch a run keeps: the latest within one standard error of the best validation accuracy."""

from __future__ import annotations

import pytest

from leaf_edge.checkpoints import better, kept_by_accuracy, standard_error

# Validation accuracy per epoch of the 440-clip instrument set (44 validation clips), as measured:
# the highest is epoch 4's, while training accuracy rose from 0.43 to 0.81 by epoch 30.
# fmt: off
SMALL_SET_CURVE = [0.2955, 0.4091, 0.4091, 0.5682, 0.4545, 0.4545, 0.4318, 0.4545, 0.3409, 0.5227,
                   0.4773, 0.4545, 0.5227, 0.4773, 0.4318, 0.4091, 0.4091, 0.5000, 0.4318, 0.4773,
                   0.4091, 0.4091, 0.4773, 0.4545, 0.4773, 0.4545, 0.5000, 0.5000, 0.5000, 0.4545]
# fmt: on


def kept_epoch(curve: list[float], clips: int) -> int:
    """The epoch kept after the whole curve, chosen online as EpochLog does."""
    top = kept = None
    for epoch, accuracy in enumerate(curve, start=1):
        entry = {"epoch": epoch, "val_accuracy": accuracy, "val_loss": 1.0}
        if better(entry, top):
            top = entry
        if kept_by_accuracy(entry, top, clips):
            kept = epoch
    return kept


def test_standard_error_is_the_binomial_one():
    assert standard_error(0.5, 100) == pytest.approx(0.05)
    assert standard_error(1.0, 44) == 0.0


def test_a_small_validation_set_keeps_a_late_epoch_that_it_cannot_tell_from_the_best():
    # one standard error of 0.5682 on 44 clips is 7.5 points: epoch 29 (0.50) is within it
    assert kept_epoch(SMALL_SET_CURVE, clips=44) == 29


def test_a_large_validation_set_keeps_the_best_unless_a_later_epoch_is_as_good():
    # on 5,000 clips one standard error of 0.5682 is 0.7 points: nothing comes close to epoch 4
    assert kept_epoch(SMALL_SET_CURVE, clips=5000) == 4
    assert kept_epoch([0.90, 0.96, 0.958, 0.95], clips=1000) == 3  # 0.2 points below, within 0.6
    assert kept_epoch([1.0, 1.0, 0.99], clips=100) == 2  # a perfect score has no error: ties only

"""Warnings for models that look trained but are not, and conversions that lose accuracy."""

from __future__ import annotations

import numpy as np

from converter.verify import conversion_warnings
from leaf_edge.guards import dominant_class_warning

NAMES = ["a", "b", "c", "d"]


def test_one_class_for_everything_is_a_collapse():
    labels = np.repeat(np.arange(4), 25)
    warning = dominant_class_warning(np.full(100, 2), labels, NAMES, "the model")
    assert "predicts 'c' for 100% of 100 clips (25% truly are)" in warning


def test_a_right_or_merely_imperfect_model_gives_no_warning():
    labels = np.repeat(np.arange(4), 25)
    assert dominant_class_warning(labels, labels, NAMES, "m") is None
    wrong = labels.copy()
    wrong[:40] = 3  # 40 % wrong, but not one class for most clips
    assert dominant_class_warning(wrong, labels, NAMES, "m") is None
    # a class that truly is most of the data may be predicted for most of it
    mostly_a = np.r_[np.zeros(90, int), np.ones(10, int)]
    assert dominant_class_warning(np.zeros(100, int), mostly_a, NAMES, "m") is None


def test_conversion_warnings_say_what_was_lost_and_what_to_do():
    report = {"mode": "int8", "accuracy_keras": 0.69, "accuracy_tflite": 0.56,
              "calibration": {"draws": 3, "chosen": 2, "agreement": [0.25, 0.4, 0.67]}}  # fmt: skip
    lost, draws = conversion_warnings(report)
    assert "int8 loses 13.0 accuracy points" in lost and "69.0 % float, 56.0 % int8" in lost
    assert "keeps" not in lost and "int16x8" in lost
    assert "agree with the float model on 25%-67%" in draws
    fine = {"mode": "int8", "accuracy_keras": 0.969, "accuracy_tflite": 0.965,
            "calibration": {"agreement": [0.97, 0.99]}}  # fmt: skip
    assert conversion_warnings(fine) == []

"""Calibration: per-label detection settings chosen on validation streams at a target FA/h."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from device import Classifier
from device.contract import DetectionSettings
from leaf_edge.calibration import Targets, calibrate
from leaf_edge.cli import main
from leaf_edge.streams import ScoredStream, Scoring, Word, stream_figures
from tests.test_negative_training import negative_folder

LABELS = ["yes", "no", "stop", "_silence_", "_unknown_"]
SCORING = Scoring(LABELS, ("_silence_", "_unknown_"), window_seconds=1.0)
SETTINGS = DetectionSettings(hop_seconds=0.25, smoothing_windows=1, threshold=0.6, min_count=2)


def scored(kind: str, seconds: float, words: list[Word], bursts: list[tuple[str, float, float, float]]):
    """A stream scored every 0.25 s: silence, except ``label`` at ``level`` from ``start`` to ``end``."""
    times = np.arange(1.0, seconds + 1e-9, 0.25)
    scores = np.zeros((len(times), len(LABELS)), np.float32)
    scores[:, LABELS.index("_silence_")] = 0.9
    for label, start, end, level in bursts:
        on = (times >= start) & (times <= end)
        scores[on] = (1 - level) / (len(LABELS) - 1)
        scores[on, LABELS.index(label)] = level
    return ScoredStream(kind, seconds, words, times, scores)


def test_calibration_removes_a_planted_false_alarm_and_keeps_the_keywords():
    said = [("yes", 2.0), ("no", 6.0), ("stop", 10.0), ("no", 14.0)]
    words = [Word(label, at, at + 0.5) for label, at in said]
    keywords = scored("keywords", 20.0, words, [(label, at + 0.5, at + 1.0, 0.9) for label, at in said])
    # half an hour of negative audio where "no" is heard twice at 0.8: 4 false accepts an hour
    negative = scored("negative", 1800.0, [], [("no", 300, 301, 0.8), ("no", 1200, 1201, 0.8)])
    before = stream_figures([keywords, negative], SCORING, SETTINGS)
    assert before["false_accepts_per_hour"]["negative"] == 4.0 and before["false_reject_rate"] == 0.0
    lines = []
    settings, after, met = calibrate(
        [keywords, negative], SCORING, SETTINGS, Targets(1.0, 20.0), lines.append
    )
    assert met and after["false_accepts_per_hour"]["negative"] == 0.0 and after["false_reject_rate"] == 0.0
    assert 0.8 < settings.thresholds["no"] <= 0.9  # raised above the false alarm, not above the words
    assert len(lines) == 12 and all("keywords missed" in line for line in lines)


def test_speech_without_a_limit_leaves_its_false_accepts_out_of_the_choice():
    """``--target-speech-fa-per-hour none``: a keyword heard in unknown-word speech no longer
    raises its threshold above the keywords said (with a limit of 20 an hour it does)."""
    said = [Word("no", 2.0, 2.5), Word("no", 6.0, 6.5)]
    keywords = scored("keywords", 10.0, said, [("no", 2.5, 3.0, 0.8), ("no", 6.5, 7.0, 0.8)])
    speech = scored("speech", 360.0, [], [("no", 100, 100.5, 0.9)])  # "know": 10 an hour, at 0.9
    negative = scored("negative", 1800.0, [], [])
    streams = [keywords, speech, negative]
    _, limited, _ = calibrate(streams, SCORING, SETTINGS, Targets(1.0, 5.0), lambda *_: None)
    _, free, met = calibrate(streams, SCORING, SETTINGS, Targets(1.0, None), lambda *_: None)
    assert limited["false_reject_rate"] == 1.0 and limited["false_accepts"]["speech"] == 0
    assert met and free["false_reject_rate"] == 0.0 and free["false_accepts"]["speech"] == 1


def test_an_unreachable_target_says_so_and_fires_least():
    words = [Word("yes", 2.0, 2.5)]
    keywords = scored("keywords", 10.0, words, [("yes", 2.5, 2.75, 0.9)])  # two windows
    # "stop" at 1.0 fires at any threshold: for 10 s, and for two windows, which three in a row skip
    negative = scored("negative", 1800.0, [], [("stop", 300, 310, 1.0), ("stop", 600, 600.25, 1.0)])
    settings, after, met = calibrate([keywords, negative], SCORING, SETTINGS, Targets(0.0, 20.0),
                                     lambda *_: None)  # fmt: skip
    assert not met and after["false_accepts"]["negative"] == 1  # not 2, though it then misses "yes"
    assert settings.min_count == 3 and after["false_reject_rate"] == 1.0


def test_calibrate_cli_writes_a_copy_that_scores_the_same(tiny_model, tiny_keywords, tmp_path):
    rng = np.random.default_rng(0)
    noise = (0.05 * rng.standard_normal(16000 * 30)).astype(np.float32)
    negatives = negative_folder(tmp_path / "neg", {"validation": [noise]})
    out = tmp_path / "calibrated.tflite"
    args = ["calibrate", str(tiny_model), str(tiny_keywords), "--negatives", str(negatives), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    original, copy = Classifier(tiny_model), Classifier(out)
    assert copy.settings == DetectionSettings(**report["settings"]) != original.settings
    assert copy.metadata.leaf_edge["calibration"]["after"] == report["after"]
    clips = rng.uniform(-0.5, 0.5, (3, original.clip_samples)).astype(np.float32)
    assert np.array_equal(copy.scores(clips), original.scores(clips))
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists; add --force" in again.output


@pytest.mark.parametrize("target", ["-1", "nan"])
def test_a_bad_target_is_a_usage_error(tmp_path, target):
    model = tmp_path / "model.tflite"
    model.write_bytes(b"never read: the options are checked first")
    args = [
        "calibrate",
        str(model),
        str(tmp_path),
        "--negatives",
        str(tmp_path),
        "-o",
        str(tmp_path / "x.tflite"),
    ]
    result = CliRunner().invoke(main, [*args, "--target-fa-per-hour", target])
    assert result.exit_code == 2 and "--target-fa-per-hour" in result.output

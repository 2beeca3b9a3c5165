"""``listen --calibrate``: thresholds raised just enough that the room fires nothing (no TensorFlow)."""

from __future__ import annotations

import json

import numpy as np

from device import Classifier
from device.contract import DetectionSettings
from device.detect import Detector, quiet_thresholds
from device.metadata import read_leaf_edge_metadata, with_leaf_edge_entry
from tests.device.test_listen import listen, started
from tests.speech import write_wav

LABELS = ["yes", "no", "_silence_", "_unknown_"]
SETTINGS = DetectionSettings(smoothing_windows=1, threshold=0.6, min_count=2)


def events(scores, settings):
    detector = Detector(LABELS, settings)
    return [e for t, s in enumerate(scores) if (e := detector.update(s, 0.25 * t)) is not None]


def room(yes_levels, no_level=0.5):
    """Scores of a quiet room in which "yes" rises to ``yes_levels`` for a moment."""
    scores = np.tile([0.05, 0.05, 0.85, 0.05], (40, 1))
    for k, level in enumerate(yes_levels):
        scores[10 + k] = [level, 0.0, 1 - level, 0.0]
    scores[30] = [0.0, no_level, 1 - no_level, 0.0]
    return scores


def test_raised_thresholds_are_just_enough_to_fire_nothing():
    scores = room([0.7, 0.8, 0.65])
    assert [e.label for e in events(scores, SETTINGS)] == ["yes"]
    raised = quiet_thresholds(LABELS, scores, SETTINGS)
    assert raised == {"yes": 0.71}  # two windows in a row at >= 0.7 fired; "no" never reached 0.6
    assert events(scores, DetectionSettings(smoothing_windows=1, min_count=2, thresholds=raised)) == []
    at_the_edge = DetectionSettings(smoothing_windows=1, min_count=2, thresholds={"yes": 0.69})
    assert [e.label for e in events(scores, at_the_edge)] == ["yes"]  # a little lower still fires
    smoothed = DetectionSettings(smoothing_windows=3, threshold=0.6, min_count=1)
    raised = quiet_thresholds(LABELS, scores, smoothed)
    assert events(scores, DetectionSettings(smoothing_windows=3, min_count=1, thresholds=raised)) == []


def test_a_new_entry_leaves_the_model_and_its_other_files_as_they_were(keyword_model):
    data = keyword_model.read_bytes()
    entry = read_leaf_edge_metadata(data).leaf_edge
    changed = with_leaf_edge_entry(data, {**entry, "detection": {**entry["detection"], "threshold": 0.9}})
    metadata = read_leaf_edge_metadata(changed)
    assert metadata.leaf_edge["detection"]["threshold"] == 0.9 and metadata.labels == entry["labels"]
    original = read_leaf_edge_metadata(data)
    assert metadata.files == original.files
    flatbuffer_end = data.index(b"PK\x03\x04")
    assert changed[:flatbuffer_end] == data[:flatbuffer_end]


def test_listen_calibrates_on_noise_and_saves_a_model_that_scores_the_same(
    virtual_mic, keyword_model, tmp_path
):
    rng = np.random.default_rng(3)
    t = np.arange(16000 * 12) / 16000
    # hiss and a tone sweeping up and down: single windows of it score "no" 0.84 and "on" 0.96 on
    # the default model, whose calibrated thresholds (0.7, 0.875 over two windows) it never
    # reaches; at one threshold of 0.3 for every keyword it fires
    noise = 0.05 * rng.standard_normal(len(t)) + 0.2 * np.sin(2 * np.pi * (300 + 200 * np.sin(t)) * t)
    wav = write_wav(tmp_path / "room.wav", noise.astype(np.float32))
    entry = read_leaf_edge_metadata(keyword_model.read_bytes()).leaf_edge
    detection = {**entry["detection"], "threshold": 0.3, "thresholds": {}}
    eager = tmp_path / "eager.tflite"
    eager.write_bytes(with_leaf_edge_entry(keyword_model.read_bytes(), {**entry, "detection": detection}))
    out = tmp_path / "room.tflite"
    process = listen(eager, virtual_mic.env, "--calibrate", "15", "--save", str(out),
                     "--duration", "0", "--json")  # fmt: skip
    started(process)
    virtual_mic("feed", str(wav))
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-2000:]
    raised = json.loads(stdout.splitlines()[0])["calibration"]
    assert raised, "the room fired nothing, so nothing was raised"
    copy, original = Classifier(out), Classifier(eager)
    for label, (old, new) in raised.items():
        assert new > old and copy.settings.thresholds[label] == new
    assert copy.metadata.leaf_edge["room_calibration"]["raised"] == raised
    clips = rng.uniform(-0.3, 0.3, (2, original.clip_samples)).astype(np.float32)
    assert np.array_equal(copy.scores(clips), original.scores(clips))


def test_a_threshold_asked_for_holds_for_every_label_of_a_calibrated_model():
    entry = {"detection": {"threshold": 0.6, "thresholds": {"yes": 0.9, "no": 0.95}}}
    assert DetectionSettings.from_metadata(entry).thresholds == {"yes": 0.9, "no": 0.95}
    asked = DetectionSettings.from_metadata(entry, threshold=0.7)
    assert asked.threshold == 0.7 and asked.thresholds == {}
    both = DetectionSettings.from_metadata(entry, threshold=0.7, thresholds={"yes": 0.8})
    assert both.thresholds == {"yes": 0.8}

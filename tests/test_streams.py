"""Stream evaluation: misses, false accepts per hour and latency, on the device path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from device import Classifier
from device.contract import DetectionSettings
from device.detect import Detector
from leaf_edge.cli import main
from leaf_edge.data.words import KEYWORDS
from leaf_edge.streams import (
    DET_THRESHOLDS,
    ScoredStream,
    Scoring,
    Word,
    build_running_streams,
    build_streams,
    det_curve,
    detect,
    evaluate_streams,
    stream_figures,
)
from tests.speech import TEST_VOICES, spoken_words

LABELS = ["yes", "no", "stop", "_silence_", "_unknown_"]
SCORING = Scoring(LABELS, ("_silence_", "_unknown_"), window_seconds=1.0)
SETTINGS = DetectionSettings(hop_seconds=0.25, smoothing_windows=1, threshold=0.6, min_count=2)


def planted(seconds: float, bursts: list[tuple[str, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Window times every 0.25 s and scores: silence, except ``label`` at 0.9 from ``start`` to ``end``."""
    times = np.arange(1.0, seconds + 1e-9, 0.25)
    scores = np.zeros((len(times), len(LABELS)), np.float32)
    scores[:, LABELS.index("_silence_")] = 0.9
    for label, start, end in bursts:
        on = (times >= start) & (times <= end)
        scores[on] = 0.05
        scores[on, LABELS.index(label)] = 0.9
    return times, scores


def test_stream_figures_agree_with_a_hand_count():
    # Said: yes (2.0 s), no (5.0 s), stop (8.0 s), yes (12.0 s). Heard: yes at 2.75 s (a hit, 0.15 s
    # after its speech), nothing for "no" (a miss), "no" during stop (a miss and a false accept),
    # yes at 13.0 s (a hit, 0.4 s), a stray stop at 16.25 s (a false accept); an _unknown_ burst
    # never fires. Negative hour-half: two yes bursts (two false accepts in 0.5 h).
    words = [Word("yes", 2.0, 2.6), Word("no", 5.0, 5.5), Word("stop", 8.0, 8.5), Word("yes", 12.0, 12.6)]
    bursts = [("yes", 2.5, 3.0), ("no", 8.5, 9.0), ("yes", 12.75, 13.25), ("stop", 16.0, 16.5),
              ("_unknown_", 18.0, 19.0)]  # fmt: skip
    keywords = ScoredStream("keywords", 20.0, words, *planted(20.0, bursts))
    negative = ScoredStream("negative", 1800.0, [], *planted(1800.0, [("yes", 100, 101), ("no", 900, 902)]))
    figures = stream_figures([keywords, negative], SCORING, SETTINGS)
    assert figures["false_reject_rate_per_keyword"] == {"yes": 0.0, "no": 1.0, "stop": 1.0}
    assert figures["false_reject_rate"] == pytest.approx(2 / 3)
    assert figures["keywords_said"] == 4
    assert figures["false_accepts"] == {"keywords": 2, "negative": 2}
    assert figures["false_accepts_per_hour"] == {"keywords": 360.0, "negative": 4.0}
    assert figures["latency_seconds"]["median"] == pytest.approx(0.275)
    # Running speech, reported apart: "no" heard at 3.0 s (a hit), a stray yes at 7.0 s.
    heard = planted(10.0, [("no", 2.75, 3.25), ("yes", 6.75, 7.25)])
    running = ScoredStream("running", 10.0, [Word("no", 2.2, 2.6)], *heard)
    with_running = stream_figures([keywords, negative, running], SCORING, SETTINGS)
    assert with_running.pop("running_speech") == {
        "false_reject_rate": 0.0, "keywords_said": 1, "false_accepts": 1, "hours": round(10 / 3600, 4),
        "false_accepts_per_hour": 360.0,
    }  # fmt: skip
    assert with_running == figures


def test_the_det_curve_trades_false_rejects_for_false_accepts():
    words = [Word("yes", 2.0, 2.6)]
    stream = ScoredStream("keywords", 20.0, words, *planted(20.0, [("yes", 2.5, 3.0), ("stop", 10, 11)]))
    curve = det_curve([stream], SCORING, SETTINGS)
    assert [p["threshold"] for p in curve] == list(DET_THRESHOLDS)
    below, above = curve[0], curve[-1]  # thresholds 0.3 and 0.975: the plants sit at 0.9
    assert below["false_reject_rate"] == 0.0 and below["false_accepts_per_hour"]["keywords"] == 180.0
    assert above["false_reject_rate"] == 1.0 and above["false_accepts_per_hour"]["keywords"] == 0.0


def test_streams_hold_every_clip_once_after_a_pause():
    rate = 1000
    clips = [(f"w{k}", np.full(500, 0.5, np.float32)) for k in range(30)]
    streams = build_streams(clips, rate, seed=1, stream_seconds=10.0)
    assert len(streams) > 1
    placed = [w for _, words in streams for w in words]
    assert sorted(w.label for w in placed) == sorted(label for label, _ in clips)
    for audio, words in streams:
        for word in words:
            start = round(word.start * rate)
            assert np.all(audio[start : start + 500] == 0.5)
            assert audio[start - 1] != 0.5 and word.speech_end == pytest.approx(word.start + 0.5)
    again = build_streams(clips, rate, seed=1, stream_seconds=10.0)
    assert [w for _, ws in again for w in ws] == placed


def test_running_speech_puts_each_keyword_between_carrier_words():
    rate = 1000
    silence = np.zeros(200, np.float32)

    def clip(level, length):  # speech of ``length`` samples inside silence, as a 1 s clip pads it
        return np.concatenate([silence, np.full(length, level, np.float32), silence])

    keywords = [(f"k{k}", clip(0.5, 300 + 10 * k)) for k in range(20)]
    carriers = [clip(0.25, 150), clip(0.3, 250)]
    streams = build_running_streams(keywords, carriers, rate, seed=3, stream_seconds=8.0)
    assert len(streams) > 1
    placed = {w.label: w for _, words in streams for w in words}
    assert sorted(placed) == sorted(label for label, _ in keywords)
    for audio, words in streams:
        for word in words:
            start, end = round(word.start * rate), round(word.speech_end * rate)
            assert end - start == 300 + 10 * int(word.label[1:])  # the keyword's speech, whole
            assert np.all(audio[start:end] == 0.5) and audio[start - 1] != 0.5 and audio[end] != 0.5
            before, after = audio[start - 250 : start], audio[end : end + 250]  # words 50-200 ms away
            carried = np.float32([0.25, 0.3])
            assert np.isin(carried, before).any() and np.isin(carried, after).any()
    again = build_running_streams(keywords, carriers, rate, seed=3, stream_seconds=8.0)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(streams, again, strict=True))


@pytest.fixture(scope="module")
def keyword_clips():
    words = list(KEYWORDS) + ["dog", "house", "tree", "music"]
    waves = spoken_words(words, TEST_VOICES[0])
    labels = [w if w in KEYWORDS else "_unknown_" for w in words]
    return [(label, 0.5 * wave / np.abs(wave).max()) for label, wave in zip(labels, waves, strict=True)]


def test_the_shipped_model_streams_keywords_with_few_misses(keyword_model, keyword_clips, tmp_path):
    noise = tmp_path / "noise.flac"
    sf.write(noise, np.random.default_rng(0).normal(0, 0.01, 16000 * 60).astype(np.float32), 16000)
    report = evaluate_streams(Classifier(keyword_model), keyword_clips, [noise], seed=0)
    assert report["keywords_said"] == 10
    assert report["false_reject_rate"] <= 0.2, report["false_reject_rate_per_keyword"]
    assert set(report["hours"]) == {"keywords", "speech", "negative"}
    assert report["hours"]["negative"] == pytest.approx(60 / 3600, abs=1e-3)
    assert report["false_accepts"]["negative"] == 0  # white noise: the model fires on none
    assert 0 < report["latency_seconds"]["median"] < 1.5
    assert report["cpu_seconds_per_hour_of_audio"] > 0


def test_evaluate_stream_cli_reports_and_draws_the_det_picture(keyword_model, tiny_keywords, tmp_path):
    negatives = tmp_path / "negatives"
    negatives.mkdir()
    sf.write(negatives / "hum.wav", 0.05 * np.sin(np.arange(16000 * 20) / 16000 * 2 * np.pi * 120), 16000)
    picture = tmp_path / "det.png"
    args = ["evaluate", str(keyword_model), str(keyword_model), str(tiny_keywords), "--stream",
            "--negatives", str(negatives), "--engine", "flite", "--picture", str(picture)]  # fmt: skip
    result = CliRunner().invoke(main, [*args, "--json", "--running-speech"])
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output[result.output.index("[") :])
    assert len(reports) == 2 and reports[0]["engine"] == "flite"
    running = reports[0]["running_speech"]  # the same keywords again, between unknown words
    assert running["keywords_said"] == reports[0]["keywords_said"] and running["hours"] > 0
    assert reports[0]["false_reject_rate"] == reports[1]["false_reject_rate"]  # the same model twice
    assert reports[0]["keywords_said"] > 0 and picture.stat().st_size > 10_000
    text = CliRunner().invoke(main, [*args, "--running-speech"])
    assert text.exit_code == 0 and "false rejects" in text.output and "negative streams" in text.output
    assert "inside running speech: false rejects" in text.output


def test_evaluate_stream_refuses_a_run_folder_in_one_line(tiny_keywords, tmp_path):
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path), str(tiny_keywords), "--stream"])
    assert result.exit_code == 1 and "takes .tflite files" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("smoothing,min_count", [(1, 1), (1, 2), (3, 2), (5, 3)])
def test_detection_on_the_windows_that_could_fire_gives_every_event(smoothing, min_count):
    rng = np.random.default_rng(smoothing * 10 + min_count)
    times = np.arange(1, 4001) * 0.25
    scores = np.tile(np.float32([0.02, 0.02, 0.02, 0.92, 0.02]), (len(times), 1))  # quiet, but for bursts
    for start in range(0, len(times), 40):  # of 12 windows: one label near 0.75, or noise
        burst = rng.dirichlet(np.full(len(LABELS), 0.3), 12)
        burst[:, rng.integers(len(LABELS))] += rng.uniform(0.5, 1.5)
        scores[start : start + 12] = burst / burst.sum(axis=1, keepdims=True)
    stream = ScoredStream("negative", 1000.0, [], times, scores)
    for settings in (
        DetectionSettings(smoothing_windows=smoothing, min_count=min_count, threshold=0.5),
        DetectionSettings(
            smoothing_windows=smoothing, min_count=min_count, thresholds={"yes": 0.3, "no": 0.8}
        ),
    ):
        detector = Detector(LABELS, settings, SCORING.background)
        every = [e for t, s in zip(times, scores, strict=True) if (e := detector.update(s, t)) is not None]
        assert len(every) > 20 and detect(stream, SCORING, settings) == every

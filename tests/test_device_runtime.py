"""The runtime API on a real LiteRT model: audio conversion, windows, streaming and detection."""

from __future__ import annotations

import numpy as np
import pytest

from device.audio import AudioInputError, Resampler, fit_length, to_mono_float
from device.classifier import Classifier
from device.contract import DetectionSettings
from device.detect import Detector, Event


@pytest.fixture(scope="module")
def classifier(tiny_model):
    return Classifier(tiny_model)


@pytest.fixture(scope="module")
def speech(tiny_keywords):
    """Four test clips and their labels, 16 kHz float."""
    import soundfile as sf

    paths = [tiny_keywords / line for line in (tiny_keywords / "testing_list.txt").read_text().split()[:4]]
    return np.stack([sf.read(p, dtype="float32")[0] for p in paths]), [p.parent.name for p in paths]


def test_labels_rate_and_defaults_come_from_the_metadata(classifier):
    assert classifier.labels[:2] == ["yes", "no"] and classifier.labels[-1] == "_unknown_"
    assert (classifier.sample_rate, classifier.clip_samples) == (16000, 16000)
    assert classifier.settings == DetectionSettings()  # the converter's recommended defaults
    assert classifier.background == ("_silence_", "_unknown_")


@pytest.mark.parametrize(
    "dtype, scale", [(np.int16, 32768), (np.int32, 2**31), (np.float64, 1.0), (np.float32, 1.0)]
)
def test_any_sample_type_and_channel_count_gives_the_same_scores(classifier, speech, dtype, scale):
    wave = speech[0][0]
    stereo = np.stack([wave, wave], axis=1) * (scale - 1 if scale > 1 else 1)
    expected = classifier.classify(wave, 16000, top_k=12)
    got = classifier.classify(stereo.astype(dtype), 16000, top_k=12)
    assert [c.label for c in got][:3] == [c.label for c in expected][:3]
    assert np.allclose([c.score for c in got], [c.score for c in expected], atol=2e-3)


def test_unsigned_8_bit_audio_is_centred():
    assert to_mono_float(np.array([128, 255, 0], np.uint8)).tolist() == pytest.approx([0.0, 0.9921875, -1.0])


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.array([0.1, np.nan, 0.2], np.float32), "NaN"),
        (np.zeros((2, 2, 2), np.float32), "shape"),
        (np.array(["a", "b"]), "numbers"),
    ],
)
def test_bad_samples_are_refused(samples, message):
    with pytest.raises(AudioInputError, match=message):
        to_mono_float(samples)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_before_classifying(classifier, speech, rate):
    import soxr

    wave = speech[0][0]
    at_rate = soxr.resample(wave, 16000, rate)
    back = soxr.resample(at_rate, rate, 16000)
    got = classifier.classify(at_rate, rate, top_k=12)
    expected = classifier.classify(back, 16000, top_k=12)
    assert [c.label for c in got][:2] == [c.label for c in expected][:2]


def test_streaming_resampler_matches_one_shot_resampling():
    import soxr

    wave = np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32)
    resampler = Resampler(48000, 16000)
    pieces = [resampler(wave[i : i + 1234]) for i in range(0, len(wave), 1234)]
    streamed = np.concatenate([*pieces, resampler(np.zeros(0, np.float32), last=True)])
    one_shot = soxr.resample(wave, 48000, 16000)
    assert abs(len(streamed) - len(one_shot)) <= 1
    n = min(len(streamed), len(one_shot))
    assert np.abs(streamed[100 : n - 100] - one_shot[100 : n - 100]).max() < 1e-3


def test_windows_do_not_depend_on_chunk_size(classifier, speech):
    """A file's blocks and a microphone's small buffers give the same windows at the same times."""
    stream = np.concatenate(list(speech[0]))
    whole = list(classifier.windows([stream], 16000, hop_seconds=0.5))
    chunked = list(classifier.windows((stream[i : i + 333] for i in range(0, len(stream), 333)), 16000, 0.5))
    assert [w.time for w in whole] == [w.time for w in chunked] == [1.0 + 0.5 * i for i in range(7)]
    assert np.allclose(np.stack([w.scores for w in whole]), np.stack([w.scores for w in chunked]), atol=1e-6)
    direct = classifier.scores(stream[16000:32000][np.newaxis])[0]  # the window that ends at 2.0 s
    assert np.allclose(whole[2].scores, direct, atol=1e-6)


def test_streaming_windows_do_not_depend_on_chunk_size(classifier, speech):
    """At the model's own hop the streaming model runs: one step per hop, the first window once a
    window of audio has passed the stream's delay; times are where the covered audio ends."""
    stream = np.concatenate(list(speech[0]))
    assert classifier.uses_streaming_model() and not classifier.uses_streaming_model(0.5)
    hop, delay = classifier.stream_info["hop_samples"], classifier.stream_info["delay_samples"]
    whole = list(classifier.windows([stream], 16000))
    chunked = list(classifier.windows((stream[i : i + 333] for i in range(0, len(stream), 333)), 16000))
    first = -(-(16000 + delay) // hop) * hop
    expected = [(end - delay) / 16000 for end in range(first, len(stream) + 1, hop)]
    assert [w.time for w in whole] == [w.time for w in chunked] == pytest.approx(expected)
    assert np.allclose(np.stack([w.scores for w in whole]), np.stack([w.scores for w in chunked]), atol=1e-6)


def test_a_stream_shorter_than_a_window_gives_one_padded_window(classifier, speech):
    short = speech[0][0][:6000]
    windows = list(classifier.windows([short], 16000))
    assert len(windows) == 1 and windows[0].time == pytest.approx(6000 / 16000)
    assert np.allclose(windows[0].scores, classifier.scores(fit_length(short, 16000)[np.newaxis])[0])


def scores_for(labels, label, value):
    scores = np.full(len(labels), (1 - value) / (len(labels) - 1), np.float32)
    scores[labels.index(label)] = value
    return scores


def test_detector_fires_once_per_word_and_never_for_background():
    labels = ["yes", "no", "_silence_", "_unknown_"]
    detector = Detector(labels, DetectionSettings(smoothing_windows=2, min_count=2, suppression_seconds=0.5))
    sequence = ["_silence_"] * 3 + ["yes"] * 5 + ["_unknown_"] * 4 + ["no"] * 4 + ["_silence_"] * 2
    events = [detector.update(scores_for(labels, label, 0.95), 0.25 * i) for i, label in enumerate(sequence)]
    fired = [e for e in events if e is not None]
    assert [e.label for e in fired] == ["yes", "no"]
    assert all(isinstance(e, Event) and e.score >= 0.6 for e in fired)
    # "yes" starts at hop 3; smoothing over 2 windows first reaches 0.95 at hop 4, the second such hop fires
    assert fired[0].time == 0.25 * 5


def test_per_label_thresholds_and_suppression():
    labels = ["yes", "no", "_silence_"]
    settings = DetectionSettings(
        smoothing_windows=1, min_count=1, suppression_seconds=1.0, thresholds={"no": 0.9}
    )
    detector = Detector(labels, settings)
    assert detector.update(scores_for(labels, "no", 0.8), 0.0) is None  # below its own threshold
    assert detector.update(scores_for(labels, "yes", 0.8), 0.25).label == "yes"
    assert detector.update(scores_for(labels, "no", 0.95), 0.5) is None  # suppressed: 0.25 s after "yes"
    assert detector.update(scores_for(labels, "no", 0.95), 1.5).label == "no"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="probabilities"):
        DetectionSettings(threshold=1.5)
    with pytest.raises(ValueError, match="hop"):
        DetectionSettings(hop_seconds=0)

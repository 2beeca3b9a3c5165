"""The shipped models: they load, carry their metadata, and recognise speech they never trained on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from device import Classifier
from device.metadata import read_leaf_edge_metadata
from device.models import MODELS_DIR
from tests.speech import ENGINE_VOICES, TEST_VOICES, spoken_words, write_wav

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
NEW_WORDS = ["apple", "music", "water", "table", "morning", "pencil"]  # in no list of the data set
# file: (quantization, frontend, LEAF filterbank evaluation, has a streaming model)
SHIPPED = {
    "keywords-leaf.tflite": ("int8", "leaf", "grouped", True),
    "keywords-leaf-float.tflite": ("none", "leaf", "exact", False),
    "keywords-mel.tflite": ("int8", "mel", None, False),
}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_load_and_carry_their_metadata(name):
    mode, frontend, gabor, streaming = SHIPPED[name]
    path = MODELS_DIR / name
    meta = read_leaf_edge_metadata(path.read_bytes(), name)
    assert meta.labels == [*KEYWORDS, "_silence_", "_unknown_"] and meta.sample_rate == 16000
    assert meta.licence and meta.leaf_edge["quantization"]["mode"] == mode
    assert meta.leaf_edge["frontend"]["type"] == frontend
    assert meta.leaf_edge["frontend"].get("gabor") == gabor
    assert meta.leaf_edge["accuracy"]["accuracy_tflite"] >= 0.95
    classifier = Classifier(path)
    assert classifier.clip_samples == 16000 and classifier.uses_streaming_model() == streaming


@pytest.fixture(scope="module")
def default_model():
    return Classifier(MODELS_DIR / "keywords-leaf.tflite")


def test_keywords_from_unseen_voices_are_recognised(default_model):
    right, wrong = 0, []
    for voice in ENGINE_VOICES:
        for word, wave in zip(KEYWORDS, spoken_words(KEYWORDS, voice), strict=True):
            label = default_model.classify(wave, 16000, top_k=1)[0].label
            right += label == word
            wrong += [] if label == word else [f"{voice.name}: {word} -> {label}"]
    assert right / (len(ENGINE_VOICES) * len(KEYWORDS)) >= 0.9, wrong


def test_words_outside_the_vocabulary_are_unknown(default_model):
    labels = [
        default_model.classify(wave, 16000, top_k=1)[0].label
        for voice in TEST_VOICES
        for wave in spoken_words(NEW_WORDS, voice)
    ]
    assert labels.count("_unknown_") >= 0.8 * len(labels), labels


def test_classify_command_on_a_stereo_44k_file(tmp_path):
    import numpy as np
    import soxr

    wave = spoken_words(["left"], ENGINE_VOICES[2])[0]
    stereo = np.stack([soxr.resample(wave, 16000, 44100)] * 2, axis=1)
    path = write_wav(tmp_path / "left.wav", stereo, 44100)
    result = subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "classify", str(path), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["top"][0]["label"] == "left"


def test_streaming_and_window_models_detect_the_same_keywords():
    """The default model's streaming path finds the demo recording's keywords as the window model does."""
    from device.audio import file_blocks
    from device.models import DEMO_RECORDING

    events = {}
    for streaming in (True, False):
        classifier = Classifier(MODELS_DIR / "keywords-leaf.tflite", streaming=streaming)
        _, blocks = file_blocks(DEMO_RECORDING)
        events[streaming] = [e.label for e in classifier.stream(blocks, 16000)]
    assert events[True] == events[False] == ["yes", "left", "stop", "up", "no", "right", "go", "down", "off"]


@pytest.mark.parametrize("offset", [0, 1000, 2000, 3000])
def test_no_event_in_the_quiet_after_a_word(offset):
    """The stream once carried PCEN's average on from "stop" into the quiet after it, and the model
    heard "up" there (with the microphone's start 1000 samples later); whatever the hop grid,
    only the spoken words come out. At one threshold of 0.6 for every keyword: the file's
    calibrated thresholds (up to 0.925) miss "down" at offset 2000 and "yes" at 3000 of this
    voice, a trade measured by the stream figures (model card), not the bug this guards."""
    from device.contract import DetectionSettings
    from tests.speech import recording

    words = ["yes", "stop", "left", "go", "down", "no"]
    audio, _ = recording(words)
    classifier = Classifier(MODELS_DIR / "keywords-leaf.tflite")
    assert classifier.uses_streaming_model()
    settings = DetectionSettings.from_metadata(classifier.metadata.leaf_edge, threshold=0.6)
    chunks = [audio[i : i + 1600] for i in range(offset, len(audio), 1600)]
    assert [e.label for e in classifier.stream(chunks, 16000, settings)] == words


def test_commands_print_what_they_say_and_no_runtime_log_lines(tmp_path):
    """LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to stderr while it
    allocates; the commands' output holds none of it."""
    model = MODELS_DIR / "keywords-leaf.tflite"
    for args in (["inspect", str(model)], ["classify", str(model), str(MODELS_DIR / "demo-keywords.wav")]):
        command = [sys.executable, "-m", "leaf_edge.cli", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "INFO" not in result.stdout + result.stderr and result.stdout.strip()


def test_both_streaming_layouts_load_and_stream_alike(tmp_path):
    """A file whose streaming model shares the window model's weights (stored once) and one that
    carries the whole streaming model (files written before that) stream the same scores."""
    import io
    import zipfile

    import numpy as np

    from device.audio import file_blocks
    from device.contract import LABELS_FILE, LEAF_EDGE_FILE
    from device.metadata import with_files
    from device.models import DEMO_RECORDING
    from device.streaming import stream_model

    shipped = MODELS_DIR / "keywords-leaf.tflite"
    data = shipped.read_bytes()
    entry = read_leaf_edge_metadata(data).leaf_edge
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        window = data[: min(info.header_offset for info in archive.infolist())]
        labels = archive.read(LABELS_FILE)
    legacy_entry = {**entry, "streaming": {**entry["streaming"], "file": "stream.tflite"}}
    for key in ("encoding", "shared_buffers"):
        legacy_entry["streaming"].pop(key, None)
    legacy_entry.pop("integrity")  # files of that layout were not sealed
    legacy = tmp_path / "legacy.tflite"
    files = {LABELS_FILE: labels, LEAF_EDGE_FILE: json.dumps(legacy_entry).encode(),
             "stream.tflite": stream_model(data, entry["streaming"])}  # fmt: skip
    legacy.write_bytes(with_files(window, files))
    windows = {}
    for path in (shipped, legacy):
        _, blocks = file_blocks(DEMO_RECORDING)
        windows[path] = np.array([w.scores for w in Classifier(path).windows(blocks, 16000)])
    np.testing.assert_array_equal(windows[shipped], windows[legacy])
    assert len(windows[shipped]) > 50

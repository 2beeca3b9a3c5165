"""Bad input found by fuzzing: each case is a one-line error or a right answer, never a traceback,
a crash, a hang or a silent wrong answer."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from ai_edge_litert import schema_py_generated as tflite_schema
from click.testing import CliRunner

from device import Classifier
from device.audio import AudioInputError
from device.classify_files import classify_file
from device.contract import DetectionSettings, LeafEdgeError
from device.metadata import (
    ModelFileError,
    model_parts,
    read_leaf_edge_metadata,
    with_files,
    with_leaf_edge_entry,
)
from device.models import MODELS_DIR
from leaf_edge.cli import main

MODEL = MODELS_DIR / "keywords-mel.tflite"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(MODEL)


def changed_graph(tmp_path, change, name: str):
    """The int8 mel model with its graph changed by ``change(model, graph)``, sealed again as a
    converter would: what a wrong converter could write."""
    import flatbuffers

    data = MODEL.read_bytes()
    flatbuffer, files = model_parts(data)
    model = tflite_schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    change(model, model.subgraphs[0])
    builder = flatbuffers.Builder(len(flatbuffer))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out = tmp_path / name
    entry = read_leaf_edge_metadata(data).leaf_edge
    out.write_bytes(with_leaf_edge_entry(with_files(bytes(builder.Output()), files), entry))
    return out


def softmax_to_log(model, graph) -> None:
    """Its softmax turned into a log of the logits (some negative: NaN); LiteRT runs it."""
    softmax = next(op for op in graph.operators if graph.outputs[0] in op.outputs)
    codes = [code.builtinCode for code in model.operatorCodes]
    softmax.opcodeIndex = codes.index(tflite_schema.BuiltinOperator.LOG)  # the mel frontend has one
    softmax.builtinOptionsType, softmax.builtinOptions = 0, None


def second_input(model, graph) -> None:
    """A second graph input that nothing would ever set (the waveform's tensor named twice)."""
    graph.inputs = [*graph.inputs, graph.inputs[0]]


def test_a_model_that_scores_nan_is_refused_at_load(tmp_path):
    with pytest.raises(ModelFileError, match="on silence, the model's scores are NaN or infinite"):
        Classifier(changed_graph(tmp_path, softmax_to_log, "nan.tflite"))


def test_a_model_with_a_second_input_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="its window model takes 2 inputs"):
        Classifier(changed_graph(tmp_path, second_input, "two-inputs.tflite"))


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.full(16000, 1e30, np.float32), "far outside \\[-1, 1\\]"),
        (np.zeros((2, 16000), np.float32), "pass \\[samples, channels\\]"),
        (np.array([0.0, np.nan] * 8000, np.float32), "NaN or infinite"),
    ],
)
def test_audio_that_is_not_audio_is_refused(classifier, audio, message):
    with pytest.raises(AudioInputError, match=message):
        classifier.classify(audio, 16000)


def test_a_stereo_array_passed_samples_first_is_classified(classifier):
    stereo = np.zeros((16000, 2), np.float32)
    assert len(classifier.classify(stereo, 16000)) == 3


def test_a_truncated_file_says_so(tmp_path, classifier):
    path = tmp_path / "cut.wav"
    sf.write(path, np.zeros(4 * 16000, np.int16), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still says 4 s
    result = classify_file(classifier, path, classifier.settings)
    assert "truncated" in result["warning"] and "2.00 s" in result["warning"]
    output = CliRunner().invoke(main, ["classify", str(MODEL), str(path)]).output
    assert "warning: the file ends after 2.00 s, its header says 4.00 s" in output


def test_a_header_rate_no_audio_has_is_a_one_line_error(tmp_path):
    path = tmp_path / "one-hertz.wav"
    sf.write(path, np.zeros(32000, np.int16), 1000)
    data = bytearray(path.read_bytes())
    data[24:28] = (1).to_bytes(4, "little")  # the fmt chunk's sample rate: 1 Hz
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["classify", str(MODEL), str(path)])
    assert result.exit_code == 1 and "a sample rate of 1 Hz is outside 1000-384000 Hz" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--hop", "inf"], ["--hop", "nan"], ["--hop", "1e-4"], ["--suppression", "nan"],
        ["--top-k", "-1"], ["--threshold", "1.5"], ["--threads", "0"], ["--min-count", "0"],
    ],
)  # fmt: skip
def test_options_out_of_range_are_refused_before_anything_runs(args):
    result = CliRunner().invoke(main, ["classify", str(MODEL), str(MODELS_DIR / "demo-keywords.wav"), *args])
    assert result.exit_code == 2 and "Invalid value for" in result.output, result.output


def test_listen_refuses_a_rate_no_microphone_has():
    result = CliRunner().invoke(main, ["listen", str(MODEL), "--rate", "1"])
    assert result.exit_code == 2 and "Invalid value for '--rate'" in result.output


@pytest.mark.parametrize("hop", [1e-9, float("nan"), float("inf")])
def test_the_api_refuses_a_hop_that_would_run_for_ever(hop):
    with pytest.raises(LeafEdgeError, match="the hop must be"):
        DetectionSettings(hop_seconds=hop)


def test_a_few_hundred_fuzz_cases_are_answered_or_refused():
    """bench/fuzz.py's seeded mutations of a WAV, of the leaf-edge entry and of both embedded
    models (crashes and hangs caught by its worker processes): only results and the project's
    own errors (the benchmark runs 100,000)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    fuzz = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
    command = [sys.executable, str(fuzz), "--cases", "450", "--workers", "1", "--seed", "7"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert set(summary["outcomes"]) == {"ok", "refused"}, summary["first_defects"]
    assert sum(summary["outcomes"].values()) == 450 and summary["by_kind"] == {
        "audio": 150,
        "entry": 150,
        "model": 150,
    }


def test_a_folder_named_like_audio_is_called_a_folder(tmp_path):
    folder = tmp_path / "x.wav"
    folder.mkdir()
    result = CliRunner().invoke(main, ["classify", str(MODEL), str(folder)])
    assert result.exit_code == 1 and f"{folder}: a folder, not an audio file" in result.output


def test_every_json_output_is_json_even_with_nothing_to_measure():
    """`evaluate --stream --json` of a model that detects nothing has no latency: NaN, which
    json.dumps would print as NaN (not JSON). Every --json goes through to_json."""
    import json

    from device.cli import to_json

    text = to_json({"latency": float("nan"), "rates": [1.5, float("inf")], "n": 3})
    assert json.loads(text) == {"latency": None, "rates": [1.5, None], "n": 3} and "NaN" not in text

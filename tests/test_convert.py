"""``leaf-edge convert``: every quantization mode, builtins only, verified, runnable without TF."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from click.testing import CliRunner

from converter import MODES
from leaf_edge.cli import main
from leaf_edge.data.augment import AugmentConfig
from leaf_edge.data.folders import load_split
from leaf_edge.recipe import augmentation_sources, recipe_calibrations
from leaf_edge.run_files import CONVERSION_FILE, read_conversion_inputs
from leaf_edge.runs import TrainConfig
from tests.processes import interruptible

STREAMED_MODES = ("none", "int8")  # what `make model` ships; the others are converted without


@pytest.fixture(scope="module")
def converted(tiny_run, tmp_path_factory):
    """Each mode converted once through the CLI: {mode: (path, report)}. The calibrated modes
    take one calibration draw (a whole conversion each; choosing among draws is
    test_int8_keeps_the_calibration_most_faithful_to_the_float_model); only the shipped modes
    carry a streaming model (each is another conversion)."""
    out = tmp_path_factory.mktemp("tflite")
    results = {}
    for mode in MODES:
        path = out / f"{mode}.tflite"
        args = [
            "convert",
            str(tiny_run),
            "-o",
            str(path),
            "--quantize",
            mode,
            "--json",
            "--licence",
            "Apache-2.0",
        ]
        args += ["--calibration-draws", "1"]
        result = CliRunner().invoke(main, args + ([] if mode in STREAMED_MODES else ["--no-streaming"]))
        assert result.exit_code == 0, result.output
        results[mode] = (path, json.loads(result.output))
    return results


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_is_builtins_only_and_verified(converted, mode):
    from device.ops import builtins_only_problems

    path, report = converted[mode]
    assert builtins_only_problems(path.read_bytes()) == []
    assert report["size_bytes"] == path.stat().st_size
    assert report["clips"] > 0 and report["latency_ms_1_thread"] > 0
    assert not any(op.startswith(("WHILE", "CUSTOM", "FLEX")) for op in map(str, report["ops"]))


def test_float_model_agrees_with_keras(converted):
    # Float rounding differs between TF's and XNNPACK's kernels; a 2-epoch model amplifies it
    # more than a trained one (the shipped model's figure is in the README).
    _, report = converted["none"]
    assert report["max_score_difference"] <= 1e-3
    assert report["top1_agreement"] == 1.0
    assert report["accuracy_tflite"] == report["accuracy_keras"]


@pytest.mark.parametrize("mode", ["none", "int8"])
def test_xnnpack_takes_the_whole_graph(converted, mode):
    assert converted[mode][1]["xnnpack"] == {"partitions": 1, "ops_outside": []}
    assert converted[mode][1]["streaming"]["xnnpack"] == {"partitions": 1, "ops_outside": []}


@pytest.mark.parametrize("mode", STREAMED_MODES)
def test_the_shipped_modes_carry_a_verified_streaming_model(converted, mode):
    """The streaming model is stored without the weights it shares with the window model (nearly
    all of them), and rebuilt from the file it is the model that was converted and verified."""
    from device.metadata import read_metadata
    from device.ops import builtins_only_problems
    from device.streaming import stream_model

    path, report = converted[mode]
    stream = report["streaming"]
    data = path.read_bytes()
    inside = stream_model(data, read_metadata(data).leaf_edge["streaming"])
    assert len(inside) >= stream["size_bytes"] > 3 * stream["stored_bytes"] and stream["shared_buffers"]
    assert builtins_only_problems(inside) == []
    assert read_metadata(data).leaf_edge["streaming"]["hop_samples"] == stream["hop_samples"] == 4000
    assert stream["clips"] == report["clips"] and 0 <= stream["accuracy"] <= 1
    assert stream["latency_ms_per_hop_1_thread"] > 0


def test_int8_keeps_the_frontend_in_float_and_the_classifier_in_int8(converted):
    from converter.export import FLOAT_SCOPES
    from device.ops import integer_tensors

    path, report = converted["int8"]
    assert report["ops"].get("CONV_2D/INT8", 0) > 50  # EfficientNet
    assert {"LOG", "EXP", "DEPTHWISE_CONV_2D", "CONV_2D", "SPLIT"} <= set(report["float_ops"])  # LEAF
    assert "SPLIT/INT8" not in report["ops"]  # the filterbank's energies, in 256 levels once
    assert integer_tensors(path.read_bytes(), FLOAT_SCOPES) == []  # nor the feature normalisation
    assert converted["int8"][1]["size_bytes"] < converted["none"][1]["size_bytes"] / 2.5


def test_int8_refuses_to_quantize_the_frontend(tiny_run, tmp_path, monkeypatch):
    """The guard behind the SPLIT rule: with the filterbank's split no longer kept in float, int8
    quantized the energies (an instrument model fell from 87.7 to 44.9 %); now that is an error
    and no file is written."""
    from converter import export

    monkeypatch.setattr(export, "FLOAT_OPS", [])
    output = tmp_path / "m.tflite"
    args = ["convert", str(tiny_run), "-o", str(output), "--quantize", "int8", "--calibration-draws", "1"]
    result = CliRunner().invoke(main, [*args, "--no-streaming"])
    assert result.exit_code == 1, result.output
    assert "int8 quantized what must stay float" in result.output and "split" in result.output
    assert "Traceback" not in result.output and not output.exists()


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_runs_in_litert_without_tensorflow(converted, mode):
    path, _ = converted[mode]
    probe = textwrap.dedent(
        """
        import sys, numpy as np
        from ai_edge_litert.interpreter import Interpreter
        runner = Interpreter(model_path=sys.argv[1], num_threads=1)
        runner.allocate_tensors()
        source, sink = runner.get_input_details()[0], runner.get_output_details()[0]
        assert source["dtype"] == np.float32 and sink["dtype"] == np.float32
        runner.set_tensor(source["index"], np.zeros(source["shape"], np.float32))
        runner.invoke()
        scores = runner.get_tensor(sink["index"])
        assert abs(scores.sum() - 1) < 1e-2, scores
        assert not [m for m in sys.modules if m.startswith("tensorflow")]
        print("ok", scores.shape)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_output_is_not_overwritten_without_force(converted, tiny_run):
    path, _ = converted["none"]
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["convert", str(tiny_run), "-o", str(path)])
    assert result.exit_code == 1 and "--force" in result.output
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "make_case, message",
    [
        (lambda run, tmp: (tmp, tmp / "m.tflite", []), "not a leaf-edge run"),
        (lambda run, tmp: (run, tmp / "missing" / "m.tflite", []), "cannot write to"),
        (lambda run, tmp: (run, tmp / "m.tflite", ["--quantize", "bogus"]), "Invalid value for '--quantize'"),
    ],
)
def test_bad_input_is_a_one_line_error(tiny_run, tmp_path, make_case, message):
    run, output, extra = make_case(tiny_run, tmp_path)
    result = CliRunner().invoke(main, ["convert", str(run), "-o", str(output), *extra])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and not output.exists()


def copy_run(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("backup", "logs", "eval-*"))
    return run


def test_corrupt_checkpoint_is_a_clear_error(tiny_run, tmp_path):
    run = copy_run(tiny_run, tmp_path)
    (run / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(main, ["convert", str(run), "-o", str(tmp_path / "m.tflite")])
    assert result.exit_code == 1 and "cannot be loaded" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_trained_before_conversion_inputs_were_kept_says_what_to_do(tiny_run, tmp_path):
    """An older run (no conversion.npz) is refused in one line that names the fix; rerunning its
    train command adds the file without training again."""
    run = copy_run(tiny_run, tmp_path)
    (run / CONVERSION_FILE).unlink()
    output = tmp_path / "m.tflite"
    result = CliRunner().invoke(main, ["convert", str(run), "-o", str(output), "--quantize", "int8"])
    assert result.exit_code == 1 and "rerun its train command" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not output.exists()
    from leaf_edge.train import train

    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    history = json.loads((run / "metrics.json").read_text())["history"]
    train(config, run, verbose=0, log=lambda *_: None)
    assert json.loads((run / "metrics.json").read_text())["history"] == history  # no epoch trained
    again, original = read_conversion_inputs(run), read_conversion_inputs(tiny_run)
    np.testing.assert_array_equal(again.calibration, original.calibration)
    np.testing.assert_array_equal(again.waves["test"], original.waves["test"])


def recipe_draws(config, draws, count):
    index = config.index()
    train = load_split(index, "train", config.spec.sample_rate, config.spec.clip_samples, config.seed)
    return recipe_calibrations(config, train, *augmentation_sources(config, index), draws, count)


def test_int8_is_calibrated_on_clips_as_the_training_recipe_saw_them(tiny_run):
    """Calibration sets are training clips through the run's own augmentation, the same every
    time; the run keeps them (float16) for its conversion."""
    config = TrainConfig.from_dict(json.loads((tiny_run / "config.json").read_text()))
    first, second = recipe_draws(config, 2, 32)
    np.testing.assert_array_equal(first, next(recipe_draws(config, 1, 32)))
    assert np.abs(first - second).max() > 1e-3
    clean = next(recipe_draws(dataclasses.replace(config, augment=AugmentConfig.off()), 1, 32))
    assert first.shape == clean.shape == (32, config.spec.clip_samples)
    changed = np.abs(first - clean).max(axis=1) > 1e-3
    assert 8 < changed.sum() <= 32
    kept = read_conversion_inputs(tiny_run).calibration
    recipe = next(recipe_draws(config, 1, kept.shape[1]))
    np.testing.assert_allclose(kept[0], recipe, rtol=1e-3, atol=1e-4)  # float16


def test_int8_keeps_the_calibration_most_faithful_to_the_float_model(tiny_run):
    """Of several calibration sets, the converter keeps the model that agrees most with the float
    one on the validation split (here a good set first, then one 60 dB too quiet)."""
    import keras

    from converter.convert import most_faithful_conversion
    from converter.fold import inference_model
    from converter.verify import scores
    from leaf_edge.runs import load_run

    model, config = load_run(tiny_run)
    index = config.index()
    good = next(recipe_draws(config, 1, 32))
    candidates = [good, good * 1e-3]
    validation = load_split(index, "validation", config.spec.sample_rate, config.spec.clip_samples, 0)
    reference = keras.ops.softmax(model.predict(validation.waves, verbose=0)).numpy()
    tflite, clips, chosen = most_faithful_conversion(
        inference_model(model), "int8", "float32", candidates, validation.waves, reference, lambda *_: None
    )
    agreement = chosen["agreement"]
    assert agreement[0] > agreement[1] and chosen == {"draws": 2, "chosen": 0, "agreement": agreement}
    assert clips is good
    kept = np.mean(scores(tflite, validation.waves).argmax(1) == reference.argmax(1))
    assert kept == agreement[0]


def test_calibrated_modes_report_the_draw_they_kept(converted):
    for mode in ("int8", "int16x8"):
        chosen = converted[mode][1]["calibration"]
        assert chosen["draws"] == 1 == len(chosen["agreement"]) and chosen["chosen"] == 0
        assert 0 < chosen["agreement"][0] <= 1
    assert "calibration" not in converted["dynamic"][1]
    assert converted["dynamic"][1].get("streaming") is None  # --no-streaming


def test_interrupted_conversion_leaves_nothing(tiny_run, tmp_path):
    output = tmp_path / "out" / "m.tflite"
    output.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "leaf_edge.cli", "convert", str(tiny_run), "-o", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible,
    )
    for line in process.stdout:  # wait for "folding ...": the conversion has started
        if "folding" in line:
            break
    else:
        raise AssertionError("the conversion never started")
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert list(output.parent.iterdir()) == []


def test_a_conversion_onto_a_full_disk_is_one_line_and_leaves_nothing(tiny_run, tmp_path):
    """ENOSPC once ended in a traceback after 35 s; TensorFlow's own writers fail the same way."""
    import tempfile
    from pathlib import Path

    from tests.processes import small_disk

    output = tmp_path / "m.tflite"
    command = [sys.executable, "-m", "leaf_edge.cli", "convert", str(tiny_run), "-o", str(output),
               "--no-streaming"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=small_disk(256 * 1024))  # fmt: skip
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "File too large" in errors[0] and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"leaf-edge-export-{process.pid}-*"))


def test_folded_mel_frontend_equals_the_trained_one(golden):
    """The mel STFT as a strided real convolution gives the reference mel filterbanks."""

    from converter.fold import FoldedMel
    from leaf_edge.frontends.mel import MelFilterbanks

    wave = golden("input_wave_2x16000")
    expected = golden("melfbanks_log_output_2x100x40")
    folded = FoldedMel(MelFilterbanks())(wave).numpy()
    assert np.abs(folded - expected).max() <= 1e-4 * np.abs(expected).max()


def test_metadata_is_inside_every_file(converted, tiny_run):
    from device.contract import AudioSpec, audio_spec, entry_problems
    from device.metadata import read_leaf_edge_metadata

    labels = json.loads((tiny_run / "metrics.json").read_text())["data"]["labels"]
    trained_spec = TrainConfig.from_dict(json.loads((tiny_run / "config.json").read_text())).spec
    for mode, (path, report) in converted.items():
        meta = read_leaf_edge_metadata(path.read_bytes())
        assert (meta.sample_rate, meta.channels, meta.labels) == (16000, 1, labels)
        assert meta.licence == "Apache-2.0" and meta.min_parser_version == "1.3.0"
        assert meta.name == "leaf-efficientnet-b0" and "leaf" in meta.description
        entry = meta.leaf_edge
        assert entry["quantization"]["mode"] == mode and entry["frontend"]["type"] == "leaf"
        assert entry["accuracy"]["accuracy_tflite"] == report["accuracy_tflite"]
        assert entry["format"] == 2 and entry_problems(entry) == []
        assert AudioSpec(**entry["audio"]) == trained_spec
        assert audio_spec(entry).clip_samples == 16000 and entry["dataset"]["clips"]["train"] > 0
        assert entry["background_labels"] == ["_silence_", "_unknown_"]
        assert entry["task"] == "keywords" and entry["detection"]["hop_seconds"] == 0.25


MEDIAPIPE_PROBE = """
import json, sys
import soundfile as sf, soxr
from mediapipe.tasks.python import audio
from mediapipe.tasks.python.components.containers import audio_data
from mediapipe.tasks.python.core import base_options

options = audio.AudioClassifierOptions(
    base_options=base_options.BaseOptions(model_asset_path=sys.argv[1]), max_results=1
)
tops = []
with audio.AudioClassifier.create_from_options(options) as classifier:
    for rate in (16000, 44100):  # at 44.1 kHz MediaPipe resamples to the metadata's rate itself
        for clip in sys.argv[2:]:
            wave, clip_rate = sf.read(clip, dtype="float32")
            wave = soxr.resample(wave, clip_rate, rate)
            result = classifier.classify(audio_data.AudioData.create_from_array(wave, rate))
            top = result[0].classifications[0].categories[0]
            tops.append([rate, top.category_name, top.score])
print(json.dumps(tops))
"""


@pytest.mark.parametrize("mode", ["none", "int8"])
def test_mediapipe_audio_classifier_reads_the_metadata(converted, tiny_keywords, mode):
    """A standard reader takes the sample rate and labels from our metadata and runs the model."""
    import soundfile as sf

    from device.metadata import read_leaf_edge_metadata
    from device.runtime import ModelRunner

    path, _ = converted[mode]
    clips = sorted(tiny_keywords.glob("yes/*.wav"))[:2] + sorted(tiny_keywords.glob("stop/*.wav"))[:2]
    result = subprocess.run(
        [sys.executable, "-c", MEDIAPIPE_PROBE, str(path), *map(str, clips)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tops = json.loads(result.stdout.strip().splitlines()[-1])
    labels = read_leaf_edge_metadata(path.read_bytes()).labels
    ours = ModelRunner(path.read_bytes()).scores(np.stack([sf.read(c, dtype="float32")[0] for c in clips]))
    expected = [labels[i] for i in ours.argmax(1)]
    assert [name for rate, name, _ in tops if rate == 16000] == expected
    assert np.allclose([score for rate, _, score in tops if rate == 16000], ours.max(1), atol=1e-3)
    # Its own resampler differs from ours, which a 2-epoch model notices: only check the labels' origin.
    assert {name for rate, name, _ in tops if rate == 44100} <= set(labels)


def test_inspect_prints_the_metadata(converted):
    path, report = converted["int8"]
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    for text in (
        "leaf-efficientnet-b0",
        "Apache-2.0",
        "16000 Hz, 1 channel",
        "_unknown_",
        "int8",
        "CONV_2D/INT8",
        "window signature     serving_default: args_0 -> output_0",
        "streaming signature  serving_default: audio, frames, hop -> audio, frames, scores",
    ):
        assert text in result.output
    info = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert info["signatures"]["streaming"][0]["inputs"] == ["audio", "frames", "hop"]
    assert info["size_bytes"] == report["size_bytes"] == path.stat().st_size
    assert info["ops"] == report["ops"] and info["missing_for_leaf_edge"] == []
    assert info["inputs"][0]["shape"] == [1, 16000] and info["inputs"][0]["dtype"] == "FLOAT32"


def test_inspect_needs_no_tensorflow(converted):
    probe = "import sys; from leaf_edge.cli import main; main()"
    path, _ = converted["none"]
    code = probe.replace("main()", "main(['inspect', sys.argv[1]], standalone_mode=False)")
    code += "; assert not [m for m in sys.modules if m.startswith('tensorflow')], 'tensorflow imported'"
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "labels" in result.stdout, result.stderr[-2000:]


def test_inspect_of_a_model_without_metadata_says_what_is_missing(converted, tmp_path):
    from tests.tflite_files import without_metadata

    bare = without_metadata(converted["none"][0], tmp_path / "bare.tflite")
    result = CliRunner().invoke(main, ["inspect", str(bare)])
    assert result.exit_code == 0 and "missing input audio properties" in result.output


@pytest.mark.parametrize(
    "content, message",
    [(b"RIFF....WAVEfmt ", "is not a TFLite model"), (None, "damaged or truncated TFLite file")],
)
def test_inspect_of_a_bad_file_is_a_one_line_error(converted, tmp_path, content, message):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content if content is not None else converted["none"][0].read_bytes()[:20])
    result = CliRunner().invoke(main, ["inspect", str(bad)])
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_converts_without_its_data_set_and_to_int8_scores_on_request(tiny_run, converted, tmp_path):
    """What conversion needs of the data is kept in the run: delete the data set and int8 still
    calibrates on the run's own recipe draws and verifies on its test clips; ``--io int8`` gives
    int8 scores out."""
    run = copy_run(tiny_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["data"] = str(tmp_path / "gone")
    (run / "config.json").write_text(json.dumps(config))
    path = tmp_path / "io8.tflite"
    args = ["convert", str(run), "-o", str(path), "--quantize", "int8", "--io", "int8", "--json"]
    args += ["--calibration-draws", "1", "--no-streaming"]  # the fixture's draw, nothing more
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    kept = read_conversion_inputs(run)
    assert report["clips"] == len(kept.labels["test"]) == kept.totals["test"] > 0
    info = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert info["outputs"][0]["dtype"] == "INT8" and info["inputs"][0]["dtype"] == "FLOAT32"
    # the same calibration draw as the fixture's: int8 scores out agree with the float model
    # as often as float scores out did, but for a clip or two (26 validation clips)
    agreement = report["calibration"]["agreement"][0]
    assert abs(agreement - converted["int8"][1]["calibration"]["agreement"][0]) <= 0.08
    refused = CliRunner().invoke(
        main, ["convert", str(tiny_run), "-o", str(tmp_path / "x.tflite"), "--io", "int8"]
    )
    assert refused.exit_code == 1 and "needs --quantize int8" in refused.output

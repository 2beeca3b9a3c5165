"""``leaf-edge evaluate``: report, JSON, pictures, and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from device import Classifier
from device.audio import read_audio
from device.models import MODELS_DIR
from leaf_edge.cli import main
from leaf_edge.evaluate import classification_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_counts_are_right():
    report = classification_report(["a", "b", "c"], np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]))
    assert report["accuracy"] == 3 / 5
    assert report["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert report["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert report["per_class"]["b"]["precision"] == 0.5 and report["per_class"]["b"]["recall"] == 1.0


def test_evaluate_prints_json_and_writes_the_papers_pictures(tiny_run, tiny_keywords):
    result = CliRunner().invoke(main, ["evaluate", str(tiny_run), str(tiny_keywords), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert report["split"] == "test" and report["examples"] == sum(metrics["data"]["clips"]["test"].values())
    assert abs(report["accuracy"] - metrics["final"]["test_accuracy"]) < 1e-6
    assert set(report["per_class"]) == set(metrics["data"]["labels"])
    for name in ("confusion", "filters", "spectrograms"):
        with open(report["files"][name], "rb") as f:
            assert f.read(8) == PNG_MAGIC, name
    assert report["filters"]["median_bandwidth_ratio"] > 0
    by_engine = report["by_engine"]
    assert "espeak-ng" in by_engine and set(by_engine) <= {"espeak-ng", "flite", "festival", "noise"}
    assert sum(row["clips"] for row in by_engine.values()) == report["examples"]
    correct = sum(row["accuracy"] * row["clips"] for row in by_engine.values())
    assert abs(correct / report["examples"] - report["accuracy"]) < 1e-6
    by_voice = report["by_voice"]  # each engine's clips shared among its voices
    assert len(by_voice) > len(by_engine) and all("+" not in voice for voice in by_voice)
    for engine, row in by_engine.items():
        voices = [v for name, v in by_voice.items() if name.split("/")[0] == engine]
        assert sum(v["clips"] for v in voices) == row["clips"], engine
        assert abs(sum(v["accuracy"] * v["clips"] for v in voices) - row["accuracy"] * row["clips"]) < 1e-6


def test_text_report_is_a_table(tiny_run, tiny_keywords):
    result = CliRunner().invoke(
        main, ["evaluate", str(tiny_run), str(tiny_keywords), "--split", "validation"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("validation accuracy")
    assert "precision" in result.output and "_unknown_" in result.output
    assert "worst voices (of " in result.output


def test_not_a_run_and_unfinished_runs_are_clear_errors(tmp_path, tiny_keywords):
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", str(tmp_path), str(tiny_keywords)])
    assert result.exit_code == 1 and "not a leaf-edge run" in result.output
    (tmp_path / "config.json").write_text("{}")
    result = runner.invoke(main, ["evaluate", str(tmp_path), str(tiny_keywords)])
    assert result.exit_code == 1 and "has not finished training" in result.output


def test_another_folder_is_scored_whole_with_its_pictures_kept_apart(tiny_run, tiny_keywords, tmp_path):
    """``--split all`` scores every clip of a folder; each data set and split has its own pictures."""
    other = tmp_path / "other"
    shutil.copytree(tiny_keywords, other)
    own = CliRunner().invoke(main, ["evaluate", str(tiny_run), str(tiny_keywords), "--json"])
    result = CliRunner().invoke(main, ["evaluate", str(tiny_run), str(other), "--split", "all", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    clips = sum(1 for p in other.rglob("*.wav") if p.parent.name != "_background_noise_")
    assert report["split"] == "all" and report["examples"] == clips
    own_files = json.loads(own.output)["files"]
    assert Path(report["files"]["confusion"]).parent.name == "eval-other-all"
    assert Path(own_files["confusion"]).parent.name == "eval-keywords-test"
    assert Path(own_files["confusion"]).is_file() and Path(report["files"]["confusion"]).is_file()


def test_a_model_file_is_scored_as_the_device_runs_it(tiny_keywords):
    """``evaluate MODEL.tflite DATA``: the shipped int8 file through LiteRT on DATA's test split
    gives the accuracy that classifying each listed file with the runtime API gives."""
    model = MODELS_DIR / "keywords-leaf.tflite"
    result = CliRunner().invoke(main, ["evaluate", str(model), str(tiny_keywords), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    classifier = Classifier(model)
    right = []
    for line in (tiny_keywords / "testing_list.txt").read_text().split():
        folder = line.split("/")[0]
        truth = folder if folder in classifier.labels else "_unknown_"
        named = classifier.classify(read_audio(tiny_keywords / line, 16000), 16000, top_k=1)[0].label
        right.append(named == truth)
    assert report["model"] == str(model) and report["examples"] == len(right)
    assert report["accuracy"] == np.mean(right) and report["accuracy"] > 0.8
    assert report["files"] == {} and set(report["by_engine"]) <= {"espeak-ng", "flite", "festival", "noise"}

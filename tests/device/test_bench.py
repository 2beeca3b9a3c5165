"""`leaf-edge bench`: the measurements of several models side by side, and their ratios."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from device.models import MODELS_DIR


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "bench", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def report(keyword_model) -> dict:
    result = bench(str(keyword_model), str(MODELS_DIR / "keywords-mel.tflite"), "--threads", "2", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_each_model_is_measured(report, keyword_model):
    leaf, mel = report["models"]
    assert leaf["size_mb"] == round(keyword_model.stat().st_size / 1e6, 2)
    for model in (leaf, mel):
        window = model["window"]
        assert window["ms_1_thread"] > 0 and window["ms_2_thread"] > 0
        expected_rtf = window["ms_1_thread"] / 1000 / model["hop_seconds"]
        assert window["rtf_1_thread"] == pytest.approx(expected_rtf, rel=1e-2)
        assert 20 < model["peak_memory_mb"] < 2000
    assert mel["stream"] is None and mel["rtf_1_thread"] == mel["window"]["rtf_1_thread"]
    stream = leaf["stream"]  # the default model carries a streaming model: continuous cost is its
    assert stream["hop_seconds"] == 0.25 and stream["ms_1_thread"] > 0
    assert leaf["rtf_1_thread"] == stream["rtf_1_thread"]


def test_ratios_are_against_the_first_model(report):
    leaf, mel = report["models"]
    first, second = report["ratios"]
    assert first["window_latency_vs_first"] == first["rtf_vs_first"] == first["size_vs_first"] == 1.0
    assert second["rtf_vs_first"] == pytest.approx(mel["rtf_1_thread"] / leaf["rtf_1_thread"], rel=2e-2)
    assert first["stream_hop_vs_window"] == pytest.approx(
        leaf["stream"]["ms_1_thread"] / leaf["window"]["ms_1_thread"], rel=2e-2
    )
    assert "stream_hop_vs_window" not in second


def test_table_and_bad_input(keyword_model, tmp_path):
    result = bench(str(keyword_model), "--threads", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "keywords-leaf.tflite" in result.stdout and "ratios to keywords-leaf.tflite" in result.stdout
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    result = bench(str(junk))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr

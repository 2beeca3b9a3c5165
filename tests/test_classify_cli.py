"""``leaf-edge classify`` on files: short clips, long recordings in blocks, and every bad input."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from leaf_edge.cli import main


def classify(*args):
    return CliRunner().invoke(main, ["classify", *map(str, args)])


@pytest.fixture(scope="module")
def clips(tiny_keywords):
    return [tiny_keywords / line for line in (tiny_keywords / "testing_list.txt").read_text().split()[:6]]


def test_a_clip_gets_its_top_labels(tiny_model, clips):
    result = classify(tiny_model, clips[0], "--top-k", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["duration_seconds"] == 1.0 and len(report["top"]) == 2
    assert report["top"][0]["score"] >= report["top"][1]["score"]
    human = classify(tiny_model, clips[0])
    assert human.exit_code == 0 and report["top"][0]["label"] in human.output


def test_a_long_recording_gets_a_timeline_and_events(tiny_model, clips, tmp_path):
    waves = [sf.read(c, dtype="float32")[0] for c in clips]
    long = tmp_path / "long.flac"
    sf.write(long, np.concatenate([np.concatenate([np.zeros(8000, np.float32), w]) for w in waves]), 16000)
    result = classify(tiny_model, long, "--hop", "0.5", "--threshold", "0.3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["duration_seconds"] == 9.0
    assert [w["time"] for w in report["windows"]] == [1.0 + 0.5 * i for i in range(17)]
    assert sum(s["windows"] for s in report["segments"]) == 17
    assert all(e["label"] not in ("_silence_", "_unknown_") for e in report["events"])
    human = classify(tiny_model, long, "--hop", "0.5")
    assert "timeline" in human.output and "events" in human.output


def peak_memory_classifying(model, path) -> tuple[float, dict]:
    tracemalloc.start()
    result = classify(model, path, "--hop", "2", "--json")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.exit_code == 0, result.output
    return peak, json.loads(result.output)


def test_long_files_are_read_in_blocks(tiny_model, tmp_path):
    """Ten minutes of audio (38 MB as float) need no more memory than one minute."""
    rng = np.random.default_rng(0)
    for minutes in (1, 10):
        with sf.SoundFile(tmp_path / f"{minutes}.wav", "w", 16000, 1, "PCM_16") as out:
            for _ in range(6 * minutes):
                out.write(rng.normal(0, 0.05, 160000).astype(np.float32))
    short_peak, _ = peak_memory_classifying(tiny_model, tmp_path / "1.wav")
    long_peak, report = peak_memory_classifying(tiny_model, tmp_path / "10.wav")
    assert len(report["windows"]) == 300
    assert long_peak - short_peak < 2e6, (
        f"{short_peak / 1e6:.1f} MB for 1 min, {long_peak / 1e6:.1f} MB for 10"
    )


def write_bad_files(folder, clip):
    wave = sf.read(clip, dtype="float32")[0]
    (folder / "text.wav").write_text("this is not audio")
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    data = (folder / "text.wav").read_bytes()
    sf.write(folder / "whole.wav", wave, 16000)
    (folder / "truncated.wav").write_bytes((folder / "whole.wav").read_bytes()[:30])
    sf.write(folder / "nan.wav", np.where(np.arange(len(wave)) == 500, np.nan, wave), 16000, subtype="FLOAT")
    return data


@pytest.mark.parametrize(
    "name, message",
    [
        ("text.wav", "not an audio file"),
        ("empty.wav", "empty"),
        ("truncated.wav", "not an audio file"),
        ("nan.wav", "NaN"),
        ("missing.wav", "no such file"),
    ],
)
def test_bad_audio_is_a_one_line_error(tiny_model, clips, tmp_path, name, message):
    write_bad_files(tmp_path, clips[0])
    result = CliRunner().invoke(main, ["classify", str(tiny_model), str(tmp_path / name)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 2  # the file's error, then the summary


def test_good_files_are_still_classified_next_to_bad_ones(tiny_model, clips, tmp_path):
    write_bad_files(tmp_path, clips[0])
    result = CliRunner().invoke(
        main, ["classify", str(tiny_model), str(tmp_path / "text.wav"), str(clips[1])]
    )
    assert result.exit_code == 1 and "1 of 2 files" in result.output and str(clips[1]) in result.output


def test_a_tflite_without_leaf_edge_metadata_says_what_is_missing(tiny_model, clips, tmp_path):
    from tests.tflite_files import without_metadata

    bare = without_metadata(tiny_model, tmp_path / "bare.tflite")
    result = classify(bare, clips[0])
    assert result.exit_code == 1
    assert "not a leaf-edge model" in result.output and "sample rate" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (lambda good: good[: len(good) // 3], "damaged or truncated"),
        (lambda good: b"\0" * 64, "not a TFLite"),
    ],
)
def test_a_corrupt_tflite_is_a_one_line_error(tiny_model, clips, tmp_path, content, message):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content(tiny_model.read_bytes()))
    result = classify(bad, clips[0])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output

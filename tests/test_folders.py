"""Folder data sets: any rate, depth and channel count; splits; unreadable files reported."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from leaf_edge.data.folders import (
    AudioError,
    DataError,
    fit_length,
    index_folder,
    load_split,
    read_audio,
    speech_commands_split,
)


def tone(freq: float, rate: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


def dominant_frequency(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize(
    "rate, subtype, channels, fmt",
    [
        (8000, "PCM_16", 1, "WAV"),
        (22050, "PCM_24", 2, "WAV"),
        (44100, "FLOAT", 1, "WAV"),
        (48000, "PCM_16", 2, "FLAC"),
        (16000, "PCM_U8", 1, "WAV"),
    ],
)
def test_any_rate_depth_and_channels_become_mono_at_the_model_rate(tmp_path, rate, subtype, channels, fmt):
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, tone(1000, rate, 0.7, channels), rate, subtype=subtype, format=fmt)
    audio = read_audio(path, 16000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 0.7 * 16000) <= 2
    assert abs(dominant_frequency(audio, 16000) - 1000) < 5


def test_crop_and_pad_to_the_clip_length():
    assert fit_length(np.arange(10, dtype=np.float32), 4).tolist() == [3, 4, 5, 6]
    assert fit_length(np.ones(2, np.float32), 6).tolist() == [0, 0, 1, 1, 0, 0]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not audio at all", "not readable as audio"),
        (b"", "not readable as audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not readable as audio"),
    ],
)
def test_broken_files_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        read_audio(path, 16000)


def test_nan_samples_are_refused(tmp_path):
    wave = tone(440, 16000)
    wave[100] = np.nan
    sf.write(tmp_path / "nan.wav", wave, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        read_audio(tmp_path / "nan.wav", 16000)


def make_tree(root, labels, per_label=6):
    for label in labels:
        (root / label).mkdir(parents=True)
        for i in range(per_label):
            sf.write(root / label / f"spk{i}_nohash_0.wav", tone(300 + 100 * i, 16000), 16000)


def test_folder_per_label_tree_with_unreadable_files_reported(tmp_path):
    make_tree(tmp_path, ["dog", "cat", "bird"], per_label=30)
    (tmp_path / "cat" / "broken_nohash_0.wav").write_bytes(b"garbage")
    (tmp_path / "notes.txt").write_text("ignored")
    index = index_folder(tmp_path)
    assert index.labels == ["bird", "cat", "dog"]
    loaded = {s: load_split(index, s, 16000, 16000) for s in ("train", "validation", "test")}
    total = sum(len(v.labels) for v in loaded.values())
    problems = [p for v in loaded.values() for p in v.problems]
    assert total == 90 and len(problems) == 1
    split_with_problem = next(v for v in loaded.values() if v.problems)
    assert (
        "1 unreadable" in split_with_problem.report() and "broken_nohash_0.wav" in split_with_problem.report()
    )
    assert all(v.waves.shape[1:] == (16000,) for v in loaded.values())


def test_hash_split_keeps_a_speaker_in_one_split():
    names = [f"dog/abc{i}_nohash_{k}.wav" for i in range(50) for k in range(3)]
    by_speaker = {}
    for name in names:
        by_speaker.setdefault(name.split("_nohash_")[0], set()).add(speech_commands_split(name))
    assert all(len(s) == 1 for s in by_speaker.values())
    assert {speech_commands_split(n) for n in names} == {"train", "validation", "test"}


def test_keywords_fold_other_words_into_unknown_and_make_silence(tmp_path):
    make_tree(tmp_path, ["yes", "no", "bed", "cat"])
    noise_dir = tmp_path / "_background_noise_"
    noise_dir.mkdir()
    sf.write(noise_dir / "white.wav", np.random.default_rng(0).normal(0, 0.1, 48000), 16000)
    index = index_folder(tmp_path, keywords=["yes", "no"])
    assert index.labels == ["yes", "no", "_silence_", "_unknown_"]
    loaded = load_split(index, "train", 16000, 16000)
    names = [index.labels[i] for i in loaded.labels]
    assert names.count("_unknown_") == sum(
        1 for p, _ in index.files["train"] if p.parent.name in ("bed", "cat")
    )
    assert "_silence_" in names or len(loaded.labels) < 10


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: None, "is not a folder"),
        (lambda root: root.mkdir(), "no label folders"),
        (lambda root: make_tree(root, ["only"]), "only one label"),
    ],
)
def test_unusable_folders_say_why(tmp_path, setup, message):
    root = tmp_path / "data"
    setup(root)
    with pytest.raises(DataError, match=message):
        index_folder(root)


def test_missing_keyword_folder(tmp_path):
    make_tree(tmp_path, ["yes", "cat"])
    with pytest.raises(DataError, match="no folder for keyword"):
        index_folder(tmp_path, keywords=["yes", "no"])

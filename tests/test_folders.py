"""Folder data sets: any rate, depth and channel count; splits; unreadable files reported."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from leaf_edge.data.folders import (
    AudioInputError,
    DataError,
    fit_length,
    index_folder,
    load_split,
    read_audio,
    speaker_of,
    stratified_split,
    typical_clip_seconds,
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
    with pytest.raises(AudioInputError, match=message):
        read_audio(path, 16000)


def test_nan_samples_are_refused(tmp_path):
    wave = tone(440, 16000)
    wave[100] = np.nan
    sf.write(tmp_path / "nan.wav", wave, 16000, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="NaN"):
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


def test_speaker_split_keeps_a_speaker_in_one_split_with_exact_shares():
    names = [f"dog/abc{i}_nohash_{k}.wav" for i in range(50) for k in range(2)]
    splits = stratified_split(names, speaker_of, 0.1, 0.2)
    by_speaker = {}
    for name, split in splits.items():
        by_speaker.setdefault(speaker_of(name), set()).add(split)
    assert all(len(s) == 1 for s in by_speaker.values())
    counts = {s: list(splits.values()).count(s) for s in ("train", "validation", "test")}
    assert counts == {"train": 70, "validation": 10, "test": 20}


def test_file_split_is_stratified_by_label(tmp_path):
    """Each label gets its share of validation and test clips (a per-file hash gave one label 3)."""
    for label, count in (("a", 40), ("b", 12), ("c", 5)):
        (tmp_path / label).mkdir()
        for i in range(count):
            sf.write(tmp_path / label / f"{label}{i}.wav", tone(300, 16000, 0.5), 16000)
    index = index_folder(tmp_path, split_by="file", validation_share=0.25, test_share=0.25)
    per_label = {
        split: [sum(1 for _, y in files if y == k) for k in range(3)] for split, files in index.files.items()
    }
    assert per_label["test"] == [10, 3, 1] and per_label["validation"] == [10, 3, 1]
    again = index_folder(tmp_path, split_by="file", validation_share=0.25, test_share=0.25)
    assert again.files == index.files  # stable


def test_a_separate_test_folder_holds_the_test_split(tmp_path):
    make_tree(tmp_path / "data", ["low", "high"])
    make_tree(tmp_path / "other", ["high"])
    index = index_folder(tmp_path / "data", test_folder=tmp_path / "other")
    assert {p.parent.parent.name for p, _ in index.files["test"]} == {"other"}
    assert all(y == index.labels.index("high") for _, y in index.files["test"])
    assert sum(map(len, index.files.values())) == 2 * 6 + 6
    make_tree(tmp_path / "odd", ["middle"])
    with pytest.raises(DataError, match="label 'middle' that the training data lacks"):
        index_folder(tmp_path / "data", test_folder=tmp_path / "odd")


def test_background_adds_a_silence_class_from_noise_or_recordings(tmp_path):
    make_tree(tmp_path / "data", ["low", "high"])
    generated = index_folder(tmp_path / "data", background="noise")
    assert generated.labels == ["high", "low", "_silence_"]
    loaded = load_split(generated, "train", 16000, 16000)
    silence = loaded.waves[loaded.labels == 2]
    assert len(silence) >= 1 and np.abs(silence).max() < 0.5
    (tmp_path / "room").mkdir()
    sf.write(tmp_path / "room" / "hum.wav", 0.01 * tone(50, 16000, 3.0), 16000)
    recorded = index_folder(tmp_path / "data", background=str(tmp_path / "room"))
    assert recorded.labels[-1] == "_silence_" and recorded.background == [tmp_path / "room" / "hum.wav"]
    assert index_folder(tmp_path / "data").labels == ["high", "low"]
    with pytest.raises(DataError, match="--background"):
        index_folder(tmp_path / "data", background=str(tmp_path / "nowhere"))


def test_files_far_shorter_than_the_clip_are_skipped_and_reported(tmp_path):
    make_tree(tmp_path, ["low", "high"])
    sf.write(tmp_path / "low" / "blip_nohash_0.wav", tone(300, 16000, 0.005), 16000)
    index = index_folder(tmp_path, split_by="file", validation_share=0, test_share=0)
    loaded = load_split(index, "train", 16000, 16000)
    assert len(loaded.labels) == 12
    assert "blip_nohash_0.wav" in loaded.report() and "shorter than a tenth of the clip" in loaded.report()


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


def test_the_typical_clip_length_is_the_median_file_length(tmp_path):
    for label, seconds in (("a", 2.0), ("b", 2.04), ("c", 3.0)):
        (tmp_path / label).mkdir()
        for i in range(3):
            sf.write(tmp_path / label / f"{i}.wav", tone(300, 8000, seconds), 8000)
    assert typical_clip_seconds(tmp_path) == 2.0
    with pytest.raises(DataError, match="is not a folder"):
        typical_clip_seconds(tmp_path / "nope")

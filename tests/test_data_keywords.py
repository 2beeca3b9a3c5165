"""The built-in keyword data set: layout, manifest, speaker-disjoint splits, determinism."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.data import synth
from leaf_edge.data.folders import DataError, index_folder
from leaf_edge.data.words import KEYWORDS, LABELS


def manifest(root):
    with open(root / "manifest.csv") as f:
        return list(csv.DictReader(f))


def test_layout_is_speech_commands(tiny_keywords):
    for keyword in KEYWORDS:
        assert (tiny_keywords / keyword).is_dir()
    assert list((tiny_keywords / "_background_noise_").glob("*.wav"))
    index = index_folder(tiny_keywords)
    assert index.labels == list(LABELS)
    assert all(index.files[split] for split in ("train", "validation", "test"))


def test_manifest_lists_every_clip_once_with_its_origin(tiny_keywords):
    rows = manifest(tiny_keywords)
    paths = [row["path"] for row in rows]
    assert len(paths) == len(set(paths))
    on_disk = {
        str(p.relative_to(tiny_keywords))
        for p in tiny_keywords.glob("*/*.wav")
        if p.parent.name != "_background_noise_"
    }
    assert set(paths) == on_disk
    engines = {row["engine"] for row in rows}
    assert {"espeak-ng", "flite", "festival", "noise"} <= engines
    for row in rows:
        json.loads(row["settings"])
        assert row["split"] in ("train", "validation", "test")
        if row["engine"] != "noise":
            assert row["text"] and row["voice"]


def test_splits_are_speaker_disjoint_and_match_the_lists(tiny_keywords):
    rows = manifest(tiny_keywords)
    by_speaker = {}
    for row in rows:
        by_speaker.setdefault(row["speaker"], set()).add(row["split"])
    assert all(len(splits) == 1 for splits in by_speaker.values())
    for split, name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        listed = set((tiny_keywords / name).read_text().split())
        assert listed == {row["path"] for row in rows if row["split"] == split}


def test_clips_are_one_second_of_unclipped_speech(tiny_keywords):
    rows = [row for row in manifest(tiny_keywords) if row["engine"] != "noise"][:40]
    for row in rows:
        audio, rate = sf.read(tiny_keywords / row["path"])
        assert rate == 16000 and audio.shape == (16000,)
        assert 0.3 < np.abs(audio).max() < 0.99
        assert 0.08 <= float(row["speech_seconds"]) <= 0.98


def test_summary_counts_and_reports_drops(tiny_keywords):
    summary = json.loads((tiny_keywords / "dataset.json").read_text())
    assert sum(summary["clips"].values()) == len(manifest(tiny_keywords))
    assert summary["dropped"]["total"] == sum(summary["dropped"]["by_reason"].values())
    assert summary["speakers"] == {"espeak-ng": 10, "flite": 6, "festival": 4}


def test_same_seed_same_data_set(tmp_path):
    config = synth.KeywordSetConfig(speakers=4, background_seconds=2)
    for name in ("a", "b"):
        synth.generate_keywords(tmp_path / name, config, workers=2, progress=False)
    assert (tmp_path / "a" / "manifest.csv").read_text() == (tmp_path / "b" / "manifest.csv").read_text()
    for row in manifest(tmp_path / "a")[:10]:
        assert (tmp_path / "a" / row["path"]).read_bytes() == (tmp_path / "b" / row["path"]).read_bytes()
    other = synth.plan_speakers(synth.KeywordSetConfig(speakers=4, seed=1))
    assert [s.voice for s in other] != [s.voice for s in synth.plan_speakers(config)]


def test_speech_checks_drop_bad_clips():
    rate = 16000
    assert synth.check_speech(np.zeros(rate, np.float32), rate, 0.98)[1] == "empty"
    loud = np.sin(np.linspace(0, 2000, rate)).astype(np.float32) * 2
    assert synth.check_speech(np.clip(loud, -1, 1), rate, 0.98)[1] == "clipped"
    long_word = 0.5 * np.sin(np.linspace(0, 4000, 2 * rate)).astype(np.float32)
    assert synth.check_speech(long_word, rate, 0.98)[1] == "too long for the clip"
    word = np.zeros(rate, np.float32)
    word[4000:8000] = 0.5 * np.sin(np.linspace(0, 700, 4000))
    trimmed, verdict = synth.check_speech(word, rate, 0.98)
    assert verdict == "ok" and 4000 <= len(trimmed) <= 4000 + 2 * rate // 50 + rate // 100


def test_cli_generates_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "kw"
    result = runner.invoke(main, ["data", "keywords", str(out), "--speakers", "3", "--engines", "flite"])
    assert result.exit_code == 0, result.output
    assert "clips" in result.output and "dropped" in result.output
    again = runner.invoke(main, ["data", "keywords", str(out), "--speakers", "3"])
    assert again.exit_code == 1 and "not empty" in again.output
    bad = runner.invoke(main, ["data", "keywords", str(tmp_path / "x"), "--engines", "sam"])
    assert bad.exit_code == 2 and "--engines" in bad.output


def test_missing_engine_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no TTS engine on the PATH
    result = CliRunner().invoke(
        main,
        [
            "data",
            "keywords",
            str(tmp_path / "kw"),
            "--speakers",
            "2",
            "--engines",
            "flite",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "flite is not installed" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "kw").exists()


@pytest.mark.parametrize("engine", ["espeak-ng", "flite", "festival"])
def test_every_engine_says_a_keyword(engine):
    from leaf_edge.data.engines import sample_voice

    voice = sample_voice(engine, np.random.default_rng(0))
    [(audio, rate)] = voice.render(["yes"])
    assert rate >= 16000 and 0.1 < len(audio) / rate < 2 and np.abs(audio).max() > 0.05


def test_every_accent_voice_says_a_keyword():
    """Each of festival's other-language voices and a few of espeak-ng's languages say "yes"."""
    from leaf_edge.data.engines import (
        ESPEAK_ACCENT_LANGUAGES,
        FESTIVAL_ACCENT_VOICES,
        Voice,
        require_accent_voices,
    )

    require_accent_voices()  # all installed here (scripts/install-system-deps.sh)
    voices = [Voice("festival", name, {"duration_stretch": 1.0}) for name in FESTIVAL_ACCENT_VOICES]
    voices += [
        Voice("espeak-ng", f"{language}+m1", {"speed_wpm": 160, "pitch": 50})
        for language in ESPEAK_ACCENT_LANGUAGES[:3]
    ]
    for voice in voices:
        [(audio, rate)] = voice.render(["yes"])
        assert rate >= 16000 and 0.1 < len(audio) / rate < 2 and np.abs(audio).max() > 0.05, voice


def test_an_accent_voice_festival_lacks_is_a_one_line_error(monkeypatch, tmp_path):
    """festival asked for its voices: one it does not have names its package, and nothing is written."""
    from leaf_edge.data import engines

    monkeypatch.setitem(engines.FESTIVAL_ACCENT_VOICES, "absent_diphone", "festvox-absent")
    args = ["data", "keywords", str(tmp_path / "kw"), "--speakers", "4", "--accent-share", "0.5"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        "Error: festival's accent voices are not all installed (apt-get install festvox-absent)"
    ]
    assert not (tmp_path / "kw").exists()


# The first ten speakers of the default set as drawn before accents existed (645be7a).
FIRST_SPEAKERS = [
    ("en-us-nyc+Denis", 311600382), ("en-us-nyc+iven3", 299514221), ("en-gb+Annie", 1296609365),
    ("en-gb+iven4", 923219749), ("en-gb-x-rp+paul", 1748334740), ("kal16", 830373333),
    ("rms", 1496938155), ("rms", 1902212662), ("ked_diphone", 559000772), ("ked_diphone", 307538124),
]  # fmt: skip


def test_an_accent_share_accents_speakers_and_changes_nothing_else():
    from leaf_edge.data.engines import ESPEAK_ACCENT_LANGUAGES, FESTIVAL_ACCENT_VOICES, FLITE_VOICES

    def accented_ids(speakers):
        return {s.speaker_id for s in speakers if s.voice.name.split("+")[0] in foreign[s.voice.engine]}

    plain = synth.plan_speakers(synth.KeywordSetConfig(speakers=10))
    assert [(s.voice.name, s.clip_seed) for s in plain] == FIRST_SPEAKERS  # no share: the set as it was
    foreign = {"espeak-ng": ESPEAK_ACCENT_LANGUAGES, "festival": tuple(FESTIVAL_ACCENT_VOICES), "flite": ()}
    plain = synth.plan_speakers(synth.KeywordSetConfig(speakers=40))
    shares = {
        share: synth.plan_speakers(synth.KeywordSetConfig(speakers=40, accent_share=share))
        for share in (0.3, 0.6, 1.0)
    }
    every = shares[1.0]
    assert accented_ids(every) == {s.speaker_id for s in plain if s.voice.engine != "flite"}
    assert {s.voice.name for s in every if s.voice.engine == "flite"} <= set(FLITE_VOICES)
    assert 0 < len(accented_ids(shares[0.3])) < len(accented_ids(shares[0.6])) < len(accented_ids(every))
    assert accented_ids(shares[0.3]) <= accented_ids(shares[0.6])
    for speakers in shares.values():  # the same splits, words, settings and clips
        for accented, same in zip(speakers, plain, strict=True):
            assert (accented.split, accented.words, accented.clip_seed) == (
                same.split,
                same.words,
                same.clip_seed,
            )
            if accented.speaker_id not in accented_ids(speakers):
                assert accented.voice == same.voice


def test_holding_out_an_engine_moves_all_its_clips_and_only_them(tiny_keywords):
    from leaf_edge.data.folders import HELD_OUT, clip_engines, hold_out_engine

    index = index_folder(tiny_keywords)
    held = hold_out_engine(index, "flite")
    engines = clip_engines(tiny_keywords)

    def engine(path):
        return engines[f"{path.parent.name}/{path.name}"]

    assert held.files[HELD_OUT] and {engine(p) for p, _ in held.files[HELD_OUT]} == {"flite"}
    for split in ("train", "validation", "test"):
        assert "flite" not in {engine(p) for p, _ in held.files[split]}
    before = sum(len(v) for v in index.files.values())
    assert sum(len(v) for v in held.files.values()) == before
    with pytest.raises(DataError, match="no clips by engine 'sam'.*espeak-ng, festival, flite"):
        hold_out_engine(index, "sam")


def test_holding_out_needs_the_manifest(tmp_path):
    from leaf_edge.data.folders import hold_out_engine

    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / "x_nohash_0.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(DataError, match="no manifest.csv"):
        hold_out_engine(index_folder(tmp_path), "flite")

"""WORLD resynthesis: each change does what it says, and a share of new speakers changes nothing else."""

from __future__ import annotations

import csv
import sys
from dataclasses import replace

import numpy as np
import pytest
import pyworld
import soundfile as sf
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.data import synth
from leaf_edge.data.engines import sample_voice
from leaf_edge.data.folders import manifest_rows, voice_name
from leaf_edge.data.resynthesis import Resynthesis

UNCHANGED = Resynthesis(
    pitch_scale=1.0, pitch_range=1.0, contour_depth=0.0, jitter=0.0, shimmer=0.0, breathiness=0.0,
    formant_scale=1.0, tilt_db_per_octave=0.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def spoken():
    """flite saying a word with voiced sounds all through, at flite's own rate."""
    [(audio, rate)] = sample_voice("flite", np.random.default_rng(0)).render(["seven"])
    return audio, rate


def say(change: Resynthesis, spoken) -> np.ndarray:
    audio, rate = spoken
    return change.apply(audio, rate, np.random.default_rng(0))


def analysed(audio: np.ndarray, rate: int):
    return pyworld.wav2world(audio.astype(np.float64), rate)


def median_pitch(audio, rate) -> float:
    f0, _, _ = analysed(audio, rate)
    return float(np.median(f0[f0 > 0]))


def test_pitch_moves_by_its_scale(spoken):
    rate = spoken[1]
    plain, higher = say(UNCHANGED, spoken), say(replace(UNCHANGED, pitch_scale=1.3), spoken)
    assert median_pitch(higher, rate) / median_pitch(plain, rate) == pytest.approx(1.3, rel=0.05)
    assert median_pitch(plain, rate) == pytest.approx(median_pitch(spoken[0], rate), rel=0.05)


@pytest.mark.parametrize("scale", [0.88, 1.14])
def test_formants_move_by_their_scale_and_pitch_stays(spoken, scale):
    """The output's mean envelope matches the input's stretched by the scale, not other stretches."""
    audio, rate = spoken
    moved = say(replace(UNCHANGED, formant_scale=scale), spoken)
    assert median_pitch(moved, rate) == pytest.approx(median_pitch(audio, rate), rel=0.05)

    def mean_log_envelope(x):
        f0, envelope, _ = analysed(x, rate)
        return np.log(envelope[f0 > 0]).mean(axis=0)

    source, target = mean_log_envelope(audio), mean_log_envelope(moved)
    freqs = np.linspace(0, rate / 2, len(source))
    band = (freqs > 200) & (freqs < 4000)

    def match(stretch):
        return np.corrcoef(np.interp(freqs / stretch, freqs, source)[band], target[band])[0, 1]

    candidates = [0.88, 1.0, 1.14]
    assert max(candidates, key=match) == scale


def test_breathiness_raises_aperiodicity(spoken):
    rate = spoken[1]

    def voiced_aperiodicity(x):
        f0, _, aperiodicity = analysed(x, rate)
        return aperiodicity[f0 > 0].mean()

    plain, breathy = say(UNCHANGED, spoken), say(replace(UNCHANGED, breathiness=0.4), spoken)
    assert voiced_aperiodicity(breathy) > voiced_aperiodicity(plain) + 0.05


def test_a_drawn_speaker_is_repeatable_and_keeps_the_level(spoken):
    change = Resynthesis.draw(np.random.default_rng(3))
    once, again = say(change, spoken), say(change, spoken)
    np.testing.assert_array_equal(once, again)
    assert len(once) == len(spoken[0]) and np.abs(once).max() == pytest.approx(
        np.abs(spoken[0]).max(), rel=1e-5
    )
    assert change != Resynthesis.draw(np.random.default_rng(4))


def test_a_share_makes_new_speakers_and_changes_nothing_else():
    plain = synth.plan_speakers(synth.KeywordSetConfig(speakers=40))
    half = synth.plan_speakers(synth.KeywordSetConfig(speakers=40, resynthesis_share=0.5))
    every = synth.plan_speakers(synth.KeywordSetConfig(speakers=40, resynthesis_share=1.0))
    assert all(s.resynthesis is None for s in plain) and all(s.resynthesis for s in every)
    assert 10 < sum(s.resynthesis is not None for s in half) < 30
    for speakers in (half, every):
        for k, (new, same) in enumerate(zip(speakers, plain, strict=True)):
            assert (new.voice, new.split, new.words, new.clip_seed, new.tract_scale) == (
                same.voice, same.split, same.words, same.clip_seed, same.tract_scale,
            )  # fmt: skip
            if new.resynthesis and speakers is half:
                assert new.resynthesis == every[k].resynthesis


def test_data_keywords_with_resynthesis_writes_new_voices_in_the_same_places(tmp_path):
    runner = CliRunner()
    args = ["data", "keywords", "--speakers", "3", "--workers", "1", "--engines", "flite"]
    assert runner.invoke(main, [*args, str(tmp_path / "plain")]).exit_code == 0
    result = runner.invoke(main, [*args, str(tmp_path / "world"), "--resynthesis-share", "1"])
    assert result.exit_code == 0, result.output

    def rows(root):
        with open(root / "manifest.csv") as f:
            return {row["path"]: row for row in csv.DictReader(f) if row["engine"] != "noise"}

    plain, world = rows(tmp_path / "plain"), rows(tmp_path / "world")
    assert plain.keys() == world.keys() and len(world) >= 30
    for path, row in world.items():
        assert '"resynthesis"' in row["settings"] and row["split"] == plain[path]["split"]
        a, _ = sf.read(tmp_path / "plain" / path)
        b, _ = sf.read(tmp_path / "world" / path)
        assert not np.allclose(a, b)
    assert all(voice_name(row).endswith("+world") for path, row in manifest_rows(tmp_path / "world").items()
               if path in world)  # fmt: skip


def test_resynthesis_without_pyworld_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyworld", None)  # import pyworld now raises ImportError
    out = tmp_path / "kw"
    result = CliRunner().invoke(
        main, ["data", "keywords", str(out), "--speakers", "2", "--resynthesis-share", "1"]
    )
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        "Error: resynthesis needs pyworld: pip install pyworld (it builds with g++)"
    ]
    assert not out.exists()

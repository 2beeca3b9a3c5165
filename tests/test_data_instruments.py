"""The built-in instrument set: fluidsynth renders NSynth's 11 families from General MIDI fonts."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from leaf_edge.data.folders import index_folder
from leaf_edge.data.instruments import (
    FAMILIES,
    FREEPATS_PROGRAMS,
    SOUND_FONTS,
    InstrumentSetConfig,
    generate_instruments,
)
from tests.conftest import require

SMALL = InstrumentSetConfig(clips_per_family=3, train_fonts=("csound",), unseen_fonts=("timgm6mb",))


def require_fonts(config):
    for name in config.train_fonts + config.unseen_fonts:
        font = SOUND_FONTS[name]
        require(shutil.which(font.renderer) is not None, f"{font.renderer} (scripts/install-system-deps.sh)")
        require(Path(font.file).is_file(), f"the {font.package} sound font")


@pytest.fixture(scope="module")
def instruments(tmp_path_factory):
    require_fonts(SMALL)
    out = tmp_path_factory.mktemp("data") / "instruments"
    generate_instruments(out, SMALL, workers=2, progress=False)
    return out


def rows(root):
    with open(root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_eleven_families_at_44k_stereo_with_the_font_of_every_clip(instruments):
    index = index_folder(instruments)
    assert index.labels == sorted(FAMILIES) and len(index.labels) == 11
    manifest = rows(instruments)
    assert len(manifest) == 11 * 3 * 2
    audio, rate = sf.read(instruments / manifest[0]["path"], always_2d=True)
    assert rate == 44100 and audio.shape == (88200, 2) and np.abs(audio).max() > 0.05
    summary = json.loads((instruments / "dataset.json").read_text())
    assert summary["fonts"]["timgm6mb"]["licence"] == "GPL-2" and summary["fonts"]["csound"]["clips"] == 33


def test_the_unseen_font_is_heard_only_in_the_test_split(instruments):
    manifest = rows(instruments)
    assert {r["split"] for r in manifest if r["engine"] == "timgm6mb"} == {"test"}
    tested = set((instruments / "testing_list.txt").read_text().split())
    assert {r["path"] for r in manifest if r["engine"] == "timgm6mb"} <= tested


def centroid(path) -> float:
    audio, rate = sf.read(path)
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=1)))
    return float(np.sum(np.fft.rfftfreq(len(audio), 1 / rate) * spectrum) / np.sum(spectrum))


def test_families_sound_like_themselves(instruments):
    """Bass notes (MIDI 28-55) sit far below flute notes (60-96) in every font."""
    manifest = rows(instruments)

    def median_centroid(family, font):
        paths = [r["path"] for r in manifest if r["label"] == family and r["engine"] == font]
        return np.median([centroid(instruments / path) for path in paths])

    for font in ("csound", "timgm6mb"):
        assert median_centroid("bass", font) < median_centroid("flute", font) / 2, font


def test_the_same_seed_gives_the_same_set(instruments, tmp_path):
    again = tmp_path / "again"
    generate_instruments(again, SMALL, workers=1, progress=False)
    assert rows(again) == rows(instruments)
    first = rows(instruments)[5]["path"]
    np.testing.assert_array_equal(sf.read(again / first)[0], sf.read(instruments / first)[0])


def test_a_font_cannot_be_both_heard_and_unseen(tmp_path):
    config = InstrumentSetConfig(train_fonts=("csound",), unseen_fonts=("csound",))
    with pytest.raises(ValueError, match="both a training font and the unseen font"):
        generate_instruments(tmp_path / "x", config, progress=False)


def test_freepats_plays_only_the_programs_it_has_through_timidity(tmp_path):
    """freepats lacks some GM programs (timidity would play another font's instrument for them:
    a wrong label), so only the programs it maps are rendered; every family still has some."""
    config = InstrumentSetConfig(clips_per_family=4, train_fonts=("freepats",), unseen_fonts=())
    require_fonts(config)
    generate_instruments(tmp_path / "fp", config, workers=2, progress=False)
    manifest = rows(tmp_path / "fp")
    assert {r["label"] for r in manifest} == set(FAMILIES)
    assert {int(r["program"]) for r in manifest} <= set(FREEPATS_PROGRAMS)
    assert {int(r["program"]) for r in manifest if r["label"] == "synth_lead"} <= {80, 84}
    audio, rate = sf.read(tmp_path / "fp" / manifest[0]["path"], always_2d=True)
    assert rate == 44100 and audio.shape == (88200, 2) and np.abs(audio).max() > 0.05

"""Negative audio from Debian packages: keyword-free, 16 kHz mono FLAC, each source in one split."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.data.negatives import (
    PACKAGE_SOURCES,
    NegativeSetConfig,
    fetch_package,
    fortune_sentences,
    generate_negatives,
)
from leaf_edge.data.words import KEYWORDS
from tests.conftest import require

CACHE = Path.home() / ".cache" / "leaf-edge" / "debs"  # the command's default: downloads are kept
SMALL = NegativeSetConfig(
    sources=("lugaru", "klettres-west"),
    midi_minutes={"train": 1, "validation": 0, "test": 1},
    tts_minutes={"train": 1, "validation": 1, "test": 1},
    piece_seconds=30,
)


@pytest.fixture(scope="module")
def negatives(tmp_path_factory):
    for tool in ("apt-get", "dpkg-deb", "fluidsynth", "timidity", "espeak-ng", "flite", "festival"):
        require(shutil.which(tool) is not None, f"{tool} (scripts/install-system-deps.sh)")
    out = tmp_path_factory.mktemp("data") / "negatives"
    generate_negatives(out, SMALL, CACHE, workers=2, progress=False)
    return out


def rows(root: Path) -> list[dict]:
    with open(root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_every_source_is_in_one_split_as_16k_mono_flac(negatives):
    manifest = rows(negatives)
    splits = {}
    for row in manifest:
        splits.setdefault(row["source"], set()).add(row["split"])
        assert row["path"].startswith(row["split"] + "/") and row["licence"] and row["package"]
    assert all(len(s) == 1 for s in splits.values())
    assert splits["lugaru"] == {"validation"} and splits["tts-festival"] == {"test"}
    assert splits["midi-timgm6mb"] == {"test"} and {"midi-fluidr3", "tts-espeak-ng"} <= set(splits)
    for row in manifest[::20]:
        info = sf.info(negatives / row["path"])
        assert info.samplerate == 16000 and info.channels == 1 and info.format == "FLAC"
        assert abs(info.duration - float(row["seconds"])) < 0.01
    summary = json.loads((negatives / "dataset.json").read_text())
    assert summary["hours"]["test"] == pytest.approx(sum(
        float(r["seconds"]) for r in manifest if r["split"] == "test") / 3600, abs=1e-3)  # fmt: skip


def test_recordings_named_after_a_keyword_are_left_out(negatives):
    tree = fetch_package("klettres-data", CACHE)
    assert (tree / "usr/share/klettres/es/syllab/go.ogg").is_file()  # in the package...
    names = {Path(r["path"]).stem.split("-", 1)[1] for r in rows(negatives) if r["source"] == "klettres-west"}
    assert len(names) > 50 and not names & set(KEYWORDS)  # ...not in the set


def test_spoken_passages_hold_no_keyword(negatives):
    sentences = fortune_sentences(fetch_package("fortunes", CACHE))
    assert len(sentences) > 5000
    for sentence in sentences:
        assert not {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)} & set(KEYWORDS), sentence
    passage, rate = sf.read(negatives / "test" / "speech" / "festival-0000.flac")
    assert rate == 16000 and len(passage) == 30 * 16000 and np.abs(passage).max() > 0.3


def test_the_same_seed_gathers_the_same_set(negatives, tmp_path):
    again = tmp_path / "again"
    generate_negatives(again, SMALL, CACHE, workers=1, progress=False)
    assert rows(again) == rows(negatives)
    for name in ("train/midi/fluidr3-0000.flac", "train/speech/espeak-ng-0000.flac"):
        np.testing.assert_array_equal(sf.read(again / name)[0], sf.read(negatives / name)[0])


def test_the_default_set_splits_real_sources_by_package_and_keeps_the_checks_out():
    splits = {}
    for source in PACKAGE_SOURCES:
        splits.setdefault(source.package, set()).add(source.split)
        assert not re.search(r"asterisk|alsa-utils|ktuberling|pocketsphinx", source.package)
    assert {split for s in splits.values() for split in s} == {"train", "validation", "test"}
    # one package may be split only by language (klettres: a speaker per language)
    assert [package for package, s in splits.items() if len(s) > 1] == ["klettres-data"]


def test_an_unknown_source_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["data", "negatives", str(tmp_path / "n"), "--sources", "nope"])
    assert result.exit_code == 1 and "unknown source(s) nope" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "n").exists()
    bad = CliRunner().invoke(main, ["data", "negatives", str(tmp_path / "n"), "--midi-minutes", "1,2"])
    assert bad.exit_code == 2 and "three minutes" in bad.output

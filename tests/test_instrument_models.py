"""The shipped instrument models: notes from the sound font no training clip came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device import Classifier
from device.metadata import read_leaf_edge_metadata
from device.models import MODELS_DIR
from leaf_edge.data.instruments import FAMILIES, SOUND_FONTS, InstrumentSetConfig, plan_notes, render_program
from tests.conftest import require

SHIPPED = {"instruments-leaf.tflite": ("leaf", True), "instruments-mel.tflite": ("mel", False)}


@pytest.fixture(scope="module")
def unseen_notes():
    """Two notes a family from TimGM6mb (seed 99: no clip of the data set), 44.1 kHz stereo."""
    font = SOUND_FONTS["timgm6mb"]
    require(Path(font.file).is_file(), f"the {font.package} sound font")
    config = InstrumentSetConfig(seed=99)
    rng = np.random.default_rng(99)
    clips, labels = [], []
    for family, (programs, _) in FAMILIES.items():
        for program in programs[:2]:
            (clip,) = render_program(font, program, [plan_notes(config, rng, family)], config)
            clips.append(0.3 * clip / np.abs(clip).max())  # the data set's peak levels: -20..-3 dBFS
            labels.append(family)
    return clips, labels


@pytest.mark.parametrize("name", SHIPPED)
def test_instrument_models_carry_their_task_and_name_notes_of_an_unseen_font(name, unseen_notes):
    frontend, streaming = SHIPPED[name]
    path = MODELS_DIR / name
    entry = read_leaf_edge_metadata(path.read_bytes(), name).leaf_edge
    assert entry["labels"] == list(FAMILIES) and entry["task"] == "scenes"
    assert entry["frontend"]["type"] == frontend and entry["quantization"]["mode"] == "int8"
    classifier = Classifier(path)
    assert classifier.uses_streaming_model() == streaming and classifier.clip_samples == 32000
    clips, labels = unseen_notes
    named = [classifier.classify(clip, 44100, top_k=1)[0].label for clip in clips]
    right = np.mean([a == b for a, b in zip(named, labels, strict=True)])
    assert right >= 0.7, list(zip(labels, named, strict=True))  # chance: 1/11; shipped: 0.86, 0.82

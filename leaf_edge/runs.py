"""Reading a finished training run folder (see :mod:`leaf_edge.train` for its layout)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leaf_edge.model import load_trained, model_classifier
from leaf_edge.train import TrainConfig


def load_run(run: Path):
    """The trained model and configuration of a run folder, with clear errors."""
    model, values = load_trained(run)
    config = TrainConfig.from_dict(values)
    # a run trained with --classifier auto: the name of the classifier it chose
    return model, dataclasses.replace(config, classifier=model_classifier(model))

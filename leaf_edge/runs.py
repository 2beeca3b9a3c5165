"""Reading a finished training run folder (see :mod:`leaf_edge.train` for its layout)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from leaf_edge.data.folders import DataError
from leaf_edge.model import load_model, model_classifier
from leaf_edge.train import TrainConfig


def load_run(run: Path):
    """The trained model and configuration of a run folder, with clear errors."""
    run = Path(run)
    if not (run / "config.json").exists():
        raise DataError(f"{run} is not a leaf-edge run (no config.json)")
    if not (run / "model.keras").exists():
        raise DataError(f"{run} has not finished training (no model.keras); rerun its train command")
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    try:
        model = load_model(run / "model.keras")
    except Exception as error:  # Keras raises many kinds for a damaged file
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DataError(f"{run / 'model.keras'} cannot be loaded: {first_line}") from None
    # a run trained with --classifier auto: the name of the classifier it chose
    return model, dataclasses.replace(config, classifier=model_classifier(model))

"""Start a run from another run's trained weights (``train --init-from RUN``): fine-tuning.

A trained keyword model already hears speech; starting from it, a new recipe, a user's own
recordings or other keywords need a few epochs instead of a full training. The frontend (with
the feature normalisation fitted to it) is copied when it is the same kind, the classifier when
it is the same, the label layer when the labels are the same; the rest starts new. Only a fresh
run needs RUN: one that has begun resumes and extends from its own files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import keras

from device.contract import AudioSpec
from leaf_edge.checkpoints import BACKUP_DIR
from leaf_edge.data.folders import DataError
from leaf_edge.model import FEATURE_NORM, load_trained, model_classifier, model_frontend, model_labels
from leaf_edge.runs import TrainConfig

# What gives copied weights their meaning: a filterbank learnt at one rate and frame is another
# filterbank at another. Clip length may differ (the classifier is convolutional).
MEANINGFUL_SPEC = ("sample_rate", "n_filters", "window_ms", "stride_ms")


def has_begun(run: Path) -> bool:
    """True once a run has an epoch of its own to resume from."""
    return (run / BACKUP_DIR).exists() or (run / "metrics.json").exists()


def load_source(config: TrainConfig) -> keras.Model:
    """``config.init_from``'s model, refused in one line when its audio settings differ from the
    run's or when neither its frontend nor its classifier is the run's (nothing to start from)."""
    source, values = load_trained(config.init_from)
    theirs, spec = AudioSpec(**values["spec"]), config.spec
    differ = [f"{name} {getattr(theirs, name):g}, not {getattr(spec, name):g}"
              for name in MEANINGFUL_SPEC if getattr(theirs, name) != getattr(spec, name)]  # fmt: skip
    if differ:
        raise DataError(
            f"--init-from {config.init_from} was trained with other audio settings ({'; '.join(differ)})"
        )
    classifier = model_classifier(source)
    if values["frontend"] != config.frontend and config.classifier not in ("auto", classifier):
        raise DataError(
            f"--init-from {config.init_from} has neither this run's frontend nor its classifier "
            f"({values['frontend']} + {classifier}): nothing to start from"
        )
    return source


def settle_classifier(config: TrainConfig, run: Path, source: keras.Model | None) -> TrainConfig:
    """``--classifier auto`` with ``--init-from``: RUN's classifier, so that a small set of one's
    own starts from the whole model (alone it would get a small one); a run that has begun keeps
    the classifier it trains."""
    if not (config.init_from and config.classifier == "auto"):
        return config
    if source is not None:
        return dataclasses.replace(config, classifier=model_classifier(source))
    saved = run / "config.json"
    return dataclasses.replace(config, classifier=json.loads(saved.read_text())["classifier"])


def _shapes(layer: keras.layers.Layer) -> list[tuple]:
    return [tuple(w.shape) for w in layer.weights]


def copy_weights(model: keras.Model, source: keras.Model) -> tuple[list[str], list[str]]:
    """Copy ``source``'s weights into ``model`` where the layer's name and weight shapes match;
    the feature normalisation only with the frontend, the labels layer only for the same labels.
    Returns (copied, started new). A grouped LEAF keeps the band plan of its build, as in any
    grouped training (whose widths also move away from the plan's)."""
    copied, new = [], []
    theirs = {layer.name: layer for layer in source.layers}
    mine, its = model_frontend(model), model_frontend(source)
    same_frontend = mine.name == its.name and _shapes(mine) == _shapes(its)
    same_labels = model_labels(model) == model_labels(source)
    for layer in model.layers:
        if not layer.weights:
            continue
        other = theirs.get(layer.name)
        fits = other is not None and _shapes(layer) == _shapes(other)
        if layer.name == FEATURE_NORM:
            fits &= same_frontend
        if layer.name == "logits":
            fits &= same_labels
        if fits:
            layer.set_weights(other.get_weights())
        (copied if fits else new).append(layer.name)
    return copied, new


def warm_start(model: keras.Model, source: keras.Model, run: str | os.PathLike, log=print) -> None:
    """Start ``model`` from ``source`` (loaded by :func:`load_source` from ``run``); say what was copied."""
    copied, new = copy_weights(model, source)
    log(f"started from {Path(run)}: {', '.join(copied)} copied" + (f"; {', '.join(new)} new" if new else ""))

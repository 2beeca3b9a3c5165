"""Start a run from another run's trained weights (``train --init-from RUN``): fine-tuning.

A trained keyword model already hears speech; starting from it, a new recipe, a user's own
recordings or other keywords need a few epochs instead of a full training. Every layer whose
name and weight shapes match is copied; the label layer only when the labels are the same
(other labels: it starts new). Layers without a match (another frontend or classifier) start
new, and a source that shares nothing is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

from device.contract import AudioSpec
from leaf_edge.data.folders import DataError
from leaf_edge.model import RunError, load_trained, model_labels

# What gives copied weights their meaning: a filterbank learnt at one rate and frame is another
# filterbank at another. Clip length may differ (the classifier is convolutional).
MEANINGFUL_SPEC = ("sample_rate", "n_filters", "window_ms", "stride_ms")


def trained_classifier(run: str | os.PathLike) -> str:
    """The classifier a finished run trained (``auto`` settled): ``--classifier auto`` with
    ``--init-from`` keeps it, so that a small set of one's own starts from the whole model."""
    try:
        return json.loads((Path(run) / "metrics.json").read_text())["classifier"]
    except (OSError, ValueError, KeyError, TypeError):
        raise RunError(
            f"--init-from {run} is not a finished leaf-edge run (no classifier in metrics.json)"
        ) from None


def load_source(run: str | os.PathLike, spec: AudioSpec) -> keras.Model:
    """The finished run's model, refused in one line when its audio settings differ from ``spec``."""
    source, values = load_trained(run)
    theirs = AudioSpec(**values["spec"])
    differ = [f"{name} {getattr(theirs, name):g}, not {getattr(spec, name):g}"
              for name in MEANINGFUL_SPEC if getattr(theirs, name) != getattr(spec, name)]  # fmt: skip
    if differ:
        raise DataError(f"--init-from {run} was trained with other audio settings ({'; '.join(differ)})")
    return source


def copy_weights(model: keras.Model, source: keras.Model) -> tuple[list[str], list[str]]:
    """Copy ``source``'s weights into ``model`` layer by layer; returns (copied, started new)."""
    copied, new = [], []
    theirs = {layer.name: layer for layer in source.layers}
    same_labels = model_labels(model) == model_labels(source)
    for layer in model.layers:
        if not layer.weights:
            continue
        other = theirs.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if (
            other is None
            or shapes != [tuple(w.shape) for w in other.weights]
            or (layer.name == "logits" and not same_labels)
        ):
            new.append(layer.name)
            continue
        layer.set_weights(other.get_weights())
        copied.append(layer.name)
    return copied, new


def warm_start(model: keras.Model, source: keras.Model, run: str | os.PathLike, log=print) -> None:
    """Start ``model`` from ``source`` (loaded by :func:`load_source` from ``run``) and say what
    was copied; refuse when nothing could be."""
    copied, new = copy_weights(model, source)
    if not copied:
        raise DataError(
            f"--init-from {run}: none of its layers fits this model (other frontend, classifier?)"
        )
    log(f"started from {Path(run)}: {', '.join(copied)} copied" + (f"; {', '.join(new)} new" if new else ""))

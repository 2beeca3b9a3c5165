"""Model assembly: waveform -> frontend -> [frames, filters, 1] map -> classifier -> logits.

Also what a trained model needs around it: saving and loading ``.keras`` files in safe mode
(atomically), reading its labels and audio spec back, and re-estimating BatchNorm statistics.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from device.atomic import atomic_path
from device.contract import AudioSpec, LeafEdgeError
from leaf_edge.classifiers import CLASSIFIERS, make_classifier
from leaf_edge.frontends import make_frontend
from leaf_edge.layers import LabelledLogits


class RunError(LeafEdgeError):
    """A run folder that cannot be used; the message says why and what to do."""


# The layers between frontend and classifier: int8 conversion keeps them in float with the
# frontend (converter.export), so that each frequency is standardised before it is quantized.
ADD_CHANNEL, FEATURE_NORM = "add_channel", "feature_norm"


def build_model(
    *,
    frontend: str | keras.layers.Layer = "leaf",
    classifier: str = "efficientnet-b0",
    labels: Sequence[str],
    spec: AudioSpec | None = None,
    spec_augment: keras.layers.Layer | None = None,
) -> keras.Model:
    """A Keras model mapping a waveform batch ``[B, clip_samples]`` to logits ``[B, len(labels)]``.

    ``frontend`` is a name (``leaf``, ``leaf-log``, ``mel``) or a frontend layer; a layer
    brings its own spec. ``spec_augment`` is an optional training-only layer on the features
    (:class:`leaf_edge.layers.SpecAugment`). The features then go through a
    per-frequency BatchNorm (``feature_norm``) so that the classifier meets standardised
    features whatever the frontend's scale: this replaces the ImageNet pixel preprocessing cut
    off EfficientNet.
    """
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError(f"need at least two distinct labels, got {list(labels)}")
    if isinstance(frontend, str):
        frontend = make_frontend(frontend, spec or AudioSpec())
    spec = frontend.spec
    waveform = keras.Input(shape=(spec.clip_samples,), name="waveform")
    features = frontend(waveform)
    if spec_augment is not None:
        features = spec_augment(features)
    image = keras.layers.Reshape((spec.n_frames, spec.n_filters, 1), name=ADD_CHANNEL)(features)
    image = keras.layers.BatchNormalization(axis=2, name=FEATURE_NORM)(image)
    embedding = make_classifier(classifier, (spec.n_frames, spec.n_filters, 1))(image)
    logits = LabelledLogits(labels, name="logits")(embedding)
    return keras.Model(waveform, logits, name=f"{frontend.name}_{classifier.replace('-', '_')}")


def model_labels(model: keras.Model) -> list[str]:
    """The class names of a model built by :func:`build_model`."""
    return list(model.get_layer("logits").labels)


def model_classifier(model: keras.Model) -> str:
    """The classifier's name (``efficientnet-b0``...) of a model built by :func:`build_model`."""
    names = {name.replace("-", "_"): name for name in CLASSIFIERS}
    return next(names[layer.name] for layer in model.layers if layer.name in names)


def model_frontend(model: keras.Model) -> keras.layers.Layer:
    """The frontend layer (the layer right after the waveform input)."""
    return model.layers[1]


def model_spec(model: keras.Model) -> AudioSpec:
    """The audio spec the model was built for."""
    return model_frontend(model).spec


def _all_layers(layer) -> Iterator[keras.layers.Layer]:
    yield layer
    for child in getattr(layer, "layers", []):
        if child is not layer:
            yield from _all_layers(child)


@contextlib.contextmanager
def dropout_disabled(model: keras.Model):
    """Within the block, training-mode calls run with every Dropout rate at zero."""
    dropouts = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Dropout)]
    rates = [layer.rate for layer in dropouts]
    try:
        for layer in dropouts:
            layer.rate = 0.0
        yield
    finally:
        for layer, rate in zip(dropouts, rates, strict=True):
            layer.rate = rate


def reestimate_batchnorm(model: keras.Model, batches: Iterable[np.ndarray]) -> int:
    """Replace every BatchNorm's moving statistics by their exact average over ``batches``.

    Short runs on small data leave the moving averages (momentum 0.99) far from the
    statistics the trained weights produce, and the model sits at chance in inference mode.
    Here each layer's moving mean and variance become the mean of the batch statistics it
    sees in training mode (dropout off) over the given batches. Returns the batch count.

    With momentum 0 a forward pass leaves each layer's batch statistics in its moving ones,
    where they are summed; the pass is one traced function (eagerly, an EfficientNet pass costs
    several times more).
    """
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    before = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in norms]
    sums = [[np.zeros(mean.shape), np.zeros(variance.shape)] for mean, variance in before]
    count = 0
    try:
        with dropout_disabled(model):
            for layer in norms:
                layer.momentum = 0.0
            forward = tf.function(lambda batch: model(batch, training=True), reduce_retracing=True)
            for batch in batches:
                forward(batch)
                count += 1
                for (mean, variance), layer in zip(sums, norms, strict=True):
                    mean += layer.moving_mean.numpy()
                    variance += layer.moving_variance.numpy()
    except BaseException:  # a failure, or Ctrl-C, leaves the statistics as they were
        for (mean, variance), layer in zip(before, norms, strict=True):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)
        raise
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum
    if count == 0:
        raise ValueError("reestimate_batchnorm needs at least one batch")
    for (mean, variance), layer in zip(sums, norms, strict=True):
        layer.moving_mean.assign(mean / count)
        layer.moving_variance.assign(variance / count)
    return count


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save to ``.keras`` atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, got {path.name}")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` model written by :func:`save_model`, with Keras' safe mode on."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def load_trained(run: str | os.PathLike) -> tuple[keras.Model, dict]:
    """A finished run folder's model and its ``config.json`` values, with one-line errors."""
    run = Path(run)
    if not (run / "config.json").exists():
        raise RunError(f"{run} is not a leaf-edge run (no config.json)")
    if not (run / "model.keras").exists():
        raise RunError(f"{run} has not finished training (no model.keras); rerun its train command")
    values = json.loads((run / "config.json").read_text())
    try:
        model = load_model(run / "model.keras")
    except Exception as error:  # Keras raises many kinds for a damaged file
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RunError(f"{run / 'model.keras'} cannot be loaded: {first_line}") from None
    return model, values

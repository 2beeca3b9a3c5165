"""Image classifiers that read a frontend's ``[frames, filters, 1]`` map and return an embedding.

``efficientnet-b0`` is the default for large sets. On a few hundred clips it memorises the
training set and validates near chance. ``efficientnet-small`` is the same architecture at half
the width and depth (Keras' EfficientNet builder with coefficients 0.5; 0.6 M parameters);
``cnn-small`` is a plain VGG-style network (four blocks of 3x3 convolution, BatchNorm, ReLU and
2x2 max pooling; global average pooling; 0.4 M parameters), which generalises best from small
sets (README: small sets), so ``auto`` picks it below :data:`SMALL_SET_CLIPS` training clips.
"""

from __future__ import annotations

import keras
from keras.src.applications.efficientnet import EfficientNet

# name -> (width coefficient, depth coefficient, dropout before the logits)
SHAPES = {"efficientnet-b0": (1.0, 1.0, 0.0), "efficientnet-small": (0.5, 0.5, 0.3)}
CLASSIFIERS = (*SHAPES, "cnn-small")
CNN_FILTERS = (32, 64, 128, 256)
SMALL_SET_CLIPS = 2000  # ``auto`` picks SMALL_SET_CLASSIFIER below this many training clips
SMALL_SET_CLASSIFIER = "cnn-small"


def auto_classifier(training_clips: int) -> str:
    """The classifier ``--classifier auto`` picks for a training split of this size."""
    return SMALL_SET_CLASSIFIER if training_clips < SMALL_SET_CLIPS else "efficientnet-b0"


def efficientnet(name: str, input_shape: tuple[int, int, int]) -> keras.Model:
    """An EfficientNet with random weights and global max pooling: ``[H, W, 1]`` -> embedding.

    Keras puts ImageNet preprocessing in front of EfficientNet (``Rescaling(1/255)`` then
    a ``Normalization`` meant for RGB pixels). A LEAF or mel map is not a picture: scaling it
    by 1/255 only shrinks the signal the stem convolution sees. Those two layers are cut
    off here; the model normalises features itself (see :func:`leaf_edge.model.build_model`).
    """
    if min(input_shape[:2]) < 32:
        raise ValueError(f"EfficientNet needs at least 32 x 32 inputs, got {input_shape[:2]}")
    width, depth, dropout = SHAPES[name]
    backbone = EfficientNet(
        width, depth, default_size=224, include_top=False, weights=None,
        input_shape=input_shape, pooling="max", name=name.replace("-", "_"),
    )  # fmt: skip
    stem = backbone.get_layer("stem_conv_pad").input
    embedding = backbone.output
    if dropout:
        embedding = keras.layers.Dropout(dropout, name="top_dropout")(embedding)
    return keras.Model(stem, embedding, name=name.replace("-", "_"))


def cnn_small(input_shape: tuple[int, int, int], dropout: float = 0.3) -> keras.Model:
    """Four blocks of 3x3 convolution, BatchNorm, ReLU and 2x2 max pooling; global average
    pooling and dropout: ``[H, W, 1]`` -> ``[256]``."""
    if min(input_shape[:2]) < 2 ** len(CNN_FILTERS):
        raise ValueError(f"cnn-small needs at least 16 x 16 inputs, got {input_shape[:2]}")
    image = keras.Input(input_shape)
    x = image
    for k, filters in enumerate(CNN_FILTERS):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{k}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{k}_bn")(x)
        x = keras.layers.ReLU(name=f"block{k}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{k}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    x = keras.layers.Dropout(dropout, name="top_dropout")(x)
    return keras.Model(image, x, name="cnn_small")


def make_classifier(name: str, input_shape: tuple[int, int, int]) -> keras.Model:
    """A fresh classifier body by name."""
    if name == "cnn-small":
        return cnn_small(input_shape)
    if name not in SHAPES:
        raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
    return efficientnet(name, input_shape)

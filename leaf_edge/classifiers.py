"""Image classifiers that read a frontend's ``[frames, filters, 1]`` map and return an embedding."""

from __future__ import annotations

import keras

CLASSIFIERS = ("efficientnet-b0",)


def efficientnet_b0(input_shape: tuple[int, int, int]) -> keras.Model:
    """EfficientNetB0 with random weights and global max pooling: ``[H, W, 1]`` -> ``[1280]``.

    Keras puts ImageNet preprocessing in front of EfficientNet (``Rescaling(1/255)`` then
    a ``Normalization`` meant for RGB pixels). A LEAF or mel map is not a picture: scaling it
    by 1/255 only shrinks the signal the stem convolution sees. Those two layers are cut
    off here; the model normalises features itself (see :func:`leaf_edge.model.build_model`).
    """
    if min(input_shape[:2]) < 32:
        raise ValueError(f"EfficientNetB0 needs at least 32 x 32 inputs, got {input_shape[:2]}")
    backbone = keras.applications.EfficientNetB0(
        include_top=False, weights=None, input_shape=input_shape, pooling="max"
    )
    stem = backbone.get_layer("stem_conv_pad").input
    return keras.Model(stem, backbone.output, name="efficientnet_b0")


def make_classifier(name: str, input_shape: tuple[int, int, int]) -> keras.Model:
    """A fresh classifier body by name."""
    if name == "efficientnet-b0":
        return efficientnet_b0(input_shape)
    raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")

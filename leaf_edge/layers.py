"""Model-level Keras layers: the labelled output layer and training-only feature masking.

Importing this module registers them for loading ``.keras`` files in safe mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="leaf_edge")
class LabelledLogits(keras.layers.Dense):
    """The output layer: a Dense layer that also remembers its class names, in order."""

    def __init__(self, labels: Sequence[str], **kw):
        kw.pop("units", None)
        super().__init__(units=len(labels), **kw)
        self.labels = [str(label) for label in labels]

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("units")
        return {**config, "labels": self.labels}


@keras.saving.register_keras_serializable(package="leaf_edge")
class SpecAugment(keras.layers.Layer):
    """Masks random frequency bands and time spans of ``[B, frames, filters]`` in training.

    Masked cells take the example's mean feature value. Identity at inference, so exported
    models never contain it.
    """

    training_only = True  # the converter leaves it out

    def __init__(self, freq_masks=2, freq_width=5, time_masks=2, time_width=10, **kw):
        super().__init__(**kw)
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width

    def _mask(self, batch, size, count, width):
        positions = tf.range(size)[tf.newaxis, :]
        mask = tf.zeros([batch, size], tf.bool)
        for _ in range(count):
            w = tf.random.uniform([batch, 1], 0, width + 1, dtype=tf.int32)
            start = tf.random.uniform([batch, 1], 0, size, dtype=tf.int32)
            mask = mask | ((positions >= start) & (positions < start + w))
        return mask

    def call(self, features, training=None):
        if not training:
            return features
        batch = tf.shape(features)[0]
        frames, filters = features.shape[1], features.shape[2]
        time_mask = self._mask(batch, frames, self.time_masks, self.time_width)[:, :, tf.newaxis]
        freq_mask = self._mask(batch, filters, self.freq_masks, self.freq_width)[:, tf.newaxis, :]
        fill = tf.reduce_mean(features, axis=[1, 2], keepdims=True)
        return tf.where(time_mask | freq_mask, fill, features)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "freq_masks": self.freq_masks,
            "freq_width": self.freq_width,
            "time_masks": self.time_masks,
            "time_width": self.time_width,
        }

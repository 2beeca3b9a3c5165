"""Model-level Keras layers: the labelled output layer and training-only feature masks and warp.

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
    """Warps the frequency axis and masks random bands and time spans of ``[B, frames, filters]``.

    Training only: identity at inference, so exported models never contain it. The warp
    (``warp`` > 0) moves every example's spectral envelope by a random factor within
    1 +- ``warp``, as a longer or shorter vocal tract would (VTLP on the filterbank): channels
    are mel-spaced from ``min_freq`` to ``max_freq``, and output channel c reads the input at
    frequency f_c / factor, linearly interpolated. Masked cells take the example's mean value.
    """

    training_only = True  # the converter leaves it out

    def __init__(self, freq_masks=2, freq_width=5, time_masks=2, time_width=10,
                 warp=0.0, min_freq=60.0, max_freq=7800.0, **kw):  # fmt: skip
        super().__init__(**kw)
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width
        self.warp, self.min_freq, self.max_freq = warp, min_freq, max_freq

    def _mask(self, batch, size, count, width):
        positions = tf.range(size)[tf.newaxis, :]
        mask = tf.zeros([batch, size], tf.bool)
        for _ in range(count):
            w = tf.random.uniform([batch, 1], 0, width + 1, dtype=tf.int32)
            start = tf.random.uniform([batch, 1], 0, size, dtype=tf.int32)
            mask = mask | ((positions >= start) & (positions < start + w))
        return mask

    def _warp(self, features):
        batch, filters = tf.shape(features)[0], features.shape[2]
        low, high = _hz_to_mel(self.min_freq), _hz_to_mel(self.max_freq)
        step = (high - low) / (filters + 1)
        centres = _mel_to_hz(low + step * tf.range(1, filters + 1, dtype=tf.float32))  # Hz
        factor = tf.random.uniform([batch, 1], 1.0 - self.warp, 1.0 + self.warp)
        source = (_hz_to_mel(centres[tf.newaxis, :] / factor) - low) / step - 1.0  # channel index
        source = tf.clip_by_value(source, 0.0, filters - 1.0)
        below = tf.minimum(tf.cast(tf.floor(source), tf.int32), filters - 2)
        weight = (source - tf.cast(below, tf.float32))[:, tf.newaxis, :]
        lower = tf.gather(features, below, axis=2, batch_dims=1)
        upper = tf.gather(features, below + 1, axis=2, batch_dims=1)
        return lower + weight * (upper - lower)

    def call(self, features, training=None):
        if not training:
            return features
        if self.warp:
            features = self._warp(features)
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
            "warp": self.warp,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
        }


def _hz_to_mel(hz) -> tf.Tensor:
    """HTK mel scale, as ``tf.signal.linear_to_mel_weight_matrix`` uses."""
    return 1127.0 * tf.math.log1p(tf.cast(hz, tf.float32) / 700.0)


def _mel_to_hz(mel: tf.Tensor) -> tf.Tensor:
    return 700.0 * tf.math.expm1(mel / 1127.0)

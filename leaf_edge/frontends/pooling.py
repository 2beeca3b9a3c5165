"""Gaussian lowpass pooling: one learnable-width, peak-1 Gaussian window per channel.

    w_n[j] = exp(-0.5 * ((j - (W-1)/2) / (s_n (W-1)/2))^2),   j = 0 ... W-1

applied depthwise with the frame stride and TensorFlow 'SAME' padding, which is asymmetric
(pad_left = pad_total // 2); ports that pad W//2 on both sides shift every frame.
"""

from __future__ import annotations

import tensorflow as tf

WIDTH_MAX = 0.5


def width_bounds(window_size: int) -> tuple[float, float]:
    """The forward-pass clip of the pooling widths: [2/W, 0.5]."""
    return 2.0 / window_size, WIDTH_MAX


def gaussian_windows(widths: tf.Tensor, window_size: int) -> tf.Tensor:
    """Windows ``[W, n]`` for widths of any shape holding n values (reference: (1, 1, n, 1))."""
    low, high = width_bounds(window_size)
    widths = tf.clip_by_value(tf.reshape(widths, [1, -1]), low, high)
    half = 0.5 * (window_size - 1)
    t = tf.range(window_size, dtype=widths.dtype)[:, tf.newaxis]
    return tf.exp(-0.5 * ((t - half) / (widths * half)) ** 2)


def gaussian_pool(
    energies: tf.Tensor, widths: tf.Tensor, window_size: int, stride: int
) -> tf.Tensor:
    """Depthwise Gaussian pooling of ``[B, T, n]`` -> ``[B, ceil(T/stride), n]`` (TF 'SAME')."""
    windows = gaussian_windows(widths, window_size)
    kernel = windows[tf.newaxis, :, :, tf.newaxis]  # [1, W, n, 1]
    pooled = tf.nn.depthwise_conv2d(
        energies[:, tf.newaxis, :, :], kernel, strides=(1, stride, stride, 1), padding="SAME"
    )
    return pooled[:, 0, :, :]

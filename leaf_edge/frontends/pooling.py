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


def _windows(widths: tf.Tensor, window_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Windows ``[W, n]`` for in-range widths ``[n]``, and their derivative by the width."""
    half = 0.5 * (window_size - 1)
    offset = (tf.range(window_size, dtype=widths.dtype)[:, tf.newaxis] - half) / half
    ratio_squared = (offset / widths) ** 2
    windows = tf.exp(-0.5 * ratio_squared)
    return windows, windows * ratio_squared / widths


def clipped_widths(widths: tf.Tensor, window_size: int) -> tf.Tensor:
    """Widths of any shape holding n values (reference: (1, 1, n, 1)) -> clipped ``[n]``."""
    low, high = width_bounds(window_size)
    return tf.clip_by_value(tf.reshape(widths, [-1]), low, high)


def gaussian_windows(widths: tf.Tensor, window_size: int) -> tf.Tensor:
    """The pooling windows ``[W, n]`` (peak 1, not normalised)."""
    return _windows(clipped_widths(widths, window_size), window_size)[0]


def window_pool(energies: tf.Tensor, windows: tf.Tensor, stride: int) -> tf.Tensor:
    """Each channel of ``[B, T, n]`` pooled by its own window ``[W, n]``: ``[B, ceil(T/stride), n]``."""
    kernel = windows[None, :, :, None]  # a NumPy array stays one constant
    pooled = tf.nn.depthwise_conv2d(energies[:, tf.newaxis], kernel, (1, stride, stride, 1), "SAME")
    return tf.squeeze(pooled, axis=1)  # a reshape in TFLite, which XNNPACK takes (pooled[:, 0] it does not)


def gaussian_pool(energies: tf.Tensor, widths: tf.Tensor, window_size: int, stride: int) -> tf.Tensor:
    """Depthwise Gaussian pooling of ``[B, T, n]`` -> ``[B, ceil(T/stride), n]`` (TF 'SAME').

    The gradient by the widths is computed as one more strided pooling with the windows'
    derivative (n numbers), not through the [W, n] kernel: TensorFlow's generic depthwise
    filter gradient for a 401-tap, stride-160 kernel costs more than the rest of the pooling.
    """

    @tf.custom_gradient
    def pooled(energies, widths):
        windows, d_windows = _windows(widths, window_size)

        def gradient(upstream):
            d_energies = tf.nn.depthwise_conv2d_backprop_input(
                tf.shape(energies[:, tf.newaxis]),
                windows[tf.newaxis, :, :, tf.newaxis],
                upstream[:, tf.newaxis],
                (1, stride, stride, 1),
                "SAME",
            )
            d_widths = tf.reduce_sum(upstream * window_pool(energies, d_windows, stride), axis=[0, 1])
            return d_energies[:, 0], d_widths

        return window_pool(energies, windows, stride), gradient

    return pooled(energies, clipped_widths(widths, window_size))

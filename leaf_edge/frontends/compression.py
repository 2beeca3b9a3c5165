"""Compression of pooled energies: sPCEN (learnable per-channel) or plain log.

sPCEN, per channel over frames t, with smoothing coefficient s:

    M_0 = x_0,   M_t = s x_t + (1 - s) M_{t-1}
    y   = (x / (eps + M)^alpha + delta)^(1/root) - delta^(1/root)

The reference computes M with ``tf.scan`` (a While loop that TFLite cannot run as a builtin).
Here M is computed exactly and loop-free by a log-depth prefix scan: ceil(log2 T) steps of
shift, multiply and add. Powers are taken in log space and the parameters are clamped so
that long inputs and any learned values stay finite.
"""

from __future__ import annotations

import tensorflow as tf

PCEN_EPS = 1e-12
LOG_OFFSET = 1e-5
DELTA_MIN = 1e-4  # delta's lower clamp: keeps delta^(1/root) and its gradient finite


def smoothing_coefficient(smooth: tf.Tensor) -> tf.Tensor:
    """The forward-pass clip of the smoothing coefficient to [0, 1]."""
    return tf.clip_by_value(smooth, 0.0, 1.0)


def ema(x: tf.Tensor, smooth: tf.Tensor) -> tf.Tensor:
    """Exponential moving average over axis 1 of ``[B, T, C]``, started at ``x[:, 0]``.

    Equal to the sequential recursion; ``T`` must be known when the graph is built.
    """
    steps = x.shape[1]
    if steps is None:
        raise ValueError("ema needs a static number of frames")
    s = smoothing_coefficient(smooth)
    decay = 1.0 - s
    # b_0 = x_0, b_t = s x_t; then M_t = sum_k decay^(t-k) b_k.
    total = tf.concat([x[:, :1], s * x[:, 1:]], axis=1)
    shift = 1
    while shift < steps:
        delayed = tf.pad(total[:, :-shift], [[0, 0], [shift, 0], [0, 0]])
        total = total + decay * delayed
        decay = decay * decay
        shift *= 2
    return total


def pcen(
    x: tf.Tensor,
    alpha: tf.Tensor,
    delta: tf.Tensor,
    root: tf.Tensor,
    smooth: tf.Tensor,
    eps: float = PCEN_EPS,
) -> tf.Tensor:
    """sPCEN of non-negative ``[B, T, C]`` energies with per-channel parameters ``[C]``.

    Forward-pass clamps as in the reference: alpha <= 1, root >= 1, smooth in [0, 1]; plus
    delta >= DELTA_MIN (the reference leaves delta free; a delta that drifts to zero or below
    would make the output's gradient infinite).
    """
    alpha = tf.minimum(alpha, 1.0)
    inv_root = 1.0 / tf.maximum(root, 1.0)
    delta = tf.maximum(delta, DELTA_MIN)
    smoothed = ema(x, smooth)
    normalised = x * tf.exp(-alpha * tf.math.log(eps + smoothed))
    return tf.exp(inv_root * tf.math.log(normalised + delta)) - tf.exp(inv_root * tf.math.log(delta))


def log_compression(x: tf.Tensor, offset: float = LOG_OFFSET) -> tf.Tensor:
    """``log(x + offset)``: the fixed compression of the reference's ablations and mel baseline."""
    return tf.math.log(x + offset)

"""Grouped Gabor filterbank (the EfficientLEAF idea): each group of filters at its own rate.

A filter of time width ``sigma`` (samples) has an energy envelope ``|x * h|^2`` whose spectrum
is a Gaussian of standard deviation ``sqrt(2) / (2 pi sigma) ~ 0.225 / sigma`` (white input), so
the energies need only be sampled every ``d <= sigma`` samples: what folds back from ``1 / d``
lies 4.4 standard deviations out (about 1e-4 of the power at 0 Hz), and the pooling Gaussian
(``sigma_p >= d``) summed at that step equals its integral to ``exp(-2 pi^2)``. (Half that
step, tried first, costs twice the work for float accuracy within 0.1 point.) The Gaussian is
cut at ``+-TAIL sigma``. Consecutive filters (mel order, so sigma falls as frequency rises)
that allow the same ``d`` form a :class:`Band`: one strided convolution with a kernel as long
as its widest filter needs, then the Gaussian pooling summed over the decimated energies only
(each tap weighted by ``d``). LEAF's parameters and initialisation are unchanged; only how the
filterbank is evaluated differs.

The same band maths serves the window model (energies zero-padded outside the clip, as the
exact frontend's 'SAME' pooling) and the streaming model (energies computed from audio history,
no padding): :func:`band_pool` takes the energies, the callers arrange their context.
An exact band (``d = 1``, full window) reproduces the exact frontend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from leaf_edge.frontends import gabor

TAIL = 3.0  # Gaussian kernels cut at +-TAIL sigma (exp(-4.5) ~ 1% of the peak)
OUTPUT_WIDTH = 32  # output channels a band's convolution computes at once (see band_energies)


@dataclass(frozen=True)
class Band:
    """Filters ``start:stop`` evaluated every ``decimation`` samples with ``2 * half_width + 1`` taps."""

    start: int
    stop: int
    decimation: int
    half_width: int

    def to_dict(self) -> dict:
        return {
            "filters": [self.start, self.stop],
            "decimation": self.decimation,
            "taps": 2 * self.half_width + 1,
        }


def exact_band(n_filters: int, window_size: int) -> Band:
    """All filters at full rate and full window: the exact frontend as one band."""
    return Band(0, n_filters, 1, window_size // 2)


def plan_bands(
    sigmas: np.ndarray, pool_sigmas: np.ndarray, window_size: int, stride: int
) -> tuple[Band, ...]:
    """Group filters by the largest step their Gaussians allow: a power of two that divides ``stride``.

    ``sigmas``: the Gabor envelopes' widths; ``pool_sigmas``: the pooling windows' widths, both
    in samples. A band's kernel covers ``TAIL`` times its widest Gabor sigma, at most the window.
    Powers of two only: fewer, larger bands run faster than a closer fit with more of them
    (measured with bench/frontends.py), and their error is lower.
    """
    steps = [2**k for k in range(stride.bit_length()) if stride % 2**k == 0]
    limit = np.minimum(sigmas, pool_sigmas)
    per_filter = [max([d for d in steps if d <= lim] or [1]) for lim in limit]
    bands, start = [], 0
    for i in range(1, len(per_filter) + 1):
        if i == len(per_filter) or per_filter[i] != per_filter[start]:
            widest = float(np.max(sigmas[start:i]))
            half = min(window_size // 2, math.ceil(TAIL * widest))
            bands.append(Band(start, i, per_filter[start], half))
            start = i
    return tuple(bands)


def multiply_adds(bands: tuple[Band, ...], sample_rate: int) -> float:
    """Multiply-adds per second of audio of the bands' complex convolutions."""
    return sum(2 * (b.stop - b.start) * (2 * b.half_width + 1) * sample_rate / b.decimation for b in bands)


def pool_sigmas(widths: np.ndarray, window_size: int) -> np.ndarray:
    """Pooling windows' standard deviations in samples, from their relative widths."""
    return np.asarray(widths).reshape(-1) * 0.5 * (window_size - 1)


def band_kernel(params: tf.Tensor, band: Band) -> tf.Tensor:
    """Conv kernel ``[2r+1, 1, 2m]`` of the band's ``m`` filters: real parts, then imaginary parts."""
    real, imag = gabor.gabor_impulse_responses(params[band.start : band.stop], 2 * band.half_width + 1)
    return tf.transpose(tf.concat([real, imag], axis=0))[:, tf.newaxis, :]


def band_windows(windows: tf.Tensor, band: Band, pad_left: int) -> tf.Tensor:
    """The band's pooling taps ``[K, m]``: the full windows ``[W, n]`` at the decimated positions, times d.

    Frames start ``pad_left`` samples before a multiple of the stride, so the taps that land on
    the decimated grid are ``pad_left % d, pad_left % d + d, ...``.
    """
    first = pad_left % band.decimation
    return windows[first :: band.decimation, band.start : band.stop] * float(band.decimation)


def polyphase_kernel(kernel, decimation: int) -> tf.Tensor:
    """A band's kernel ``[2r+1, 1, 2m]`` rearranged for :func:`band_energies`: ``[blocks, P d, 2 m P]``.

    ``W[b, c, p, j] = h_j[b S + c - p d]`` (zero outside the kernel), with ``S = P d`` and ``P``
    phases, enough that ``2 m P >= OUTPUT_WIDTH``.
    """
    d = decimation
    taps, channels = kernel.shape[0], kernel.shape[-1]
    phases = max(1, -(-OUTPUT_WIDTH // channels))
    block = phases * d
    blocks = -(-(taps + (phases - 1) * d) // block)
    shifted = [
        tf.pad(kernel, [[p * d, blocks * block - taps - p * d], [0, 0], [0, 0]]) for p in range(phases)
    ]
    return tf.reshape(tf.concat(shifted, axis=-1), [blocks, block, phases * channels])


def band_energies(context: tf.Tensor, polyphase, decimation: int, taps: int) -> tf.Tensor:
    """``|conv|^2`` every ``decimation`` samples: ``[B, L]`` audio (``r`` samples of context
    each side of a ``taps = 2r+1`` kernel) -> ``[B, M, m]``.

    Computed polyphase (``polyphase``: from :func:`polyphase_kernel`), as one stride-1
    convolution that XNNPACK runs several times faster than a stride-d convolution of one
    channel: the audio as ``[B, L/S, S]`` blocks of ``S = P d`` samples, and ``P`` consecutive
    outputs of each filter as output channels, so that the matrix product is wide enough. The
    sums are unchanged. A constant ``polyphase`` (a NumPy array) stays a constant in a converted
    model: the converter does not fold the rearrangement of a large kernel by itself, and a
    convolution whose weights are computed at run time is several times slower.
    """
    d = decimation
    blocks, block, width = polyphase.shape
    phases = block // d
    channels = width // phases
    length = context.shape[1]
    outputs = (length - taps) // d + 1
    rows = -(-outputs // phases)
    needed = (rows - 1 + blocks) * block
    audio = tf.pad(context, [[0, 0], [0, max(0, needed - length)]])[:, :needed]
    y = tf.nn.conv1d(tf.reshape(audio, [-1, needed // block, block]), polyphase, stride=1, padding="VALID")
    return gabor.squared_modulus(tf.reshape(y, [-1, rows * phases, channels])[:, :outputs])


def band_pool(energies: tf.Tensor, taps: tf.Tensor, stride: int, decimation: int) -> tf.Tensor:
    """Depthwise pooling of decimated energies ``[B, M, m]`` at ``stride / d``, no padding."""
    step = stride // decimation
    kernel = taps[None, :, :, None]  # a NumPy array stays one constant
    pooled = tf.nn.depthwise_conv2d(energies[:, tf.newaxis], kernel, (1, step, step, 1), "VALID")
    return tf.squeeze(pooled, axis=1)


def same_pad_left(length: int, window_size: int, stride: int) -> int:
    """TensorFlow's 'SAME' left padding of the pooling for a clip of ``length`` samples."""
    frames = -(-length // stride)
    return max((frames - 1) * stride + window_size - length, 0) // 2


def band_weights(params, windows, bands: tuple[Band, ...], pad_left: int) -> list[tuple]:
    """Each band's polyphase convolution kernel and pooling taps, from the constrained
    ``[mu, sigma]`` rows and the full pooling windows ``[W, n]``."""
    return [
        (polyphase_kernel(band_kernel(params, band), band.decimation), band_windows(windows, band, pad_left))
        for band in bands
    ]


def grouped_pooled(
    waveform: tf.Tensor, weights, bands: tuple[Band, ...], stride: int, pad_left: int
) -> tf.Tensor:
    """Window model: ``[B, T]`` -> pooled energies ``[B, ceil(T/stride), n]``, as the exact frontend's
    'SAME' convolution and pooling (energies are zero outside the clip).

    ``weights``: :func:`band_weights` for ``pad_left`` (:func:`same_pad_left` of the clip).
    """
    frames = -(-waveform.shape[1] // stride)
    pooled = []
    for band, (polyphase, taps) in zip(bands, weights, strict=True):
        d, r = band.decimation, band.half_width
        energies = band_energies(tf.pad(waveform, [[0, 0], [r, r]]), polyphase, d, 2 * r + 1)
        before = pad_left // d
        after = max(0, (frames - 1) * (stride // d) + taps.shape[0] - energies.shape[1] - before)
        padded = tf.pad(energies, [[0, 0], [before, after], [0, 0]])
        pooled.append(band_pool(padded, taps, stride, d)[:, :frames])
    return concat_channels(pooled)


def concat_channels(parts: list[tf.Tensor]) -> tf.Tensor:
    """Concatenate along the last axis, at most 4 at a time: XNNPACK's concatenation takes no more."""
    while len(parts) > 1:
        parts = [tf.concat(parts[i : i + 4], axis=-1) for i in range(0, len(parts), 4)]
    return parts[0]

"""LEAF as functions of its weights: the one definition that training, the window model and the
streaming model run.

:class:`LeafWeights` holds a LEAF's weights in the form a mode needs: the Keras layer's variables
(training: gradients flow) or frozen arrays (the converter's window and streaming models: they
become constants). Every mode then takes the same three steps on them:

1. the Gabor filterbank's squared modulus, pooled: :func:`window_pooled` for a clip (training
   and the window model), :func:`hop_pooled` for one hop and its audio history (streaming);
2. the floor (:data:`FLOOR`), inside both;
3. :func:`compressed`: sPCEN (or log) of the pooled frames.

The exact filterbank is one full-rate convolution; the grouped one (:mod:`grouped`) evaluates
each group of filters at its own rate. Both pool with the same Gaussian windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.frontends import compression, gabor, grouped, pooling

FLOOR = 1e-5  # energies are floored before compression, as the reference does


@dataclass(frozen=True)
class LeafWeights:
    """A LEAF's weights: ``params`` the constrained ``[mu, sigma]`` rows ``[n, 2]``, ``widths`` the
    pooling widths (any shape of n values), ``pcen`` sPCEN's four weights or None (log), and
    ``bands`` the grouped plan or None (exact). ``frozen``: arrays, and what is derived from them
    (kernels, windows) is computed once as arrays too, to be constants in a converted model."""

    spec: AudioSpec
    params: tf.Tensor | np.ndarray
    widths: tf.Tensor | np.ndarray
    pcen: dict | None
    pcen_eps: float
    bands: tuple[grouped.Band, ...] | None
    frozen: bool = False

    @property
    def n_filters(self) -> int:
        return int(self.params.shape[0])

    def _derived(self, compute):
        if not self.frozen:
            return compute()
        with tf.init_scope():  # arrays, also when called while a converted graph is traced
            return tf.nest.map_structure(np.asarray, compute())

    def windows(self):
        """The pooling windows ``[W, n]``."""
        return self._derived(lambda: pooling.gaussian_windows(self.widths, self.spec.window_size))

    def exact_kernel(self):
        """The full-rate filterbank's kernel ``[W, 1, 2n]``: real parts, then imaginary parts."""
        band = grouped.exact_band(self.n_filters, self.spec.window_size)
        return self._derived(lambda: grouped.band_kernel(self.params, band))

    def evaluated_bands(self) -> tuple[grouped.Band, ...]:
        """The bands the filterbank is evaluated in: the grouped plan, or the exact one as one band."""
        return self.bands or (grouped.exact_band(self.n_filters, self.spec.window_size),)

    def band_weights(self, pad_left: int, bands: tuple[grouped.Band, ...]) -> list[tuple]:
        """Each band's polyphase kernel and pooling taps for frames that start ``pad_left`` early."""
        return self._derived(lambda: grouped.band_weights(self.params, self.windows(), bands, pad_left))


def window_pooled(waveform: tf.Tensor, weights: LeafWeights) -> tf.Tensor:
    """A clip ``[B, T]`` -> pooled, floored energies ``[B, ceil(T / stride), n]`` ('SAME' framing)."""
    size, stride = weights.spec.window_size, weights.spec.stride
    if weights.bands is not None:
        pad_left = grouped.same_pad_left(waveform.shape[1], size, stride)
        band_weights = weights.band_weights(pad_left, weights.bands)
        pooled = grouped.grouped_pooled(waveform, band_weights, weights.bands, stride, pad_left)
    else:
        energies = gabor.filterbank_energies(waveform, weights.exact_kernel())
        if weights.frozen:  # the windows as constants
            pooled = pooling.window_pool(energies, weights.windows(), stride)
        else:  # the same pooling, with its cheap gradient by the widths
            pooled = pooling.gaussian_pool(energies, weights.widths, size, stride)
    return tf.maximum(pooled, FLOOR)


@dataclass(frozen=True)
class HopGeometry:
    """Where a stream's hop sits in its audio history: ``hop`` new samples give ``hop / stride``
    new frames once ``history`` past samples are kept; the stream runs ``delay`` frames behind."""

    hop: int
    history: int
    delay: int
    pad_left: int

    @classmethod
    def of(cls, spec: AudioSpec, hop: int) -> HopGeometry:
        size, stride = spec.window_size, spec.stride
        if hop % stride or hop <= 0:
            raise ValueError(f"the streaming hop must be a positive multiple of {stride} samples, not {hop}")
        pad_left = grouped.same_pad_left(stride, size, stride)  # the window model's, for whole strides
        delay = -(-(size + size // 2 - stride - pad_left) // stride)
        return cls(hop, delay * stride + pad_left + size // 2, delay, pad_left)


def hop_pooled(buffer: tf.Tensor, weights: LeafWeights, geometry: HopGeometry) -> tf.Tensor:
    """``[1, history + hop]`` audio -> the hop's ``[1, hop / stride, n]`` pooled, floored energies:
    the frames :func:`window_pooled` gives for the same audio, ``delay`` frames late."""
    stride = weights.spec.stride
    frames = geometry.hop // stride
    first_frame = weights.spec.window_size // 2  # where the first new frame's pooling window starts
    bands = weights.evaluated_bands()
    pooled = []
    for band, (kernel, taps) in zip(bands, weights.band_weights(geometry.pad_left, bands), strict=True):
        d, r = band.decimation, band.half_width
        centre = first_frame + geometry.pad_left % d
        count = (frames - 1) * (stride // d) + taps.shape[0]
        context = buffer[:, centre - r : centre + (count - 1) * d + r + 1]
        energies = grouped.band_energies(context, kernel, d, 2 * r + 1)
        pooled.append(grouped.band_pool(energies, taps, stride, d))
    return tf.maximum(grouped.concat_channels(pooled), FLOOR)


def compressed(pooled: tf.Tensor, weights: LeafWeights) -> tf.Tensor:
    """sPCEN (or log) of pooled energies ``[B, frames, n]``, restarted at the first frame."""
    if weights.pcen is None:
        return compression.log_compression(pooled)
    pcen = {name: tf.constant(value) if weights.frozen else value for name, value in weights.pcen.items()}
    return compression.pcen(pooled, **pcen, eps=weights.pcen_eps)

"""Gabor filterbank maths: mel initialisation, constraint, impulse responses, convolution.

Pure TensorFlow functions (no layers, no state) so that training, folding into TFLite and
tests all use the same formulas. A filter ``n`` has a centre frequency ``mu`` (radians per
sample) and a time-envelope standard deviation ``sigma`` (samples):

    h_n(t) = exp(-t^2 / (2 sigma^2)) / (sqrt(2 pi) sigma) * exp(i mu t),  t = -W//2 ... W//2

Complex values are kept as separate real and imaginary parts: no complex dtypes.
"""

from __future__ import annotations

import math

import tensorflow as tf

SIGMA_RATIO = math.sqrt(2.0 * math.log(2.0))


def gabor_frequencies(params, sample_rate: int):
    """Centre frequency and bandwidth (full width at half maximum) in Hz of ``[mu, sigma]`` rows."""
    centre = params[:, 0] * sample_rate / (2 * math.pi)
    fwhm = 2 * SIGMA_RATIO / params[:, 1] * sample_rate / (2 * math.pi)
    return centre, fwhm


def sigma_bounds(window_size: int) -> tuple[float, float]:
    """The reference's limits on sigma: full width at half maximum between 4 and W samples."""
    return 4.0 * SIGMA_RATIO / math.pi, window_size * SIGMA_RATIO / math.pi


def constrain_gabor_params(params: tf.Tensor, window_size: int) -> tf.Tensor:
    """Clip ``[mu, sigma]`` rows to mu in [0, pi] and sigma in :func:`sigma_bounds`."""
    sigma_min, sigma_max = sigma_bounds(window_size)
    mu = tf.clip_by_value(params[:, 0], 0.0, math.pi)
    sigma = tf.clip_by_value(params[:, 1], sigma_min, sigma_max)
    return tf.stack([mu, sigma], axis=1)


def mel_init_params(
    n_filters: int,
    sample_rate: int,
    min_freq: float,
    max_freq: float,
    n_fft: int = 512,
) -> tf.Tensor:
    """``[n_filters, 2]`` Gabor parameters that mimic a mel filterbank, snapped to FFT bins.

    As in the reference: centre = the bin where sqrt(mel filter) peaks, and sigma from the
    number of bins at or above half that peak.
    """
    mel = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=n_filters,
        num_spectrogram_bins=n_fft // 2 + 1,
        sample_rate=sample_rate,
        lower_edge_hertz=min_freq,
        upper_edge_hertz=max_freq,
    )
    root = tf.sqrt(tf.transpose(mel))  # [n_filters, bins]
    centres = tf.cast(tf.argmax(root, axis=1), tf.float32)
    half_peak = tf.reduce_max(root, axis=1, keepdims=True) / 2.0
    widths = tf.reduce_sum(tf.cast(root >= half_peak, tf.float32), axis=1)
    mu = centres * 2.0 * math.pi / n_fft
    sigma = SIGMA_RATIO * n_fft / (math.pi * widths)
    return tf.stack([mu, sigma], axis=1)


def gabor_impulse_responses(params: tf.Tensor, window_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Real and imaginary impulse responses, each ``[n_filters, window_size]``."""
    mu = params[:, 0:1]
    sigma = params[:, 1:2]
    t = tf.range(-(window_size // 2), (window_size + 1) // 2, dtype=params.dtype)[tf.newaxis, :]
    envelope = tf.exp(-(t**2) / (2.0 * sigma**2)) / (math.sqrt(2.0 * math.pi) * sigma)
    phase = mu * t
    return envelope * tf.cos(phase), envelope * tf.sin(phase)


def conv_same(waveform: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Stride-1 'SAME' cross-correlation of ``[B, T]`` audio with a ``[W, 1, C]`` kernel."""
    return tf.nn.conv1d(waveform[:, :, tf.newaxis], kernel, stride=1, padding="SAME")


def filterbank_energies(waveform: tf.Tensor, kernel) -> tf.Tensor:
    """``|x * h|^2`` at full rate: ``[B, T]`` audio and a ``[W, 1, 2n]`` kernel (real parts, then
    imaginary parts) -> ``[B, T, n]`` energies."""
    return squared_modulus(conv_same(waveform, kernel))


def squared_modulus(responses: tf.Tensor) -> tf.Tensor:
    """``[..., 2n]`` responses (real parts, then imaginary parts) -> ``[..., n]`` ``Re^2 + Im^2``.

    Squared whole, then split: slicing the channels before squaring makes training's backward
    pass scatter each half into a zero tensor, about 1.5 times the cost of this one.
    """
    real, imag = tf.split(tf.square(responses), 2, axis=-1)
    return real + imag

"""An independent float64 numpy LEAF, written from the formulas in the LEAF maths notes.

It shares no code with ``leaf_edge``: direct convolution, explicit TF-'SAME' padding and a
sequential PCEN loop, so that agreement with the TensorFlow layers means something.
"""

from __future__ import annotations

import math

import numpy as np


def gabor_responses(mu: np.ndarray, sigma: np.ndarray, window_size: int) -> np.ndarray:
    """Complex impulse responses ``[n, W]``, t = -W//2 ... W//2."""
    t = np.arange(-(window_size // 2), (window_size + 1) // 2, dtype=np.float64)
    sigma = sigma[:, None].astype(np.float64)
    envelope = np.exp(-(t**2) / (2 * sigma**2)) / (math.sqrt(2 * math.pi) * sigma)
    return envelope * np.exp(1j * mu[:, None].astype(np.float64) * t)


def filterbank(x: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """Stride-1 cross-correlation with W//2 zeros each side: ``[T]`` -> complex ``[T, n]``."""
    half = responses.shape[1] // 2
    padded = np.pad(x.astype(np.float64), (half, half))
    # cross-correlation: y[t] = sum_j padded[t + j] h[j]
    return np.stack([np.convolve(padded, h[::-1], mode="valid") for h in responses], axis=1)


def tf_same_pads(length: int, window_size: int, stride: int) -> tuple[int, int, int]:
    """(frames, pad_left, pad_right) of TensorFlow's 'SAME' padding."""
    frames = -(-length // stride)
    total = max((frames - 1) * stride + window_size - length, 0)
    return frames, total // 2, total - total // 2


def gaussian_pool(energies: np.ndarray, widths: np.ndarray, window_size: int, stride: int):
    """Per-channel Gaussian window (peak 1), stride, TF-'SAME' padding: ``[T, n]`` -> ``[F, n]``."""
    widths = np.clip(widths.astype(np.float64), 2.0 / window_size, 0.5)
    half = 0.5 * (window_size - 1)
    j = np.arange(window_size, dtype=np.float64)[:, None]
    windows = np.exp(-0.5 * ((j - half) / (widths[None, :] * half)) ** 2)  # [W, n]
    frames, left, right = tf_same_pads(len(energies), window_size, stride)
    padded = np.pad(energies, ((left, right), (0, 0)))
    return np.stack([(padded[f * stride : f * stride + window_size] * windows).sum(0) for f in range(frames)])


def pcen(x, alpha, delta, root, smooth, eps=1e-12):
    """Sequential sPCEN over frames of ``[F, n]`` with the reference's clamps."""
    alpha = np.minimum(alpha, 1.0)
    root = np.maximum(root, 1.0)
    smooth = np.clip(smooth, 0.0, 1.0)
    m = np.empty_like(x)
    m[0] = x[0]
    for t in range(1, len(x)):
        m[t] = smooth * x[t] + (1 - smooth) * m[t - 1]
    return (x / (eps + m) ** alpha + delta) ** (1 / root) - delta ** (1 / root)


def leaf(x, mu, sigma, widths, alpha, delta, root, smooth, window_size=401, stride=160):
    """LEAF of a 1-D waveform in float64: ``[T]`` -> ``[ceil(T/stride), n]``."""
    responses = gabor_responses(mu, sigma, window_size)
    energies = np.abs(filterbank(x, responses)) ** 2
    pooled = np.maximum(gaussian_pool(energies, widths, window_size, stride), 1e-5)
    return pcen(pooled, alpha, delta, root, smooth)

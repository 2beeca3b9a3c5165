"""Fold a trained model into an inference graph that TFLite runs with builtin operators only.

The frontend's learned parameters become constants, computed once here:

* LEAF: the Gabor impulse responses from the learned mu/sigma, as one real convolution kernel
  whose first half of channels holds the real parts and second half the imaginary parts; the
  Gaussian pooling windows as a constant depthwise kernel; PCEN with constant per-channel
  parameters, its moving average as the exact loop-free prefix scan of the training graph.
* mel: the STFT as a real convolution (Hann-windowed cosine and sine kernels, stride = hop),
  because TFLite's FFT needs complex tensors.

The classifier layers are reused as trained, and a softmax turns logits into scores.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from leaf_edge.frontends import compression, gabor, pooling
from leaf_edge.frontends.leaf import FLOOR, Leaf
from leaf_edge.frontends.mel import MelFilterbanks
from leaf_edge.model import model_frontend


class FoldedLeaf(keras.layers.Layer):
    """LEAF with every parameter frozen into constants: ``[B, T]`` -> ``[B, frames, n]``."""

    def __init__(self, leaf: Leaf, **kw):
        super().__init__(name="folded_leaf", **kw)
        spec = leaf.spec
        real, imag = gabor.gabor_impulse_responses(leaf.gabor.constrained_kernel(), spec.window_size)
        self.kernel = np.concatenate([real.numpy(), imag.numpy()]).T[:, np.newaxis, :]  # [W, 1, 2n]
        self.windows = pooling.gaussian_windows(leaf.pooling.kernel, spec.window_size).numpy()
        self.stride = spec.stride
        self.pcen = None
        if leaf.pcen is not None:
            names = ("alpha", "delta", "root", "smooth")
            self.pcen = {name: getattr(leaf.pcen, name).numpy() for name in names}
            self.pcen_eps = leaf.pcen.eps

    def call(self, waveform):
        n = self.windows.shape[1]
        conv = gabor.conv_same(waveform, tf.constant(self.kernel))
        energies = tf.square(conv[:, :, :n]) + tf.square(conv[:, :, n:])
        pooled = tf.maximum(pooling.window_pool(energies, tf.constant(self.windows), self.stride), FLOOR)
        if self.pcen is None:
            return compression.log_compression(pooled)
        constants = {name: tf.constant(value) for name, value in self.pcen.items()}
        return compression.pcen(pooled, **constants, eps=self.pcen_eps)


class FoldedMel(keras.layers.Layer):
    """Log mel filterbanks with the STFT as a strided real convolution: no complex tensors."""

    def __init__(self, mel: MelFilterbanks, **kw):
        super().__init__(name="folded_mel", **kw)
        spec = mel.spec
        n = np.arange(spec.window_size)
        hann = tf.signal.hann_window(spec.window_size, periodic=True).numpy()  # the window stft uses
        bins = np.arange(mel.n_fft // 2 + 1)
        phase = 2 * math.pi * np.outer(n, bins) / mel.n_fft
        kernel = np.concatenate([hann[:, None] * np.cos(phase), -hann[:, None] * np.sin(phase)], axis=1)
        self.kernel = kernel[:, np.newaxis, :].astype(np.float32)  # [W, 1, 2 * bins]
        self.mel_matrix = mel.mel_matrix
        self.window_size, self.stride = spec.window_size, spec.stride

    def call(self, waveform):
        length = waveform.shape[1]
        frames = -(-length // self.stride)
        pad = (frames - 1) * self.stride + self.window_size - length
        padded = tf.pad(waveform, [[0, 0], [0, pad]])[:, :, tf.newaxis]
        spectrum = tf.nn.conv1d(padded, tf.constant(self.kernel), stride=self.stride, padding="VALID")
        bins = self.mel_matrix.shape[0]
        power = tf.square(spectrum[:, :, :bins]) + tf.square(spectrum[:, :, bins:])
        return compression.log_compression(tf.matmul(power, tf.constant(self.mel_matrix)))


def fold_frontend(frontend: keras.layers.Layer) -> keras.layers.Layer:
    if isinstance(frontend, Leaf):
        return FoldedLeaf(frontend)
    if isinstance(frontend, MelFilterbanks):
        return FoldedMel(frontend)
    raise ValueError(f"cannot fold a {type(frontend).__name__} frontend")


def inference_model(model: keras.Model) -> keras.Model:
    """Batch-1 waveform ``[1, clip_samples]`` -> scores ``[1, labels]`` with a folded frontend."""
    frontend = model_frontend(model)
    waveform = keras.Input(batch_shape=(1, frontend.spec.clip_samples), name="waveform")
    x = fold_frontend(frontend)(waveform)
    for layer in model.layers[2:]:
        if getattr(layer, "training_only", False):
            continue
        x = layer(x)
    scores = keras.layers.Softmax(name="scores")(x)
    return keras.Model(waveform, scores, name=f"{model.name}_inference")

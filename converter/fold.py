"""Fold a trained model into an inference graph that TFLite runs with builtin operators only.

The frontend's learned parameters become constants, computed once here:

* LEAF: the Gabor impulse responses from the learned mu/sigma, as one real convolution kernel
  whose first half of channels holds the real parts and second half the imaginary parts; the
  Gaussian pooling windows as a constant depthwise kernel; PCEN with constant per-channel
  parameters, its moving average as the exact loop-free prefix scan of the training graph.
  Grouped, each band's polyphase kernel and pooling taps. All are NumPy arrays here: left to
  the converter, the rearrangement of a large kernel stays in the graph as run-time operations.
* mel: the STFT as a real convolution (Hann-windowed cosine and sine kernels, stride = hop),
  because TFLite's FFT needs complex tensors.

The classifier layers are reused as trained, and a softmax turns logits into scores.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from device.contract import FOLDED_LEAF_SCOPE, FOLDED_MEL_SCOPE, SCORES_OUTPUT
from leaf_edge.frontends import compression
from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.leaf_functions import compressed, window_pooled
from leaf_edge.frontends.mel import MelFilterbanks
from leaf_edge.model import model_frontend


class FoldedLeaf(keras.layers.Layer):
    """LEAF with every parameter frozen into constants: ``[B, T]`` -> ``[B, frames, n]``.

    The same functions as the trained layer (:mod:`leaf_edge.frontends.leaf_functions`), on its
    weights as arrays. ``gabor`` chooses how the filterbank is evaluated: ``exact`` or ``grouped``
    (see :mod:`leaf_edge.frontends.grouped`); by default as the model was trained.
    """

    def __init__(self, leaf: Leaf, gabor: str | None = None, **kw):
        super().__init__(name=FOLDED_LEAF_SCOPE, **kw)
        self.frozen = leaf.weights_now(gabor, frozen=True)
        self.gabor_mode = "exact" if self.frozen.bands is None else "grouped"

    def pooled(self, waveform):
        """Pooled, floored energies ``[B, frames, n]``."""
        return window_pooled(waveform, self.frozen)

    def compress(self, pooled):
        """sPCEN (or log) of pooled energies ``[B, frames, n]``, restarted at the first frame."""
        return compressed(pooled, self.frozen)

    def call(self, waveform):
        return self.compress(self.pooled(waveform))


class FoldedMel(keras.layers.Layer):
    """Log mel filterbanks with the STFT as a strided real convolution: no complex tensors."""

    def __init__(self, mel: MelFilterbanks, **kw):
        super().__init__(name=FOLDED_MEL_SCOPE, **kw)
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


def fold_frontend(frontend: keras.layers.Layer, gabor: str | None = None) -> keras.layers.Layer:
    if isinstance(frontend, Leaf):
        return FoldedLeaf(frontend, gabor)
    if gabor == "grouped":
        raise ValueError("--gabor grouped needs a LEAF frontend")
    if isinstance(frontend, MelFilterbanks):
        return FoldedMel(frontend)
    raise ValueError(f"cannot fold a {type(frontend).__name__} frontend")


def classifier_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The trained layers after the frontend, without the training-only ones."""
    return [layer for layer in model.layers[2:] if not getattr(layer, "training_only", False)]


def inference_model(model: keras.Model, gabor: str | None = None) -> keras.Model:
    """Batch-1 waveform ``[1, clip_samples]`` -> scores ``[1, labels]`` with a folded frontend."""
    frontend = model_frontend(model)
    waveform = keras.Input(batch_shape=(1, frontend.spec.clip_samples), name="waveform")
    x = fold_frontend(frontend, gabor)(waveform)
    for layer in classifier_layers(model):
        x = layer(x)
    scores = keras.layers.Softmax(name=SCORES_OUTPUT)(x)
    return keras.Model(waveform, scores, name=f"{model.name}_inference")

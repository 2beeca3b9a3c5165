"""LEAF with arbitrary learned parameters equals an independent float64 numpy implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.frontends import compression, gabor
from leaf_edge.frontends.leaf import Leaf

from . import leaf_numpy

N_FILTERS = 24
LENGTH = 7777  # odd, not a multiple of the stride


@pytest.fixture(scope="module")
def learned():
    """Non-default values for all seven parameters of every filter."""
    rng = np.random.default_rng(7)
    return {
        "mu": rng.uniform(0.05, 3.0, N_FILTERS),
        "sigma": rng.uniform(3.0, 90.0, N_FILTERS),
        "widths": rng.uniform(0.1, 0.5, N_FILTERS),
        "alpha": rng.uniform(0.5, 0.99, N_FILTERS),
        "delta": rng.uniform(0.5, 3.0, N_FILTERS),
        "root": rng.uniform(1.5, 4.0, N_FILTERS),
        "smooth": rng.uniform(0.01, 0.5, N_FILTERS),
    }


@pytest.fixture(scope="module")
def wave():
    rng = np.random.default_rng(3)
    t = np.arange(LENGTH) / 16000
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 3000 * t**2))
    burst = np.where((t > 0.2) & (t < 0.3), 0.5 * rng.standard_normal(LENGTH), 0.0)
    return (chirp + burst + 0.01 * rng.standard_normal(LENGTH)).astype(np.float32)


def test_learned_parameters_match_float64_numpy(learned, wave):
    leaf = Leaf(AudioSpec(n_filters=N_FILTERS))
    leaf.build((None, LENGTH))
    leaf.gabor.kernel.assign(np.stack([learned["mu"], learned["sigma"]], axis=1))
    leaf.pooling.kernel.assign(learned["widths"].reshape(1, 1, -1, 1))
    for name in ("alpha", "delta", "root", "smooth"):
        getattr(leaf.pcen, name).assign(learned[name])
    params = {k: v.astype(np.float32).astype(np.float64) for k, v in learned.items()}

    expected = leaf_numpy.leaf(wave.astype(np.float64), **params)
    actual = leaf(wave[None, :]).numpy()[0]

    assert actual.shape == expected.shape == (math.ceil(LENGTH / 160), N_FILTERS)
    error = np.abs(actual - expected).max()
    assert error <= 1e-5 * np.abs(expected).max(), error


def test_loop_free_smoothing_equals_the_recursion():
    rng = np.random.default_rng(0)
    for frames in (1, 2, 3, 77, 128, 1601):
        x = rng.uniform(1e-5, 10.0, (2, frames, 5))
        s = np.array([0.0, 0.04, 0.3, 0.999, 1.0])
        expected = np.empty_like(x)
        expected[:, 0] = x[:, 0]
        for t in range(1, frames):
            expected[:, t] = s * x[:, t] + (1 - s) * expected[:, t - 1]
        actual = compression.ema(tf.constant(x, tf.float32), tf.constant(s, tf.float32)).numpy()
        np.testing.assert_allclose(actual, expected, rtol=2e-5, err_msg=f"{frames} frames")


def test_out_of_range_parameters_are_clipped_as_in_the_reference():
    params = tf.constant([[-1.0, 0.1], [4.0, 1000.0], [1.0, 20.0]])
    low, high = gabor.sigma_bounds(401)
    assert low == pytest.approx(1.4991, abs=1e-4) and high == pytest.approx(150.29, abs=1e-2)
    np.testing.assert_allclose(
        gabor.constrain_gabor_params(params, 401).numpy(),
        [[0.0, low], [math.pi, high], [1.0, 20.0]],
        rtol=1e-6,
    )


def test_optimizer_steps_keep_gabor_parameters_in_range(golden):
    leaf = Leaf()
    leaf.build((None, 4000))
    optimizer = tf.keras.optimizers.SGD(learning_rate=1e6)
    wave = tf.constant(golden("input_wave_2x16000")[:, :4000])
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(leaf(wave))
    optimizer.apply(tape.gradient(loss, leaf.trainable_weights), leaf.trainable_weights)
    kernel = leaf.gabor.kernel.numpy()
    low, high = gabor.sigma_bounds(401)
    assert kernel[:, 0].min() >= 0 and kernel[:, 0].max() <= math.pi
    assert kernel[:, 1].min() >= low - 1e-4 and kernel[:, 1].max() <= high + 1e-3


def test_pooling_gradient_equals_autodiff_of_the_plain_formulation():
    """The hand-written width gradient agrees with TensorFlow's own depthwise gradient."""
    from leaf_edge.frontends import pooling

    rng = np.random.default_rng(5)
    energies = tf.constant(rng.uniform(0, 1, (2, LENGTH, 6)), tf.float32)
    widths = tf.Variable(np.array([0.0, 0.05, 0.2, 0.4, 0.5, 0.7], np.float32))

    def plain(e, w):
        kernel = pooling.gaussian_windows(w, 401)[tf.newaxis, :, :, tf.newaxis]
        return tf.nn.depthwise_conv2d(e[:, tf.newaxis], kernel, (1, 160, 160, 1), "SAME")[:, 0]

    def gradients(fn):
        with tf.GradientTape() as tape:
            tape.watch(energies)
            loss = tf.reduce_sum(tf.sin(fn(energies, widths)))
        return tape.gradient(loss, [energies, widths])

    ours = gradients(lambda e, w: pooling.gaussian_pool(e, w, 401, 160))
    for mine, theirs in zip(ours, gradients(plain), strict=True):
        theirs = theirs.numpy()
        np.testing.assert_allclose(mine.numpy(), theirs, atol=1e-5 * np.abs(theirs).max())
    assert ours[1].numpy()[0] == 0 and ours[1].numpy()[-1] == 0  # clipped widths get no gradient

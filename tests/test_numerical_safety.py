"""No NaN or Inf in outputs or gradients on hard inputs; gradients reach every parameter."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.mel import MelFilterbanks

RATE = 16000


def hard_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    click = np.zeros(RATE, np.float32)
    click[RATE // 2] = 1.0
    t = np.arange(16 * RATE) / RATE
    long_input = 0.5 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    return {
        "silence": np.zeros(RATE, np.float32),
        "full_scale_noise": rng.uniform(-1, 1, RATE).astype(np.float32),
        "single_click": click,
        "16s_gated_tone": long_input.astype(np.float32),
    }


def outputs_and_gradients(frontend, wave: np.ndarray):
    x = tf.constant(wave[None, :])
    with tf.GradientTape() as tape:
        y = frontend(x)
        loss = tf.reduce_mean(tf.square(y - 1.0))
    return y, tape.gradient(loss, frontend.trainable_weights)


@pytest.mark.parametrize("compression", ["pcen", "log"])
@pytest.mark.parametrize("name", list(hard_inputs()))
def test_leaf_outputs_and_gradients_are_finite(name, compression):
    wave = hard_inputs()[name]
    leaf = Leaf(compression=compression)
    y, grads = outputs_and_gradients(leaf, wave)
    assert y.shape == (1, -(-len(wave) // 160), 40)
    assert np.isfinite(y.numpy()).all(), name
    for weight, grad in zip(leaf.trainable_weights, grads, strict=True):
        assert grad is not None, weight.path
        assert np.isfinite(grad.numpy()).all(), f"{name}: {weight.path}"


@pytest.mark.parametrize("name", list(hard_inputs()))
def test_mel_outputs_are_finite(name):
    assert np.isfinite(MelFilterbanks()(hard_inputs()[name][None, :]).numpy()).all()


def test_gradients_reach_every_learnable_parameter():
    leaf = Leaf()
    _, grads = outputs_and_gradients(leaf, hard_inputs()["full_scale_noise"])
    assert len(grads) == 6
    for weight, grad in zip(leaf.trainable_weights, grads, strict=True):
        grad = grad.numpy()
        assert np.isfinite(grad).all(), weight.path
        assert np.count_nonzero(grad) == grad.size, f"{weight.path} has zero gradients"


def test_extreme_learned_parameters_stay_finite():
    """Parameters pushed to and past their clamps (delta below zero, smooth 0 and 1)."""
    leaf = Leaf()
    leaf.build((None, RATE))
    leaf.pcen.delta.assign(np.linspace(-1.0, 5.0, 40))
    leaf.pcen.smooth.assign(np.linspace(-0.5, 1.5, 40))
    leaf.pcen.root.assign(np.linspace(0.1, 10.0, 40))
    leaf.pcen.alpha.assign(np.linspace(-1.0, 2.0, 40))
    leaf.pooling.kernel.assign(np.linspace(-1.0, 1.0, 40).reshape(1, 1, 40, 1))
    for name, wave in hard_inputs().items():
        if len(wave) > RATE:
            continue
        y, grads = outputs_and_gradients(leaf, wave)
        assert np.isfinite(y.numpy()).all(), name
        assert all(np.isfinite(g.numpy()).all() for g in grads), name


def test_each_leaf_owns_its_parameters():
    first, second = Leaf(), Leaf()
    first.build((None, RATE))
    second.build((None, RATE))
    assert first.pcen is not second.pcen
    first.pcen.alpha.assign(np.zeros(40))
    assert np.all(second.pcen.alpha.numpy() == np.float32(0.96))

"""Our LEAF and mel frontends reproduce the original leaf-audio outputs (tests/golden/)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.frontends import gabor, pooling
from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.mel import MelFilterbanks

from .conftest import GOLDEN_DIR

TOLERANCE = 1e-5  # of each golden array's largest magnitude (the reference is float32)


def assert_matches(actual, expected):
    actual = np.asarray(actual)
    assert actual.shape == expected.shape
    scale = np.abs(expected).max()
    error = np.abs(actual - expected).max()
    assert error <= TOLERANCE * scale, f"max error {error:.3g} > {TOLERANCE} x {scale:.3g}"


@pytest.fixture(scope="module")
def leaf():
    layer = Leaf()
    layer.build((None, 16000))
    return layer


@pytest.fixture(scope="module")
def wave(golden):
    return golden("input_wave_2x16000")


def test_golden_files_are_intact():
    for line in (GOLDEN_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        data = (GOLDEN_DIR / name.lstrip("*")).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


def test_short_input_is_the_prefix_of_the_long_one(golden):
    np.testing.assert_array_equal(golden("input_wave_2x12345"), golden("input_wave_2x16000")[:, :12345])


def test_initial_parameters(leaf, golden):
    assert_matches(leaf.gabor.kernel.numpy(), golden("param_gabor_kernel_raw_40x2"))
    assert_matches(leaf.gabor.constrained_kernel(), golden("param_gabor_kernel_constrained_40x2"))
    assert_matches(leaf.pooling.kernel.numpy(), golden("param_pooling_sigma_1x1x40x1"))
    for name, stem in [
        ("alpha", "alpha"),
        ("delta", "delta"),
        ("root", "root"),
        ("smooth", "ema_smooth"),
    ]:
        assert_matches(getattr(leaf.pcen, name).numpy(), golden(f"param_pcen_{stem}"))


def test_parameter_count_and_names(leaf):
    assert sum(int(np.prod(w.shape)) for w in leaf.trainable_weights) == 280
    assert {w.path.split("/", 1)[1]: tuple(w.shape) for w in leaf.weights} == {
        "tfbanks_complex_conv/kernel": (40, 2),
        "learnable_pooling/kernel": (1, 1, 40, 1),
        "PCEN/alpha": (40,),
        "PCEN/delta": (40,),
        "PCEN/root": (40,),
        "PCEN/smooth": (40,),
    }


def test_gabor_impulse_responses(leaf, golden):
    real, imag = gabor.gabor_impulse_responses(leaf.gabor.constrained_kernel(), 401)
    assert_matches(real, golden("param_gabor_impulse_real_40x401"))
    assert_matches(imag, golden("param_gabor_impulse_imag_40x401"))


def test_gaussian_pooling_windows(leaf, golden):
    windows = pooling.gaussian_windows(leaf.pooling.kernel, 401)
    assert_matches(np.asarray(windows)[None, :, :, None], golden("param_gaussian_lowpass_1x401x40x1"))


def reference_layout_conv(wave, params):
    """The Gabor convolution in the reference's layout: channel 2k = Re h_k, 2k+1 = Im h_k."""
    real, imag = gabor.gabor_impulse_responses(params, 401)
    kernel = tf.transpose(tf.reshape(tf.stack([real, imag], axis=1), [80, 401]))[:, tf.newaxis, :]
    return gabor.conv_same(wave, kernel)


def our_energies(wave, leaf):
    """The squared modulus as every mode computes it (kernel: real parts, then imaginary parts)."""
    return gabor.filterbank_energies(wave, leaf.weights_now().exact_kernel())


def test_every_intermediate_of_the_default_frontend(leaf, wave, golden):
    conv = reference_layout_conv(wave, leaf.gabor.constrained_kernel())
    assert_matches(conv, golden("leaf_default_conv_interleaved_2x16000x80"))
    energies = our_energies(wave, leaf)
    assert_matches(energies, golden("leaf_default_sqmod_2x16000x40"))
    pooled = pooling.gaussian_pool(energies, leaf.pooling.kernel, 401, 160)
    assert_matches(pooled, golden("leaf_default_pooled_2x100x40"))
    assert_matches(leaf.energies(wave), golden("leaf_default_floored_2x100x40"))
    assert_matches(leaf(wave), golden("leaf_default_output_pcen_2x100x40"))


def test_odd_length_input_uses_tf_same_padding(leaf, golden):
    wave = golden("input_wave_2x12345")
    pooled = pooling.gaussian_pool(our_energies(wave, leaf), leaf.pooling.kernel, 401, 160)
    assert_matches(pooled, golden("leaf_default_pooled_2x78x40_from12345"))
    assert_matches(leaf(wave), golden("leaf_default_output_pcen_2x78x40_from12345"))


def test_log_compression_variant(wave, golden):
    assert_matches(Leaf(compression="log")(wave), golden("leaf_logcompression_output_2x100x40"))


def test_mel_filterbank_baseline(wave, golden):
    assert_matches(MelFilterbanks(AudioSpec())(wave), golden("melfbanks_log_output_2x100x40"))


def test_reference_checkpoint_names_load(golden, wave):
    leaf = Leaf()
    leaf.build((None, 16000))
    leaf.assign_reference_weights(
        {
            "kernel:0": golden("param_gabor_kernel_raw_40x2") * [1.0, 0.5],
            "learnable_pooling/kernel:0": np.full((1, 1, 40, 1), 0.3),
            "PCEN/EMA/smooth:0": np.full(40, 0.1),
        }
    )
    np.testing.assert_allclose(
        leaf.gabor.kernel.numpy()[:, 1], golden("param_gabor_kernel_raw_40x2")[:, 1] / 2
    )
    assert np.all(leaf.pcen.smooth.numpy() == np.float32(0.1))
    with pytest.raises(KeyError, match="unknown reference weight"):
        leaf.assign_reference_weights({"PCEN/beta:0": np.zeros(40)})

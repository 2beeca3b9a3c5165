"""Model assembly: frontend + EfficientNetB0 + logits, saving, labels and BatchNorm statistics."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.classifiers import efficientnet
from leaf_edge.model import (
    build_model,
    dropout_disabled,
    load_model,
    model_frontend,
    model_labels,
    model_spec,
    reestimate_batchnorm,
    save_model,
)

LABELS = ["yes", "no", "_silence_"]


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    tones = [0.3 * np.sin(2 * np.pi * f * t) for f in (300, 1200, 4000, 6000)]
    return (np.stack(tones) + 0.01 * rng.standard_normal((4, 16000))).astype(np.float32)


@pytest.fixture(scope="module")
def leaf_model():
    return build_model(frontend="leaf", labels=LABELS)


def test_waveform_batch_maps_to_logits(leaf_model, batch):
    assert leaf_model.input_shape == (None, 16000)
    assert leaf_model(batch).shape == (4, len(LABELS))
    assert model_labels(leaf_model) == LABELS
    assert model_spec(leaf_model) == AudioSpec()


def test_classifier_sees_a_one_channel_frames_by_filters_image(leaf_model):
    body = leaf_model.get_layer("efficientnet_b0")
    assert body.input_shape == (None, 100, 40, 1)
    assert body.output_shape == (None, 1280)  # global max pooling


def test_imagenet_preprocessing_is_cut_off():
    import keras

    body = efficientnet("efficientnet-b0", (100, 40, 1))
    kinds = {type(layer) for layer in body.layers}
    assert keras.layers.Rescaling not in kinds and keras.layers.Normalization not in kinds
    assert body.layers[1].name == "stem_conv_pad"


def test_mel_frontend_and_other_specs_build(batch):
    spec = AudioSpec(n_filters=64)
    model = build_model(frontend="mel", labels=["a", "b"], spec=spec)
    assert model(batch).shape == (4, 2)
    assert model_frontend(model).spec.n_filters == 64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": ["one"]}, "two distinct labels"),
        ({"labels": ["a", "a"]}, "two distinct labels"),
        ({"labels": ["a", "b"], "frontend": "sinc"}, "unknown frontend"),
        ({"labels": ["a", "b"], "classifier": "resnet"}, "unknown classifier"),
        ({"labels": ["a", "b"], "spec": AudioSpec(clip_seconds=0.2)}, "at least 32 x 32"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(**kwargs)


def test_save_and_load_in_safe_mode_round_trips(leaf_model, batch, tmp_path):
    leaf_model.get_layer("leaf").pcen.alpha.assign(np.full(40, 0.8, np.float32))
    path = save_model(leaf_model, tmp_path / "run" / "model.keras")
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]  # no temporary left behind
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded(batch).numpy(), leaf_model(batch).numpy())
    assert model_labels(loaded) == LABELS
    assert loaded.get_layer("leaf").pcen.alpha.numpy()[0] == np.float32(0.8)


def test_save_refuses_other_suffixes(leaf_model, tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        save_model(leaf_model, tmp_path / "model.h5")


def test_reestimated_batchnorm_makes_inference_match_training_statistics(batch):
    model = build_model(frontend="mel", labels=["a", "b"])

    def gap():
        with dropout_disabled(model):
            train_mode = model(batch, training=True).numpy()
        return np.abs(model(batch, training=False).numpy() - train_mode).max()

    before = gap()
    assert reestimate_batchnorm(model, [batch]) == 1
    after = gap()
    assert before > 1e-2 and after < 1e-4 * max(before, 1.0), (before, after)


def test_reestimated_statistics_are_the_average_over_batches(batch):
    model = build_model(frontend="mel", labels=["a", "b"])
    halves = [batch[:2], batch[2:]]
    reestimate_batchnorm(model, halves)
    frontend = model_frontend(model)
    features = [frontend(half).numpy() for half in halves]  # [2, frames, filters]
    mean = np.mean([f.mean(axis=(0, 1)) for f in features], axis=0)
    var = np.mean([f.var(axis=(0, 1)) for f in features], axis=0)
    norm = model.get_layer("feature_norm")
    np.testing.assert_allclose(norm.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), var, rtol=1e-4)
    assert norm.momentum == 0.99  # restored


def test_reestimation_needs_data():
    model = build_model(frontend="mel", labels=["a", "b"])
    with pytest.raises(ValueError, match="at least one batch"):
        reestimate_batchnorm(model, [])


def test_a_training_step_reaches_the_frontend(batch):
    model = build_model(frontend="leaf", labels=["a", "b"])
    labels = tf.constant([0, 1, 0, 1])
    with tf.GradientTape() as tape:
        loss = tf.keras.losses.sparse_categorical_crossentropy(
            labels, model(batch, training=True), from_logits=True
        )
    grads = tape.gradient(loss, model.trainable_weights)
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    frontend_grads = [
        g for w, g in zip(model.trainable_weights, grads, strict=True) if w.path.startswith("leaf/")
    ]
    assert len(frontend_grads) == 6 and all(np.abs(g.numpy()).max() > 0 for g in frontend_grads)


def test_a_saved_model_loads_in_a_fresh_process(tmp_path):
    """Loading must not depend on what the saving process happened to import."""
    import subprocess
    import sys

    from leaf_edge.layers import SpecAugment

    model = build_model(frontend="leaf", labels=LABELS, spec_augment=SpecAugment())
    save_model(model, tmp_path / "m.keras")
    code = (
        "import sys; from leaf_edge.model import load_model, model_labels; "
        "print(model_labels(load_model(sys.argv[1])))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m.keras")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(LABELS) in result.stdout


def test_the_filterbank_reaches_near_nyquist_at_any_rate():
    assert AudioSpec().max_freq == 7800.0  # LEAF's default at 16 kHz
    assert AudioSpec(sample_rate=44100).max_freq == 0.975 * 22050
    assert AudioSpec(sample_rate=8000).max_freq == 3900.0
    assert AudioSpec(sample_rate=44100, max_freq=16000).max_freq == 16000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sample_rate": 8000, "max_freq": 7800}, "--max-freq"),
        ({"min_freq": 5000, "max_freq": 4000}, "--min-freq"),
        ({"clip_seconds": 12}, "--clip-seconds 12 is over the 10 s limit"),
        ({"clip_seconds": 10, "stride_ms": 5}, "raise --stride-ms"),
        ({"window_ms": 5, "stride_ms": 10}, "--window-ms"),
    ],
)
def test_bad_audio_specs_name_the_options_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AudioSpec(**kwargs)


def test_the_small_classifier_is_efficientnet_at_half_width_and_depth():
    small = efficientnet("efficientnet-small", (200, 40, 1))
    b0 = efficientnet("efficientnet-b0", (200, 40, 1))
    assert small.output_shape == (None, 640) and b0.output_shape == (None, 1280)
    assert small.count_params() < b0.count_params() / 4
    assert any(isinstance(layer, __import__("keras").layers.Dropout) for layer in small.layers)

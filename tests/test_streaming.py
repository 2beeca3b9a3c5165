"""Streaming LEAF and the grouped filterbank: parity with the window frontend, and their cost."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from converter.fold import FoldedLeaf
from converter.streaming import LeafStream
from device.contract import AudioSpec
from leaf_edge.frontends import grouped
from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.leaf_functions import compressed
from tests.speech import recording


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 6 s of spoken keywords in light noise, cut to whole strides."""
    audio, _ = recording(["yes", "stop", "seven", "left"], gap_seconds=0.4)
    return audio[: len(audio) // 4000 * 4000]


@pytest.fixture(scope="module")
def trained_like_leaf() -> Leaf:
    """LEAF with parameters moved off their initialisation, as training moves them."""
    leaf = Leaf(AudioSpec())
    leaf.build((None, 16000))
    rng = np.random.default_rng(0)
    params = leaf.gabor.kernel.numpy()
    leaf.gabor.kernel.assign(params * rng.uniform(0.9, 1.1, params.shape).astype(np.float32))
    leaf.pooling.kernel.assign(rng.uniform(0.3, 0.5, (1, 1, 40, 1)).astype(np.float32))
    leaf.pcen.alpha.assign(rng.uniform(0.8, 0.99, 40).astype(np.float32))
    leaf.pcen.smooth.assign(rng.uniform(0.02, 0.1, 40).astype(np.float32))
    return leaf


def streamed_frames(stream: LeafStream, audio: np.ndarray) -> np.ndarray:
    """The new pooled frames of every hop, fed from zero state."""
    audio_state = tf.zeros((1, stream.history))
    step = tf.function(stream.step)
    frames = []
    for start in range(0, len(audio), stream.hop):
        new, audio_state = step(tf.constant(audio[np.newaxis, start : start + stream.hop]), audio_state)
        frames.append(new.numpy()[0])
    return np.concatenate(frames)


@pytest.mark.parametrize("gabor", ["exact", "grouped"])
@pytest.mark.parametrize("hop", [1600, 4000])
def test_stream_gives_the_window_frontends_frames(trained_like_leaf, speech, gabor, hop):
    """Hop by hop from zero state = the folded window frontend's pooled energies on the whole
    recording after DELAY strides of zeros, to float rounding."""
    folded = FoldedLeaf(trained_like_leaf, gabor)
    stream = LeafStream(folded, hop)
    lead_in = np.zeros(stream.delay * stream.stride, np.float32)
    whole = folded.pooled(tf.constant(np.concatenate([lead_in, speech])[np.newaxis])).numpy()[0]
    streamed = streamed_frames(stream, speech)
    assert streamed.shape == (len(speech) // stream.stride, 40)
    np.testing.assert_allclose(streamed, whole[: len(streamed)], atol=2e-5 * np.abs(whole).max())


def test_grouped_filterbank_approximates_the_exact_one(trained_like_leaf, speech):
    """Same parameters, decimated evaluation: the pooled energies stay close (log scale, where PCEN and
    the classifier look), and the Gabor convolution needs a fraction of the multiply-adds."""
    exact = FoldedLeaf(trained_like_leaf, "exact")
    fast = FoldedLeaf(trained_like_leaf, "grouped")
    clips = tf.constant(speech[: len(speech) // 16000 * 16000].reshape(-1, 16000))
    log_exact = np.log(exact.pooled(clips).numpy())[:, 3:-3]  # clip edges: see the grouped module
    log_fast = np.log(fast.pooled(clips).numpy())[:, 3:-3]
    error = np.abs(log_fast - log_exact)
    assert np.median(error) < 1e-3 and np.quantile(error, 0.99) < 0.1
    bands = fast.frozen.bands
    assert len(bands) > 2 and all(b.decimation > 1 for b in bands)
    exact_macs = grouped.multiply_adds((grouped.exact_band(40, 401),), 16000)
    grouped_macs = grouped.multiply_adds(bands, 16000)
    assert grouped_macs < exact_macs / 10


def test_one_full_rate_band_is_the_exact_frontend(trained_like_leaf, speech):
    exact = FoldedLeaf(trained_like_leaf, "exact")
    clip = tf.constant(speech[np.newaxis, 16000:32000])
    band = (grouped.exact_band(40, 401),)
    pad_left = grouped.same_pad_left(16000, 401, 160)
    weights = grouped.band_weights(exact.frozen.params, exact.frozen.windows(), band, pad_left)
    one_band = grouped.grouped_pooled(clip, weights, band, 160, pad_left)
    reference = exact.pooled(clip).numpy()
    np.testing.assert_allclose(np.maximum(one_band.numpy(), 1e-5), reference, rtol=1e-4, atol=1e-9)


def test_grouped_leaf_trains(speech):
    """``Leaf(gabor="grouped")`` has LEAF's parameters, and they all receive finite, non-zero gradients."""
    leaf = Leaf(AudioSpec(), gabor="grouped")
    clips = tf.constant(speech[: 2 * 16000].reshape(2, 16000))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(leaf(clips) ** 2)
    grads = tape.gradient(loss, leaf.trainable_weights)
    assert len(grads) == 6  # Gabor [mu, sigma], pooling widths, PCEN alpha, delta, root, smooth
    for weight, grad in zip(leaf.trainable_weights, grads, strict=True):
        assert grad is not None and np.isfinite(grad.numpy()).all(), weight.path
        assert np.abs(grad.numpy()).max() > 0, weight.path
    assert Leaf.from_config(leaf.get_config()).gabor_mode == "grouped"


def test_a_hop_that_is_not_whole_strides_is_refused(trained_like_leaf):
    with pytest.raises(ValueError, match="multiple of 160"):
        LeafStream(FoldedLeaf(trained_like_leaf), 1000)


@pytest.fixture(scope="module")
def grouped_model(tiny_run, tmp_path_factory):
    """The tiny run converted float with the grouped filterbank (tiny_model: as trained, exact)."""
    from converter.convert import convert_run

    path = tmp_path_factory.mktemp("models") / "tiny-grouped.tflite"
    convert_run(tiny_run, path, "none", gabor="grouped", log=lambda *_: None)
    return path


@pytest.mark.parametrize("gabor", ["exact", "grouped"])
def test_one_leaf_keras_window_and_streaming_tflite_agree(tiny_run, tiny_model, grouped_model, speech, gabor):
    """The same clip through the three modes of one LEAF: the Keras model (its frontend in
    ``gabor`` mode), the window .tflite and the streaming .tflite (LiteRT, XNNPACK), the stream
    fed the clip after a pause and run on until its window is the clip. Their frames agree to
    float rounding, but for the two at each end: there the window model pools energies
    zero-padded outside the clip ('SAME', as the reference), the stream the energies its filters
    really give as they run into the pause. So each .tflite's scores are compared with Keras's
    compression and classifier run on that model's own frames: the stream's end frames can move
    a briefly trained classifier's scores by more than rounding."""
    import keras

    from device.metadata import read_leaf_edge_metadata
    from device.runtime import ModelRunner
    from device.streaming import StreamRunner, open_stream, paused_recording
    from leaf_edge.model import model_frontend
    from leaf_edge.runs import load_run

    data = (tiny_model if gabor == "exact" else grouped_model).read_bytes()
    info = read_leaf_edge_metadata(data).leaf_edge["streaming"]
    assert info["gabor"] == gabor
    model, _ = load_run(tiny_run)
    trained = model_frontend(model)
    frontend = Leaf.from_config({**trained.get_config(), "gabor": gabor})
    frontend.build((None, 16000))
    frontend.set_weights(trained.get_weights())
    clip = speech[np.newaxis, 16000:32000]
    keras_frames = frontend.energies(tf.constant(clip)).numpy()[0]

    def keras_scores(frames):
        weights = frontend.weights_now()
        x = compressed(tf.constant(frames[np.newaxis]), weights)
        for layer in model.layers[2:]:  # the classifier, as the model runs it in inference
            x = layer(x, training=False)
        return keras.ops.softmax(x).numpy()[0]

    window_scores = ModelRunner(data).scores(clip)[0]
    stream: StreamRunner = open_stream(data, info)
    audio, _ = paused_recording(clip, stream.hop_samples, info["delay_samples"])
    for hop in audio.reshape(-1, stream.hop_samples):
        stream_scores = stream.step(hop)
    stream_frames = stream.state["frames"][0]

    scale = np.abs(keras_frames).max()
    inside = slice(2, -2)  # frames whose pooling window lies within the clip
    np.testing.assert_allclose(stream_frames[inside], keras_frames[inside], rtol=1e-4, atol=1e-4 * scale)
    for scores, frames in ((window_scores, keras_frames), (stream_scores, stream_frames)):
        np.testing.assert_allclose(scores, keras_scores(frames), atol=1e-3)

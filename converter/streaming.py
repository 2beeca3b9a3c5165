"""The streaming model: one hop of audio and the state in, scores and the new state out.

State tensors, float32, all zeros at the start of a stream:

* ``audio``  ``[1, A]``: the last A samples, the history the Gabor convolutions and the pooling
  windows of the next frames reach back into;
* ``frames`` ``[1, F, n]``: the classifier's window, the last F frames of pooled, floored
  energies (before compression).

A hop of ``k`` strides makes ``k`` new frames with only the convolutions and pooling those
frames need (so the filterbank's cost grows with the hop, not the window), appends them to the
window, compresses the window and runs the classifier once. Frames come out ``DELAY`` strides
behind the audio: a frame is made once all the audio its filters and pooling window span has
arrived. Fed a recording hop by hop from zero state, the frames equal the window model's pooled
energies on the whole recording preceded by ``DELAY * stride`` zeros (tests/test_streaming.py).

PCEN is computed over each window from its first frame, as in training, rather than carried
across windows: a running average carried on from a loud word made the quiet windows after it
look like no training window, and the classifier heard "up" there (measured). Its cost, a few
operations on ``F x n`` numbers per hop, does not show next to the filterbank. Each band of the
(exact or grouped) filterbank is computed as in :mod:`leaf_edge.frontends.grouped`; exact is one
full-rate band.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

from converter.export import CALIBRATED_MODES, convert_saved
from converter.fold import FoldedLeaf, classifier_layers
from device.atomic import scratch_folder
from device.contract import HOP_INPUT, SCORES_OUTPUT, STREAM_FILE, STREAM_STATES
from device.streaming import StreamRunner, paused_recording
from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.leaf_functions import FLOOR, HopGeometry, hop_pooled
from leaf_edge.model import model_frontend


class LeafStream:
    """The folded LEAF frontend as a function of one hop and its history
    (:func:`leaf_edge.frontends.leaf_functions.hop_pooled`)."""

    def __init__(self, folded: FoldedLeaf, hop: int):
        self.folded, self.weights = folded, folded.frozen
        self.geometry = HopGeometry.of(self.weights.spec, hop)
        self.hop, self.stride = hop, self.weights.spec.stride
        self.frames_per_hop = hop // self.stride
        self.delay, self.history = self.geometry.delay, self.geometry.history
        self.bands = self.weights.evaluated_bands()

    def step(self, hop: tf.Tensor, audio: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The hop's new pooled frames ``[1, k, n]`` and the new audio history."""
        buffer = tf.concat([audio, hop], axis=1)
        return hop_pooled(buffer, self.weights, self.geometry), buffer[:, -self.history :]


def state_shapes(stream: LeafStream, frames: int) -> dict[str, tuple[int, ...]]:
    """Each state input's shape."""
    audio, past_frames = STREAM_STATES
    return {audio: (1, stream.history), past_frames: (1, frames, stream.weights.n_filters)}


def streaming_function(model: keras.Model, hop: int, gabor: str | None = None):
    """``(step, input specs, stream)``: the traced-ready step function of a trained LEAF model."""
    frontend = model_frontend(model)
    if not isinstance(frontend, Leaf):
        raise ValueError("streaming models are made for LEAF frontends")
    folded = FoldedLeaf(frontend, gabor)
    stream = LeafStream(folded, hop)
    shapes = state_shapes(stream, frontend.spec.n_frames)
    specs = [tf.TensorSpec((1, hop), tf.float32, name=HOP_INPUT)]
    specs += [tf.TensorSpec(shape, tf.float32, name=name) for name, shape in shapes.items()]
    layers = classifier_layers(model)
    k = stream.frames_per_hop

    def step(hop_audio, audio, frames):
        with tf.name_scope(folded.name):  # the converter keeps this scope in float
            new, audio_out = stream.step(hop_audio, audio)
            # energies span 1e-5 to 1e2: int8 would zero most of them. A float op on the input
            # (a no-op on floored energies) keeps the quantizer from moving the window to int8.
            kept = tf.maximum(frames, FLOOR)[:, k:]
            window = tf.concat([kept, new], axis=1)
            features = folded.compress(window)
        x = features
        for layer in layers:
            x = layer(x)
        audio, past_frames = STREAM_STATES
        return {SCORES_OUTPUT: tf.nn.softmax(x), audio: audio_out, past_frames: window}

    return step, specs, stream


@contextlib.contextmanager
def saved_streaming_model(
    model: keras.Model, hop: int, gabor: str | None = None
) -> Iterator[tuple[str, LeafStream]]:
    """The streaming step exported as a SavedModel in a temporary folder, and its :class:`LeafStream`."""
    step, specs, stream = streaming_function(model, hop, gabor)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", step, specs)
    with scratch_folder("stream") as folder:
        archive.write_out(folder, verbose=False)
        yield folder, stream


def _calibration_inputs(float_model: bytes, clips: np.ndarray, delay: int) -> list[list[np.ndarray]]:
    """Inputs the streaming model meets, in the model's input order (what the quantizer expects):
    the float stream run over the clips with pauses, taken at the hop whose window is a clip, so
    that the int8 classifier is calibrated on the windows the window model's is."""
    runner = StreamRunner(float_model)
    order = [detail["index"] for detail in runner.interpreter.get_input_details()]
    by_index = {detail["index"]: name for name, detail in runner.runner.get_input_details().items()}
    names = [by_index[index] for index in order]
    audio, period = paused_recording(clips, runner.hop_samples, delay)
    samples = []
    for start in range(0, len(audio), period):
        for hop in audio[start : start + period].reshape(-1, runner.hop_samples):
            values = {HOP_INPUT: hop[np.newaxis], **runner.state}
            runner.step(hop)
        samples.append([values[name] for name in names])
    return samples


def convert_streaming(
    model: keras.Model, hop: int, mode: str, clips: np.ndarray | None, gabor: str | None = None
) -> tuple[bytes, dict]:
    """The streaming .tflite of a trained LEAF model in ``mode`` and its description for the metadata.

    Quantized modes are calibrated on ``clips`` fed through the float stream with pauses between them.
    """
    with saved_streaming_model(model, hop, gabor) as (folder, stream):
        tflite = convert_saved(folder, "none")
        if mode in CALIBRATED_MODES:
            samples = _calibration_inputs(tflite, clips, stream.delay * stream.stride)
            states = tuple(state_shapes(stream, model_frontend(model).spec.n_frames))
            tflite = convert_saved(folder, mode, lambda: iter(samples), float_outputs=states)
        elif mode != "none":
            tflite = convert_saved(folder, mode)
    info = {
        "file": STREAM_FILE,
        "encoding": "gzip",
        "hop_samples": hop,
        "delay_samples": stream.delay * stream.stride,
        "gabor": stream.folded.gabor_mode,
        "bands": [band.to_dict() for band in stream.bands],
    }
    return tflite, info

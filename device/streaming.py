"""Run a streaming model: one hop of audio in, scores out, its state kept between calls.

The converter stores the streaming model inside the window model's file, in the appended
archive, described by the leaf-edge entry's ``streaming`` field. Both graphs hold the same
classifier, so the stored streaming flatbuffer leaves out every weight buffer the window model
has (nearly all of them): its buffers point past its own end instead, and :func:`stream_model`
appends the window model's buffers there (TFLite reads a buffer by offset when it has no data).
The rest is stored gzipped (a member MediaPipe's reader ignores but would refuse compressed).
Files written before this carry the whole streaming model as ``stream.tflite``. Its signature
takes ``hop`` plus state tensors and returns ``scores`` plus the same state names; every state
starts at zero (see :mod:`converter.streaming`).
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np
from ai_edge_litert import schema_py_generated as tflite_schema

from device.contract import HOP_INPUT, SCORES_OUTPUT, STREAM_ALIGNMENT
from device.metadata import ModelFileError, archive_file
from device.runtime import finite_scores, interpreter


class StreamRunner:
    """One streaming interpreter and its state: ``step(hop)`` -> scores ``[labels]``."""

    def __init__(self, model: bytes, threads: int = 1):
        self.interpreter = interpreter(model, num_threads=threads)
        self.runner = self.interpreter.get_signature_runner()
        inputs = self.runner.get_input_details()
        if HOP_INPUT not in inputs:
            raise ValueError(
                f"a streaming model takes a {HOP_INPUT!r} input; this one takes {sorted(inputs)}"
            )
        self.hop_samples = int(inputs[HOP_INPUT]["shape"][-1])
        self.state_shapes = {
            name: tuple(detail["shape"]) for name, detail in inputs.items() if name != HOP_INPUT
        }
        self.reset()

    def reset(self) -> None:
        """Start a new stream: all state back to zero."""
        self.state = {name: np.zeros(shape, np.float32) for name, shape in self.state_shapes.items()}

    def step(self, hop: np.ndarray) -> np.ndarray:
        """Scores after one more hop of ``hop_samples`` float samples at the model's rate."""
        outputs = self.runner(**{HOP_INPUT: hop.reshape(1, -1).astype(np.float32, copy=False)}, **self.state)
        self.state = {name: outputs[name] for name in self.state_shapes}
        return finite_scores(outputs[SCORES_OUTPUT][0])


def shared_offsets(model_bytes: int, sizes: list[int]) -> list[int]:
    """Where shared buffers of these sizes start, appended in order to a streaming flatbuffer of
    ``model_bytes`` bytes, each on a :data:`STREAM_ALIGNMENT` boundary (the converter writes
    these offsets into the flatbuffer; :func:`stream_model` puts the bytes there)."""
    offsets, at = [], -(-model_bytes // STREAM_ALIGNMENT) * STREAM_ALIGNMENT
    for size in sizes:
        offsets.append(at)
        at += -(-size // STREAM_ALIGNMENT) * STREAM_ALIGNMENT
    return offsets


def stream_model(data: bytes, streaming: dict) -> bytes:
    """The whole streaming flatbuffer of a file whose leaf-edge entry has this ``streaming`` field."""
    stored = archive_file(data, streaming.get("file", ""))
    if stored is None:
        raise ModelFileError(
            f"the model's streaming model ({streaming.get('file')}) is missing from its archive"
        )
    try:
        model = gzip.decompress(stored) if streaming.get("encoding") == "gzip" else stored
    except (OSError, EOFError, zlib.error):
        raise ModelFileError(
            f"the model's streaming model ({streaming.get('file')}) does not decompress"
        ) from None
    shared = streaming.get("shared_buffers", [])
    if not shared:
        return model
    root = tflite_schema.Model.GetRootAs(data, 0)
    chunks = [root.Buffers(index).DataAsNumpy() for index in shared]  # views into ``data``
    offsets = shared_offsets(len(model), [chunk.size for chunk in chunks])
    whole = bytearray(offsets[-1] + chunks[-1].size)
    whole[: len(model)] = model
    for offset, chunk in zip(offsets, chunks, strict=True):
        whole[offset : offset + chunk.size] = memoryview(chunk)
    return bytes(whole)


def open_stream(data: bytes, streaming: dict, threads: int = 1) -> StreamRunner:
    """A runner of the streaming model a file carries."""
    return StreamRunner(stream_model(data, streaming), threads)


def paused_recording(clips: np.ndarray, hop: int, delay: int) -> tuple[np.ndarray, int]:
    """The clips as one recording, each after a pause of silence (half a clip or more), placed so
    that a hop ends ``delay`` samples after each clip: the stream's window there is that clip.

    Returns the recording and its period (samples per clip, a whole number of hops). Words come
    like this live; back to back, PCEN never sees the quiet before a word.
    """
    clip = clips.shape[1]
    period = -(-(clip + delay + clip // 2) // hop) * hop
    before, after = np.zeros(period - clip - delay, np.float32), np.zeros(delay, np.float32)
    return np.concatenate([np.concatenate([before, c, after]) for c in clips]), period

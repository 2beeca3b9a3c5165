"""The streaming model stored without the weights it shares with the window model.

Both graphs hold the same classifier, so nearly all the streaming model's constant buffers are
byte for byte the window model's (measured on the shipped default: 4.43 of its 4.46 MB). Each
such buffer loses its data and points past the end of the flatbuffer instead, where the device
appends the window model's copy (:func:`device.streaming.stream_model`); the rest is gzipped.
The window model stays a one-graph file, as MediaPipe's AudioClassifier requires.
"""

from __future__ import annotations

import gzip
import hashlib

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tflite_schema

from device.streaming import shared_offsets

PLACEHOLDER = 2  # an offset TFLite reads as "data elsewhere" (> 1): every field packed at full size


def _content(buffer) -> bytes:
    return b"" if buffer.data is None else np.asarray(buffer.data, np.uint8).tobytes()


def without_shared_weights(window: bytes, stream: bytes) -> tuple[bytes, list[int]]:
    """``stream`` gzipped with every buffer ``window`` also holds left out, and the indices of
    those buffers in ``window``, in the order the device appends them."""
    held = {}
    for index, buffer in enumerate(tflite_schema.ModelT.InitFromPackedBuf(window, 0).buffers):
        if content := _content(buffer):
            held.setdefault(hashlib.sha256(content).digest(), index)
    model = tflite_schema.ModelT.InitFromPackedBuf(stream, 0)
    shared = []  # (stream buffer, window buffer, size)
    for buffer in model.buffers:
        content = _content(buffer)
        if content and (index := held.get(hashlib.sha256(content).digest())) is not None:
            shared.append((buffer, index, len(content)))
    for buffer, _, size in shared:
        buffer.data, buffer.offset, buffer.size = None, PLACEHOLDER, size
    placeholder = _pack(model)
    for (buffer, _, _), offset in zip(
        shared, shared_offsets(len(placeholder), [s for *_, s in shared]), strict=True
    ):
        buffer.offset = offset
    thin = _pack(model)
    if len(thin) != len(placeholder):  # the offsets were computed for the placeholder's length
        raise RuntimeError("the streaming model changed size when its buffer offsets were written")
    return gzip.compress(thin, compresslevel=9, mtime=0), [index for _, index, _ in shared]


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())

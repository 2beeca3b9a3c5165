"""Run a .tflite classifier on waveforms with LiteRT, whatever its input and output types.

ai-edge-litert is the runtime; tflite-runtime is a fallback only, because its last release
(2.14) needs numpy < 2 and cannot load models written by TF 2.21 (newer op versions).
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from device.contract import LeafEdgeError

try:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
except ImportError:  # pragma: no cover - only on devices without ai-edge-litert
    from tflite_runtime.interpreter import Interpreter, OpResolverType


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what native code writes to the stderr file descriptor to /dev/null for a moment."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def interpreter(model: bytes, **options) -> Interpreter:
    """A LiteRT interpreter of ``model`` with its tensors allocated, without the "INFO: Created
    TensorFlow Lite XNNPACK delegate for CPU." line LiteRT writes to stderr while it allocates
    (no API turns it off). Errors still arrive as Python exceptions with LiteRT's message."""
    runner = Interpreter(model_content=model, **options)
    with _native_stderr_silenced():
        runner.allocate_tensors()
    return runner


class ScoresError(LeafEdgeError):
    """A model that answered NaN or infinity: never a score, never an event."""


def finite_scores(scores: np.ndarray) -> np.ndarray:
    """``scores``, or a :class:`ScoresError` when any is NaN or infinite."""
    if not np.isfinite(scores).all():
        raise ScoresError(
            "the model's scores are NaN or infinite: the file is damaged or was converted wrongly"
        )
    return scores


class ModelRunner:
    """One interpreter with the default (XNNPACK) delegate; float scores out, whatever the I/O types.

    >>> runner = ModelRunner(open("models/keywords-leaf.tflite", "rb").read())  # doctest: +SKIP
    >>> runner.scores(np.zeros((1, runner.clip_samples), np.float32)).shape  # doctest: +SKIP
    (1, 12)
    """

    def __init__(self, model: bytes, threads: int = 1):
        self.interpreter = interpreter(model, num_threads=threads)
        self.inputs = self.interpreter.get_input_details()
        self._input = self.inputs[0]
        self._output = self.interpreter.get_output_details()[0]
        self.clip_samples = int(self._input["shape"][-1])
        self.output_size = int(self._output["shape"][-1])

    def _encode(self, wave: np.ndarray) -> np.ndarray:
        scale, zero = self._input["quantization"]
        if self._input["dtype"] == np.float32 or not scale:
            return wave[np.newaxis].astype(self._input["dtype"])
        info = np.iinfo(self._input["dtype"])
        return np.clip(np.round(wave / scale + zero), info.min, info.max)[np.newaxis].astype(
            self._input["dtype"]
        )

    def _decode(self, raw: np.ndarray) -> np.ndarray:
        scale, zero = self._output["quantization"]
        if raw.dtype == np.float32 or not scale:
            return raw.astype(np.float32)
        return ((raw.astype(np.float32) - zero) * scale).astype(np.float32)

    def invoke(self, wave: np.ndarray) -> None:
        """Run one ``[clip_samples]`` float waveform (for timing: no output copy)."""
        self.interpreter.set_tensor(self._input["index"], self._encode(wave))
        self.interpreter.invoke()

    def scores(self, waves: np.ndarray) -> np.ndarray:
        """Float scores ``[N, labels]`` for float waveforms ``[N, clip_samples]``, one invoke each."""
        out = []
        for wave in waves:
            self.invoke(wave)
            out.append(finite_scores(self._decode(self.interpreter.get_tensor(self._output["index"])[0])))
        return np.stack(out) if out else np.zeros((0, int(self._output["shape"][-1])), np.float32)


def xnnpack_coverage(model: bytes) -> dict:
    """How the default XNNPACK delegate splits the graph: partitions, and the ops left outside it.

    The interpreter appends one DELEGATE node per partition after the model's own nodes. An op
    runs outside XNNPACK when a tensor that a partition or the model output needs comes from it
    rather than from a partition; walking back from those tensors finds every such op.
    """
    plain = interpreter(model, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    delegated = interpreter(model)
    own_nodes = plain._interpreter.NumNodes()
    producers = {}
    for index in range(own_nodes):
        for tensor in plain._get_op_details(index)["outputs"]:
            producers[int(tensor)] = index
    partitions = [delegated._get_op_details(i) for i in range(own_nodes, delegated._interpreter.NumNodes())]
    inside = {int(t) for node in partitions for t in node["outputs"]}
    wanted = [int(t) for node in partitions for t in node["inputs"]]
    wanted += [int(d["index"]) for d in delegated.get_output_details()]
    outside, seen = set(), set()
    while wanted:
        tensor = wanted.pop()
        if tensor in seen or tensor in inside or tensor not in producers:
            continue
        seen.add(tensor)
        outside.add(producers[tensor])
        wanted += [int(t) for t in plain._get_op_details(producers[tensor])["inputs"]]
    return {
        "partitions": len(partitions),
        "ops_outside": sorted(plain._get_op_details(i)["op_name"] for i in outside),
    }

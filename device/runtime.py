"""Run a .tflite classifier on waveforms with LiteRT, whatever its input and output types.

ai-edge-litert is the runtime; tflite-runtime is a fallback only, because its last release
(2.14) needs numpy < 2 and cannot load models written by TF 2.21 (newer op versions).
"""

from __future__ import annotations

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # pragma: no cover - only on devices without ai-edge-litert
    from tflite_runtime.interpreter import Interpreter


class ModelRunner:
    """One interpreter with the default (XNNPACK) delegate; float scores out, whatever the I/O types.

    >>> runner = ModelRunner(open("models/keywords-leaf.tflite", "rb").read())  # doctest: +SKIP
    >>> runner.scores(np.zeros((1, runner.clip_samples), np.float32)).shape  # doctest: +SKIP
    (1, 12)
    """

    def __init__(self, model: bytes, threads: int = 1):
        self.interpreter = Interpreter(model_content=model, num_threads=threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.clip_samples = int(self._input["shape"][-1])

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
            out.append(self._decode(self.interpreter.get_tensor(self._output["index"])[0]))
        return np.stack(out) if out else np.zeros((0, int(self._output["shape"][-1])), np.float32)

"""Run a streaming model: one hop of audio in, scores out, its state kept between calls.

The converter stores the streaming model inside the window model's file (``stream.tflite`` in
the appended archive, described by the leaf-edge entry's ``streaming`` field). Its signature
takes ``hop`` plus state tensors and returns ``scores`` plus the same state names; every state
starts at zero (see :mod:`converter.streaming`).
"""

from __future__ import annotations

import numpy as np

from device.contract import HOP_INPUT, SCORES_OUTPUT
from device.runtime import interpreter


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
        return outputs[SCORES_OUTPUT][0]


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

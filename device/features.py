"""The frontend's output (the LEAF or mel spectrogram the classifier sees), read from the model itself.

The converter keeps the folded frontend's tensors under a ``folded_leaf`` or ``folded_mel`` name
scope; the last ``[1, frames, filters]`` tensor there is its output. LiteRT hands it out when the
interpreter preserves intermediate tensors, so the picture shows exactly what the model computes.
"""

from __future__ import annotations

import warnings

import numpy as np

from device.contract import FRONTEND_SCOPES
from device.runtime import interpreter


def spectrogram(model: bytes, wave: np.ndarray, clip_samples: int) -> np.ndarray:
    """``[frames, filters]`` frontend features of a mono float waveform at the model's rate.

    The waveform is cut into consecutive clip-long windows (the last one zero-padded), so a
    recording of any length gives one continuous picture.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteRT warns that preserving tensors costs memory
        runner = interpreter(model, experimental_preserve_all_tensors=True)
    source = runner.get_input_details()[0]
    if source["dtype"] != np.float32:
        raise ValueError("the frontend picture needs a model with float32 input")
    candidates = [
        t for t in runner.get_tensor_details()
        if any(scope in t["name"] for scope in FRONTEND_SCOPES) and len(t["shape"]) == 3
    ]  # fmt: skip
    if not candidates:
        raise ValueError("this model has no folded frontend to picture")
    output = max(candidates, key=lambda t: t["index"])["index"]
    padded = np.pad(wave, (0, -len(wave) % clip_samples)).astype(np.float32)
    frames = []
    for start in range(0, len(padded), clip_samples):
        runner.set_tensor(source["index"], padded[np.newaxis, start : start + clip_samples])
        runner.invoke()
        frames.append(runner.get_tensor(output)[0].copy())
    return np.concatenate(frames)

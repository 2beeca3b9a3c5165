"""Keras inference model -> .tflite bytes, in every quantization mode.

The measured-clean path (see the TFLite notes): ``model.export(dir, input_signature=[fixed
shape])`` then ``TFLiteConverter.from_saved_model`` with builtin ops only. Quantization:

* ``none``: float32.
* ``float16``: weights stored as float16, computed in float32.
* ``dynamic``: int8 weights, activations quantized on the fly.
* ``int8``: selective full-integer: the classifier runs in int8, the frontend stays float,
  because after the squared modulus 95% of energies fall below 1e-3 of the largest and int8
  turns them to zero (PCEN then collapses). Done with TF's quantization debugger and a
  deny-list of the frontend's tensors and of the final softmax (XNNPACK has no int8 softmax,
  and a float one keeps the whole graph in one XNNPACK partition); float32 input and output.
* ``int16x8``: int16 activations and int8 weights where TFLite has kernels, float elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf
from tensorflow.lite.python.util import modify_model_io_type

from converter import IO_TYPES, MODES
from device.atomic import scratch_folder
from device.contract import FRONTEND_SCOPES, LeafEdgeError
from device.ops import builtins_only_problems, integer_tensors, signature_outputs, tensor_names
from leaf_edge.model import ADD_CHANNEL, FEATURE_NORM

CALIBRATED_MODES = ("int8", "int16x8")
# Kept in float by int8: the frontend, and the per-frequency normalisation after it, so that
# the features share one int8 scale only once each frequency is standardised (the instrument
# model at 44.1 kHz: top-1 agreement with float 98.2 % against 97.5 %, the same accuracy).
FLOAT_SCOPES = (*FRONTEND_SCOPES, ADD_CHANNEL, FEATURE_NORM)
# Kept in float by type: SPLIT (the filterbank's real and imaginary halves), which the
# quantizer does not find by name (an operator with two outputs): in int8 it cut the energies
# to 256 levels and the instrument model fell from 87.7 to 44.9 %. No classifier uses SPLIT.
# XNNPACK has no int8 softmax: it stays float too unless the output must be int8.
FLOAT_OPS = ["SPLIT"]

Calibration = Callable[[], Iterable[np.ndarray]]  # yields [1, clip_samples] float32 waveforms


class ConversionError(LeafEdgeError):
    """The converter could not write a model that keeps our rules."""


@contextlib.contextmanager
def saved_model(model: keras.Model) -> Iterator[str]:
    """The batch-1 inference model exported as a SavedModel in a temporary folder."""
    with scratch_folder("export") as folder:
        model.export(folder, input_signature=[tf.TensorSpec(model.input_shape, tf.float32)], verbose=False)
        yield folder


def _converter(folder: str) -> tf.lite.TFLiteConverter:
    converter = tf.lite.TFLiteConverter.from_saved_model(folder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def convert_model(
    model: keras.Model, mode: str = "none", calibration: Calibration | None = None, io_type: str = "float32"
) -> bytes:
    """Convert a batch-1 inference model; refuses anything but builtin operators.

    ``io_type="int8"`` (int8 mode only) makes the scores output int8 (scale 1/256, zero point
    -128). The waveform input stays float32: the frontend runs in float, and 8-bit audio would
    leave PCEN 48 dB of dynamic range.
    """
    representative = None
    if calibration is not None:

        def representative():
            for waveform in calibration():
                yield [np.asarray(waveform, np.float32)]

    with saved_model(model) as folder:
        return convert_saved(folder, mode, representative, io_type)


def convert_saved(
    folder: str, mode: str, representative=None, io_type: str = "float32", float_outputs: tuple[str, ...] = ()
) -> bytes:
    """Convert a SavedModel folder (one signature); ``representative`` yields input lists in the
    model's input order (for int8 and int16x8). In int8, the outputs named in ``float_outputs``
    are computed in float too (a streaming model's state must not lose precision every hop)."""
    if mode not in MODES:
        raise ValueError(f"unknown quantization {mode!r}; choose from {', '.join(MODES)}")
    if io_type not in IO_TYPES:
        raise ValueError(f"unknown --io {io_type!r}; choose from {', '.join(IO_TYPES)}")
    if io_type == "int8" and mode != "int8":
        raise ValueError("--io int8 needs --quantize int8")
    if mode in CALIBRATED_MODES and representative is None:
        raise ValueError(f"--quantize {mode} needs calibration data (a training run's data or --calibration)")
    converter = _converter(folder)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int16x8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    tflite = converter.convert()
    if mode == "int8":
        in_float = [n for n in tensor_names(tflite) if any(s in n for s in FLOAT_SCOPES)]
        in_float += [tensor for name, tensor in signature_outputs(tflite).items() if name in float_outputs]
        converter = _converter(folder)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=representative,
            debug_options=tf.lite.experimental.QuantizationDebugOptions(
                denylisted_nodes=in_float,
                denylisted_ops=FLOAT_OPS + (["SOFTMAX"] if io_type == "float32" else []),
            ),
        )
        tflite = debugger.get_nondebug_quantized_model()
        quantized = integer_tensors(tflite, FLOAT_SCOPES)
        if quantized:  # a frontend in 256 levels classifies near chance (see FLOAT_OPS)
            raise ConversionError(f"int8 quantized what must stay float: {', '.join(quantized[:3])}")
        if io_type == "int8":
            tflite = modify_model_io_type(tflite, tf.float32, tf.int8)
    problems = builtins_only_problems(tflite)
    if problems:
        raise ConversionError(f"the converted model is not builtins-only: {', '.join(problems)}")
    return tflite

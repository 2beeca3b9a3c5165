"""Keras inference model -> .tflite bytes, through a SavedModel with a fixed input shape.

The measured-clean path (see the TFLite notes): ``model.export(dir, input_signature=[fixed
shape])`` then ``TFLiteConverter.from_saved_model`` with builtin ops only.
"""

from __future__ import annotations

import tempfile

import keras
import tensorflow as tf

from converter.ops import builtins_only_problems


class ConversionError(RuntimeError):
    """The converter could not write a model that keeps our rules."""


def to_tflite(model: keras.Model) -> bytes:
    """Convert a batch-1 inference model to float32 TFLite with builtin operators only."""
    with tempfile.TemporaryDirectory(prefix="leaf-edge-export-") as saved:
        model.export(saved, input_signature=[tf.TensorSpec(model.input_shape, tf.float32)], verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        tflite = converter.convert()
    problems = builtins_only_problems(tflite)
    if problems:
        raise ConversionError(f"the converted model is not builtins-only: {', '.join(problems)}")
    return tflite

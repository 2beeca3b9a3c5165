"""Turns a trained leaf-edge model into a builtins-only, quantized TFLite file."""

MODES = ("none", "float16", "dynamic", "int8", "int16x8")  # quantization modes (see converter.export)

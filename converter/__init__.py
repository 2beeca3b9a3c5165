"""Turns a trained leaf-edge model into a builtins-only, quantized TFLite file."""

MODES = ("none", "float16", "dynamic", "int8", "int16x8")  # quantization modes (see converter.export)
IO_TYPES = ("float32", "int8")  # type of the scores output (the waveform input is always float32)

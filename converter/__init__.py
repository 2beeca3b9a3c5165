"""Turns a trained leaf-edge model into a builtins-only, quantized TFLite file."""

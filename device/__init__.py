"""The on-device side of leaf-edge: LiteRT runtime, audio input and detection.

Nothing in this package imports TensorFlow: a Raspberry Pi has only the runtime.
"""

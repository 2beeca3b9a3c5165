"""The on-device side of leaf-edge: LiteRT runtime, audio input and detection.

Nothing in this package imports TensorFlow: a Raspberry Pi has only the runtime.
"""

from device.classifier import Category, Classifier, Window
from device.detect import DetectionSettings, Event

__all__ = ["Category", "Classifier", "DetectionSettings", "Event", "Window"]

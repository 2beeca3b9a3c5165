"""The on-device side of leaf-edge: LiteRT runtime, audio input and detection.

Nothing in this package imports TensorFlow: a Raspberry Pi has only the runtime.
"""

from device.classifier import Category, Classifier, Window
from device.contract import DetectionSettings
from device.detect import Event

__all__ = ["Category", "Classifier", "DetectionSettings", "Event", "Window"]

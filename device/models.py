"""Where the shipped models live, so that every command can default to them."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "keywords-leaf.tflite"

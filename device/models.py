"""Where the shipped models live, so that every command can default to them.

A clone (editable install) finds them next to the packages; a regular install run from a
clone finds them in ``./models``; ``LEAF_EDGE_MODELS`` points anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path


def _models_dir() -> Path:
    candidates = [Path(__file__).resolve().parent.parent / "models", Path.cwd() / "models"]
    if os.environ.get("LEAF_EDGE_MODELS"):
        candidates.insert(0, Path(os.environ["LEAF_EDGE_MODELS"]))
    return next((c for c in candidates if (c / "keywords-leaf.tflite").exists()), candidates[0])


MODELS_DIR = _models_dir()
DEFAULT_MODEL = MODELS_DIR / "keywords-leaf.tflite"
FLOAT_MODEL = MODELS_DIR / "keywords-leaf-float.tflite"
DEMO_RECORDING = MODELS_DIR / "demo-keywords.wav"

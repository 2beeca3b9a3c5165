"""Test helper: a copy of a .tflite file without its standard metadata (what a foreign model looks like)."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema


def without_metadata(model: Path, out: Path) -> Path:
    """``model`` with its TFLITE_METADATA entry removed, written to ``out``."""
    root = schema.ModelT.InitFromPackedBuf(model.read_bytes(), 0)
    root.metadata = [m for m in root.metadata if m.name != b"TFLITE_METADATA"]
    builder = flatbuffers.Builder(1024)
    builder.Finish(root.Pack(builder), file_identifier=b"TFL3")
    out.write_bytes(bytes(builder.Output()))
    return out

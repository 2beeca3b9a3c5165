"""What a leaf-edge .tflite file says about itself, read without TensorFlow.

A leaf-edge model carries the standard TFLite model metadata (the ``TFLITE_METADATA`` buffer,
schema identifier ``M001``: name, version, licence, the input's audio properties and the output's
label file), which MediaPipe's AudioClassifier and the TFLite Task Library read, and a zip archive
appended to the flatbuffer with ``labels.txt`` and ``leaf_edge.json`` (clip length, frontend,
detection defaults, data set and measured accuracy). ``unzip -l model.tflite`` lists them.

The TFLite schema comes with ai-edge-litert; the metadata schema is vendored
(:mod:`device._vendor.tflite_metadata_schema`).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from dataclasses import dataclass, field

from ai_edge_litert import schema_py_generated as tflite_schema

from device._vendor import tflite_metadata_schema as meta_schema
from device.contract import (
    INTEGRITY,
    LABELS_FILE,
    LEAF_EDGE_FILE,
    LEAF_EDGE_FORMAT,
    METADATA_BUFFER_NAME,
    LeafEdgeError,
    audio_spec,
    entry_problems,
    upgraded_entry,
)

# What the flatbuffers reader raises on damaged bytes (TypeError: an offset out of its type's range).
FLATBUFFER_DAMAGE = (struct.error, IndexError, ValueError, TypeError)


class ModelFileError(LeafEdgeError):
    """A file that is not a usable leaf-edge model; the message says what is wrong or missing."""


@dataclass(frozen=True)
class ModelMetadata:
    """The standard metadata fields and the leaf-edge entry of one model file."""

    name: str = ""
    description: str = ""
    version: str = ""
    licence: str = ""
    author: str = ""
    min_parser_version: str = ""
    sample_rate: int | None = None
    channels: int | None = None
    labels: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    leaf_edge: dict | None = None

    def missing(self) -> list[str]:
        """What a leaf-edge runtime needs but this file lacks (empty when usable)."""
        gaps = []
        if not self.sample_rate:
            gaps.append("input audio properties (sample rate)")
        if not self.labels:
            gaps.append(f"output labels ({LABELS_FILE})")
        if self.leaf_edge is None:
            gaps.append(f"the leaf-edge entry ({LEAF_EDGE_FILE})")
        return gaps


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")


def _tflite_root(data: bytes, source: str):
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFileError(f"{source} is not a TFLite model (no TFL3 identifier)")
    try:
        root = tflite_schema.Model.GetRootAs(data, 0)
        root.BuffersLength(), root.MetadataLength()
    except FLATBUFFER_DAMAGE:
        raise ModelFileError(f"{source} is a damaged or truncated TFLite file") from None
    return root


def metadata_buffer(data: bytes, source: str = "the model") -> bytes | None:
    """The packed ``ModelMetadata`` flatbuffer stored in the model, or None."""
    root = _tflite_root(data, source)
    try:
        for i in range(root.MetadataLength()):
            entry = root.Metadata(i)
            if _text(entry.Name()) != METADATA_BUFFER_NAME:
                continue
            buffer = root.Buffers(entry.Buffer())
            if buffer.Offset() > 1:  # stored outside the flatbuffer (models over 2 GB)
                return bytes(data[buffer.Offset() : buffer.Offset() + buffer.Size()])
            return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    except FLATBUFFER_DAMAGE:
        raise ModelFileError(f"{source} is a damaged or truncated TFLite file") from None
    return None


def model_parts(data: bytes, source: str = "the model") -> tuple[bytes, dict[str, bytes]]:
    """The TFLite flatbuffer and the files of the archive appended to it ({} without one).
    A member that fails its CRC-32 is a :class:`ModelFileError`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return data, {}
    with archive:
        infos, files = archive.infolist(), {}
        for info in infos:
            try:
                files[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
                raise ModelFileError(f"{source} is damaged: its {info.filename} fails its checksum") from None
    return data[: min((info.header_offset for info in infos), default=len(data))], files


def _archive(data: bytes, source: str = "the model") -> dict[str, bytes]:
    return model_parts(data, source)[1]


def integrity(flatbuffer: bytes, files: dict[str, bytes]) -> dict:
    """SHA-256 of the flatbuffer and of every archive member but the entry itself: what the
    loader checks before any byte reaches LiteRT (a damaged model can crash it natively)."""
    return {
        "flatbuffer_sha256": hashlib.sha256(flatbuffer).hexdigest(),
        "files_sha256": {
            name: hashlib.sha256(content).hexdigest()
            for name, content in sorted(files.items())
            if name != LEAF_EDGE_FILE
        },
    }


def damage(data: bytes, expected: dict) -> str | None:
    """What of the file differs from the integrity record it carries, or None when all is whole."""
    flatbuffer, files = model_parts(data)
    found = integrity(flatbuffer, files)
    if found["flatbuffer_sha256"] != expected.get("flatbuffer_sha256"):
        return "its TFLite flatbuffer"
    named, present = expected.get("files_sha256", {}), found["files_sha256"]
    changed = sorted(name for name in {*named, *present} if named.get(name) != present.get(name))
    return f"its {', '.join(changed)}" if changed else None


def archive_file(data: bytes, name: str) -> bytes | None:
    """One file of the archive appended to the model (e.g. the streaming model), or None."""
    return _archive(data).get(name)


def read_metadata(data: bytes, source: str = "the model") -> ModelMetadata:
    """Everything the file says about itself; fields it lacks stay empty (see ``missing()``)."""
    packed = metadata_buffer(data, source)
    files = _archive(data, source)
    leaf_edge = None
    if LEAF_EDGE_FILE in files:
        try:
            leaf_edge = json.loads(files[LEAF_EDGE_FILE])
        except ValueError:
            raise ModelFileError(f"{source}: {LEAF_EDGE_FILE} inside it is not valid JSON") from None
    if isinstance(leaf_edge, dict):
        leaf_edge = upgraded_entry(leaf_edge)
    if packed is None:
        return ModelMetadata(files=sorted(files), leaf_edge=leaf_edge)
    if not meta_schema.ModelMetadata.ModelMetadataBufferHasIdentifier(packed, 0):
        raise ModelFileError(f"{source}: its TFLITE_METADATA is not TFLite metadata (identifier M001)")
    try:
        meta = meta_schema.ModelMetadataT.InitFromObj(meta_schema.ModelMetadata.GetRootAs(packed, 0))
    except FLATBUFFER_DAMAGE:
        raise ModelFileError(f"{source}: its TFLITE_METADATA is damaged") from None
    sample_rate = channels = None
    label_file = None
    for subgraph in meta.subgraphMetadata or []:
        for tensor in subgraph.inputTensorMetadata or []:
            content = tensor.content
            if content is not None and isinstance(content.contentProperties, meta_schema.AudioPropertiesT):
                sample_rate = content.contentProperties.sampleRate
                channels = content.contentProperties.channels
        for tensor in subgraph.outputTensorMetadata or []:
            for associated in tensor.associatedFiles or []:
                if associated.type == meta_schema.AssociatedFileType.TENSOR_AXIS_LABELS:
                    label_file = _text(associated.name)
    labels = []
    if label_file is not None and label_file in files:
        try:
            text = files[label_file].decode()
        except UnicodeDecodeError:
            raise ModelFileError(f"{source}: its {label_file} is not UTF-8 text") from None
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    return ModelMetadata(
        name=_text(meta.name),
        description=_text(meta.description),
        version=_text(meta.version),
        licence=_text(meta.license),
        author=_text(meta.author),
        min_parser_version=_text(meta.minParserVersion),
        sample_rate=sample_rate,
        channels=channels,
        labels=labels,
        files=sorted(files),
        leaf_edge=leaf_edge,
    )


def read_leaf_edge_metadata(data: bytes, source: str = "the model") -> ModelMetadata:
    """Like :func:`read_metadata`, but a file that a leaf-edge runtime cannot use is an error."""
    metadata = read_metadata(data, source)
    gaps = metadata.missing()
    if gaps:
        raise ModelFileError(
            f"{source} is not a leaf-edge model: it has no {', no '.join(gaps)} "
            "(convert a trained run with `leaf-edge convert`)"
        )
    entry = metadata.leaf_edge
    written = entry.get("format") if isinstance(entry, dict) else None
    if isinstance(written, int) and written > LEAF_EDGE_FORMAT:
        raise ModelFileError(f"{source} was written by a newer leaf-edge; upgrade leaf-edge to use it")
    problems = entry_problems(entry)
    if not problems and entry["labels"] != metadata.labels:
        problems.append(f"labels differ from {LABELS_FILE}'s")
    if not problems and audio_spec(entry).sample_rate != metadata.sample_rate:
        problems.append(
            f"audio.sample_rate differs from the input's audio properties ({metadata.sample_rate} Hz)"
        )
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ModelFileError(f"{source}: its {LEAF_EDGE_FILE} {problems[0]}{more}; convert the run again")
    damaged = damage(data, entry[INTEGRITY]) if INTEGRITY in entry else None
    if damaged:
        raise ModelFileError(f"{source} is damaged: {damaged} changed since it was written")
    return metadata


def with_files(tflite: bytes, files: dict[str, bytes]) -> bytes:
    """A bare TFLite flatbuffer with ``files`` in a zip archive (stored) after it: where the
    metadata's associated files live, and where :func:`archive_file` finds them."""
    out = io.BytesIO(tflite)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_leaf_edge_entry(data: bytes, entry: dict) -> bytes:
    """The model with its leaf-edge entry replaced by ``entry`` and the integrity record of what
    else it holds; the TFLite flatbuffer (so every score) and the other files stay byte for byte."""
    flatbuffer, files = model_parts(data)
    sealed = {**entry, INTEGRITY: integrity(flatbuffer, files)}
    files[LEAF_EDGE_FILE] = json.dumps(sealed, indent=1).encode()
    return with_files(flatbuffer, files)

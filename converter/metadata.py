"""Metadata inside the .tflite file: standard TFLite model metadata plus a leaf-edge entry.

The standard part is what MediaPipe's AudioClassifier and the TFLite Task Library read: a
``ModelMetadata`` flatbuffer (identifier ``M001``, minimum parser 1.3.0 for audio properties)
stored as a model buffer named ``TFLITE_METADATA``, with the input's sample rate and channels
and the output's labels as a ``TENSOR_AXIS_LABELS`` file. Associated files travel as a zip
archive appended to the flatbuffer. :mod:`device.metadata` reads all of it back.
"""

from __future__ import annotations

import datetime

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tflite_schema

import leaf_edge
from device._vendor import tflite_metadata_schema as meta_schema
from device.contract import (
    BACKGROUND_LABELS,
    LABELS_FILE,
    LEAF_EDGE_FILE,
    LEAF_EDGE_FORMAT,
    METADATA_BUFFER_NAME,
    METADATA_IDENTIFIER,
    SCORES_OUTPUT,
    WAVEFORM_INPUT,
    audio_spec,
    entry_problems,
)
from device.metadata import with_files, with_leaf_edge_entry

MIN_PARSER_VERSION = "1.3.0"  # the first metadata schema with AudioProperties


def _associated(name: str, description: str, kind: int) -> meta_schema.AssociatedFileT:
    file = meta_schema.AssociatedFileT()
    file.name, file.description, file.type = name, description, kind
    return file


def model_metadata(
    entry: dict, name: str, description: str, version: str, licence: str, author: str
) -> bytes:
    """The packed ``ModelMetadata`` flatbuffer for a waveform-in, scores-out classifier."""
    spec = audio_spec(entry)
    audio = meta_schema.AudioPropertiesT()
    audio.sampleRate, audio.channels = spec.sample_rate, 1
    content = meta_schema.ContentT()
    content.contentPropertiesType = meta_schema.ContentProperties.AudioProperties
    content.contentProperties = audio
    waveform = meta_schema.TensorMetadataT()
    waveform.name = WAVEFORM_INPUT
    waveform.description = f"Mono waveform: {spec.clip_samples} samples at {spec.sample_rate} Hz, in [-1, 1]."
    waveform.content = content
    scores = meta_schema.TensorMetadataT()
    scores.name = SCORES_OUTPUT
    scores.description = "Probability of each label (softmax)."
    scores.content = meta_schema.ContentT()
    scores.content.contentPropertiesType = meta_schema.ContentProperties.FeatureProperties
    scores.content.contentProperties = meta_schema.FeaturePropertiesT()
    scores.associatedFiles = [
        _associated(
            LABELS_FILE, "One label per output score.", meta_schema.AssociatedFileType.TENSOR_AXIS_LABELS
        )
    ]
    subgraph = meta_schema.SubGraphMetadataT()
    subgraph.name = "classify"
    subgraph.inputTensorMetadata, subgraph.outputTensorMetadata = [waveform], [scores]
    meta = meta_schema.ModelMetadataT()
    meta.name, meta.description, meta.version = name, description, version
    meta.license, meta.author, meta.minParserVersion = licence, author, MIN_PARSER_VERSION
    meta.subgraphMetadata = [subgraph]
    meta.associatedFiles = [
        _associated(LEAF_EDGE_FILE, "leaf-edge settings (JSON).", meta_schema.AssociatedFileType.DESCRIPTIONS)
    ]
    builder = flatbuffers.Builder(1024)
    builder.Finish(meta.Pack(builder), file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def embed_metadata(tflite: bytes, metadata: bytes, files: dict[str, bytes]) -> bytes:
    """``tflite`` with ``metadata`` in its TFLITE_METADATA buffer and ``files`` zipped after it."""
    model = tflite_schema.ModelT.InitFromPackedBuf(tflite, 0)
    model.metadata = [
        m
        for m in (model.metadata or [])
        if m.name not in (METADATA_BUFFER_NAME, METADATA_BUFFER_NAME.encode())
    ]
    buffer = tflite_schema.BufferT()
    buffer.data = np.frombuffer(metadata, np.uint8)
    model.buffers.append(buffer)
    entry = tflite_schema.MetadataT()
    entry.name, entry.buffer = METADATA_BUFFER_NAME, len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(len(tflite) + len(metadata) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return with_files(bytes(builder.Output()), files)


def leaf_edge_entry(
    model, frontend_name: str, data_summary: dict, report: dict, quantize: str, io_type: str, task: str,
    detection: dict,
) -> dict:  # fmt: skip
    """The leaf-edge JSON entry: what the runtime needs, and what the model is and scored."""
    from leaf_edge.frontends.gabor import gabor_frequencies
    from leaf_edge.model import model_classifier, model_frontend, model_labels, model_spec

    spec = model_spec(model)
    frontend = model_frontend(model)
    frontend_info = {"type": frontend_name}
    if frontend_name == "leaf":
        centre, bandwidth = gabor_frequencies(frontend.gabor.constrained_kernel().numpy(), spec.sample_rate)
        frontend_info["compression"] = frontend.compression
        frontend_info["gabor"] = report.get("gabor", frontend.gabor_mode)
        frontend_info["learned_centre_hz"] = [round(float(centre.min()), 1), round(float(centre.max()), 1)]
        frontend_info["learned_bandwidth_hz"] = [
            round(float(bandwidth.min()), 1),
            round(float(bandwidth.max()), 1),
        ]
    labels = model_labels(model)
    accuracy = {
        k: report[k] for k in ("clips", "accuracy_keras", "accuracy_tflite", "top1_agreement") if k in report
    }
    return {
        "format": LEAF_EDGE_FORMAT,
        "leaf_edge_version": leaf_edge.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "labels": labels,
        "background_labels": [label for label in labels if label in BACKGROUND_LABELS],
        "audio": spec.to_dict(),  # the one place the audio spec is written (and the AudioProperties)
        "frontend": frontend_info,
        "streaming": report.get("streaming"),
        "classifier": model_classifier(model),
        "quantization": {"mode": quantize, "io": io_type, "float_ops": report.get("float_ops")},
        "task": task,
        "detection": detection,
        "dataset": data_summary,
        "accuracy": {"split": "test", **accuracy},
    }


def attach(
    tflite: bytes,
    entry: dict,
    name: str,
    description: str,
    version: str,
    licence: str,
    author: str,
    extra_files: dict[str, bytes] | None = None,
) -> bytes:
    """The model with its standard metadata, ``labels.txt``, ``extra_files`` (the streaming model)
    and ``leaf_edge.json`` (with the integrity record of the rest) inside."""
    problems = entry_problems(entry)
    if problems:
        raise ValueError(f"the leaf-edge entry {'; '.join(problems)}")
    packed = model_metadata(entry, name, description, version, licence, author)
    files = {LABELS_FILE: ("\n".join(entry["labels"]) + "\n").encode(), **(extra_files or {})}
    return with_leaf_edge_entry(embed_metadata(tflite, packed, files), entry)

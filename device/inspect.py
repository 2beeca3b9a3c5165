"""``leaf-edge inspect``: what a .tflite model file carries, read without TensorFlow."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from device.contract import INTEGRITY, LeafEdgeError, audio_spec
from device.metadata import damage, read_metadata
from device.ops import io_tensors, op_summary, read_ops, signatures
from device.streaming import stream_model

INTEGRITY_TEXT = {
    "intact": "sealed; the SHA-256 of the flatbuffer and of every member match",
    "not sealed": "not sealed (written before leaf-edge sealed its files)",
}


def describe(path: Path) -> dict:
    """Size, inputs and outputs, operators, standard metadata and the leaf-edge entry of a file."""
    data = Path(path).read_bytes()
    metadata = read_metadata(data, str(path))
    inputs, outputs = io_tensors(data)
    entry = metadata.leaf_edge if isinstance(metadata.leaf_edge, dict) else {}
    streaming = entry.get("streaming")
    stream = stream_model(data, streaming) if streaming else None
    sealed = entry.get(INTEGRITY)
    return {
        "path": str(path),
        "size_bytes": len(data),
        "inputs": [dataclasses.asdict(t) for t in inputs],
        "outputs": [dataclasses.asdict(t) for t in outputs],
        "ops": op_summary(read_ops(data)),
        "signatures": {"window": signatures(data), "streaming": signatures(stream) if stream else []},
        "metadata": dataclasses.asdict(metadata),
        "missing_for_leaf_edge": metadata.missing(),
        "integrity": "not sealed" if not isinstance(sealed, dict) else (damage(data, sealed) or "intact"),
    }


def _tensor(t: dict) -> str:
    return f"{t['name']} {t['dtype'].lower()}[{', '.join(map(str, t['shape']))}]"


def format_description(info: dict) -> str:
    """The human-readable form of :func:`describe`."""
    meta, entry = info["metadata"], info["metadata"]["leaf_edge"] or {}
    rows = [("file", f"{info['path']} ({info['size_bytes'] / 1e6:.2f} MB)")]
    if meta["name"]:
        rows.append(
            (
                "name",
                f"{meta['name']} (version {meta['version'] or '-'}, licence {meta['licence'] or 'not set'})",
            )
        )
        rows.append(("description", meta["description"]))
        if meta["author"]:
            rows.append(("author", meta["author"]))
    rows.append(
        (
            "input",
            ", ".join(map(_tensor, info["inputs"]))
            + (f"; {meta['sample_rate']} Hz, {meta['channels']} channel" if meta["sample_rate"] else ""),
        )
    )
    rows.append(("output", ", ".join(map(_tensor, info["outputs"]))))
    if meta["labels"]:
        rows.append(("labels", ", ".join(meta["labels"])))
    if entry:
        rows += _leaf_edge_rows(entry)
    if meta["files"]:
        rows.append(("files", ", ".join(meta["files"])))
    rows.append(("integrity", INTEGRITY_TEXT.get(info["integrity"], f"DAMAGED: {info['integrity']} changed")))
    for model, found in info["signatures"].items():
        rows += [(f"{model} signature", f"{s['key']}: {', '.join(s['inputs'])} -> {', '.join(s['outputs'])}")
                 for s in found]  # fmt: skip
    ops = info["ops"]
    rows.append(("ops", f"{sum(ops.values())}: " + ", ".join(f"{name} x{n}" for name, n in ops.items())))
    if info["missing_for_leaf_edge"]:
        rows.append(("not leaf-edge", "missing " + "; ".join(info["missing_for_leaf_edge"])))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def _leaf_edge_rows(entry: dict) -> list[tuple[str, str]]:
    """The leaf-edge entry as table rows; tolerant of entries from other versions."""
    rows = []
    try:
        spec = audio_spec(entry)
    except (LeafEdgeError, TypeError, KeyError):
        spec = None
    front = entry.get("frontend", {})
    if front:
        text = f"{front.get('type')}"
        if spec:
            text += f", {spec.n_filters} filters, {spec.window_ms:g} ms window, {spec.stride_ms:g} ms stride"
        if "learned_centre_hz" in front:
            low, high = front["learned_centre_hz"]
            text += f", {front.get('compression')}; learned centres {low:,.0f}-{high:,.0f} Hz"
        rows.append(("frontend", text))
    if "classifier" in entry:
        rows.append(("classifier", entry["classifier"]))
    quant = entry.get("quantization", {})
    if quant:
        floats = quant.get("float_ops")
        text = f"{quant.get('mode')}, {quant.get('io')} output"
        if isinstance(floats, list) and floats:
            text += f"; float ops: {', '.join(floats)}"
        rows.append(("quantization", text))
    if spec:
        rows.append(("clip", f"{spec.clip_samples} samples at {spec.sample_rate} Hz"))
    if "detection" in entry:
        rows.append(
            ("detection", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in entry["detection"].items()))
        )
    data = entry.get("dataset", {})
    if data:
        clips = " / ".join(f"{n} {split}" for split, n in data.get("clips", {}).items())
        rows.append(("data set", f"{data.get('name', '?')}: {clips or 'size unknown'}"))
    acc = entry.get("accuracy", {})
    if "accuracy_tflite" in acc:
        rows.append(
            (
                "accuracy",
                f"{acc['split']} {acc['accuracy_tflite']:.2%} on {acc['clips']} clips (Keras "
                f"{acc['accuracy_keras']:.2%}, top-1 agreement {acc['top1_agreement']:.2%})",
            )
        )
    rows.append(("made by", f"leaf-edge {entry.get('leaf_edge_version', '?')}, {entry.get('created', '?')}"))
    return rows

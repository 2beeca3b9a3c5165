"""``leaf-edge classify``: top labels of short files, a timeline and events for long ones.

Files are read in blocks, so an hour-long recording needs no more memory than a short one
(the per-window list kept for ``--json`` is a few numbers per hop).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.audio import file_blocks, header_seconds
from device.classifier import Classifier
from device.contract import DetectionSettings
from device.detect import Detector


def classify_file(classifier: Classifier, path: Path, settings: DetectionSettings, top_k: int = 3) -> dict:
    """One file's result: ``top`` for a clip up to 1.5 windows long, else ``segments`` and ``events``."""
    info, blocks = file_blocks(path)
    rate = info.samplerate
    duration = info.frames / rate
    result = {"file": str(path), "duration_seconds": round(duration, 3), "sample_rate": info.samplerate}
    read = 0

    def counted():
        nonlocal read
        for block in blocks:
            read += len(block)
            yield block

    if duration <= 1.5 * classifier.clip_samples / classifier.sample_rate:
        wave = np.concatenate(list(counted()))
        result["top"] = [vars(c) for c in classifier.classify(wave, rate, top_k)]
        return _with_length_warning(result, read, info)
    result["model"] = "streaming" if classifier.uses_streaming_model(settings.hop_seconds) else "window"
    detector = Detector(classifier.labels, settings, classifier.background)
    windows, events = [], []
    for window in classifier.windows(counted(), rate, settings.hop_seconds):
        best = int(window.scores.argmax())
        windows.append({"time": round(window.time, 3), "label": classifier.labels[best],
                        "score": round(float(window.scores[best]), 4)})  # fmt: skip
        event = detector.update(window.scores, window.time)
        if event is not None:
            events.append(vars(event))
    result["windows"] = windows
    result["segments"] = segments(windows)
    result["events"] = events
    return _with_length_warning(result, read, info)


def _with_length_warning(result: dict, read: int, info) -> dict:
    """A file whose samples end before its header says (a cut download, a full disk) says so."""
    said, got = header_seconds(info), read / info.samplerate
    if got < said - 0.01:
        result["warning"] = f"the file ends after {got:.2f} s, its header says {said:.2f} s: it is truncated"
    return result


def segments(windows: list[dict]) -> list[dict]:
    """Runs of consecutive windows with the same top label; ``start`` and ``end`` are window ends."""
    runs: list[dict] = []
    for window in windows:
        if runs and runs[-1]["label"] == window["label"]:
            run = runs[-1]
            run["end"], run["windows"] = window["time"], run["windows"] + 1
            run["max_score"] = max(run["max_score"], window["score"])
        else:
            runs.append({"start": window["time"], "end": window["time"],
                         "label": window["label"], "max_score": window["score"], "windows": 1})  # fmt: skip
    return runs


def format_result(result: dict) -> str:
    """The human-readable form of :func:`classify_file`."""
    head = f"{result['file']} ({result['duration_seconds']:.2f} s, {result['sample_rate']} Hz)"
    if "warning" in result:
        head += f" [warning: {result['warning']}]"
    if "top" in result:
        return head + ": " + ", ".join(f"{c['label']} {c['score']:.2f}" for c in result["top"])
    lines = [head, f"  timeline ({result['model']} model; top label of each window; times are window ends):"]
    for run in result["segments"]:
        lines.append(
            f"    {run['start']:8.2f} - {run['end']:8.2f} s  {run['label']:<12} max {run['max_score']:.2f}"
        )
    lines.append(f"  events ({len(result['events'])}):")
    lines += [f"    {e['time']:8.2f} s  {e['label']:<12} {e['score']:.2f}" for e in result["events"]]
    return "\n".join(lines)

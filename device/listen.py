"""``leaf-edge listen``: a microphone, the classifier's stream of events, and a closing summary."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from device.atomic import atomic_path
from device.classifier import Classifier
from device.contract import DetectionSettings
from device.detect import quiet_thresholds
from device.metadata import with_leaf_edge_entry
from device.microphone import Microphone, capture_rate, resolve_device

# Measured (README, "Keywords inside running speech"): the shipped default misses 3-7 % of keywords
# with 0.6 s or more of quiet around them, 28 % with 0.4-0.6 s, and most run into other words.
PAUSE_HINT = "say each keyword on its own, with a pause of half a second or more around it"


def run_listener(
    classifier: Classifier,
    device: str | None,
    duration: float | None,
    overrides: dict,
    on_event: Callable[[dict], None],
    log: Callable[[str], None] | None = None,
    rate: int | None = None,
) -> dict:
    """Listen until ``duration`` passes or Ctrl-C; call ``on_event`` per event; return a summary.

    ``overrides`` are :class:`DetectionSettings` fields that replace the model's defaults;
    ``rate`` forces the capture rate (else the model's rate when the device has it).
    """
    settings = DetectionSettings.from_metadata(classifier.metadata.leaf_edge, **overrides)
    index = resolve_device(device)
    rate = rate or capture_rate(index, classifier.sample_rate)
    mic = Microphone(index, rate)
    if log:
        resampling = "" if rate == classifier.sample_rate else f", resampled to {classifier.sample_rate} Hz"
        model = "streaming model" if classifier.uses_streaming_model(settings.hop_seconds) else "window model"
        model += f", hop {settings.hop_seconds:g} s"
        log(f"listening on device {index} at {rate} Hz{resampling}; {model}; labels: "
            + ", ".join(label for label in classifier.labels if label not in classifier.background)
            + ("" if duration else "; Ctrl-C to stop"))  # fmt: skip
        if classifier.metadata.leaf_edge.get("task") == "keywords":
            log(PAUSE_HINT)
    counts: Counter[str] = Counter()
    latencies = []
    interrupted = False
    try:
        for event in classifier.stream(mic.chunks(duration), rate, settings):
            latency = time.monotonic() - (mic.started_at + event.time)
            latencies.append(latency)
            counts[event.label] += 1
            on_event({"time": event.time, "label": event.label, "score": event.score,
                      "latency_ms": round(1000 * latency)})  # fmt: skip
    except KeyboardInterrupt:
        interrupted = True
    finally:
        mic.close()
    return {
        "seconds": round(mic.stats.seconds, 2),
        "events": sum(counts.values()),
        "by_label": dict(counts),
        "median_latency_ms": round(1000 * sorted(latencies)[len(latencies) // 2]) if latencies else None,
        "overflows": mic.stats.overflows,
        "reopened": mic.stats.reopened,
        "interrupted": interrupted,
        "device": index,
        "rate": rate,
    }


def calibrate_room(
    classifier: Classifier, device: str | None, seconds: float, overrides: dict, rate: int | None = None
) -> tuple[dict, dict[str, tuple[float, float]]]:
    """Record ``seconds`` of the room with nobody speaking and raise per-label thresholds just
    enough that the recording would have fired nothing. Returns the overrides to listen with
    (``overrides`` plus the raised thresholds) and each raised label's (old, new) threshold."""
    settings = DetectionSettings.from_metadata(classifier.metadata.leaf_edge, **overrides)
    index = resolve_device(device)
    mic = Microphone(index, rate or capture_rate(index, classifier.sample_rate))
    windows = classifier.windows(mic.chunks(seconds), mic.rate, settings.hop_seconds)
    scores = np.array([w.scores for w in windows]).reshape(-1, len(classifier.labels))
    raised = quiet_thresholds(classifier.labels, scores, settings, classifier.background)
    changes = {
        label: (settings.thresholds.get(label, settings.threshold), new) for label, new in raised.items()
    }
    return {**overrides, "thresholds": {**settings.thresholds, **raised}}, changes


def save_calibrated(
    classifier: Classifier, overrides: dict, changes: dict, seconds: float, out: Path
) -> None:
    """A copy of the model whose detection settings are the calibrated ones (written atomically;
    the model itself, so every score, is unchanged)."""
    entry = dict(classifier.metadata.leaf_edge)
    settings = DetectionSettings.from_metadata(entry, **overrides)
    entry["detection"] = dataclasses.asdict(settings)
    entry["room_calibration"] = {
        "seconds": seconds,
        "raised": {label: list(pair) for label, pair in changes.items()},
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    with atomic_path(out) as tmp:
        tmp.write_bytes(with_leaf_edge_entry(Path(classifier.path).read_bytes(), entry))


def format_changes(changes: dict[str, tuple[float, float]], seconds: float) -> str:
    if not changes:
        return f"calibrated on {seconds:g} s of the room: nothing would have fired, thresholds unchanged"
    raised = ", ".join(f"{label} {old:.2f} -> {new:.2f}" for label, (old, new) in changes.items())
    capped = [label for label, (_, new) in changes.items() if new >= 1.0]
    return f"calibrated on {seconds:g} s of the room: raised {raised}" + (
        f" (the room scores {', '.join(capped)} at 1.0: even so they may fire there)" if capped else ""
    )


def format_event(event: dict) -> str:
    latency = f"latency {event['latency_ms']} ms"
    return f"{event['time']:8.2f} s  {event['label']:<10} {event['score']:.2f}  ({latency})"


def format_summary(summary: dict) -> str:
    labels = ", ".join(f"{label} x{n}" for label, n in summary["by_label"].items()) or "none"
    text = f"listened {summary['seconds']:.1f} s: {summary['events']} events ({labels})"
    if summary["median_latency_ms"] is not None:
        text += f", median latency {summary['median_latency_ms']} ms"
    if summary["overflows"]:
        text += f"; {summary['overflows']} input overflows (audio was dropped: the machine is too busy)"
    if summary["reopened"]:
        text += f"; the device was reopened {summary['reopened']} times"
    return text

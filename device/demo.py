"""``leaf-edge demo``: the shipped model on a bundled recording, a picture, then the microphone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from device.audio import file_blocks
from device.classifier import Classifier
from device.classify_files import classify_file
from device.models import DEMO_RECORDING


def timeline(events: list[dict], seconds: float, width: int = 72) -> str:
    """One line: the recording as a strip of dots with each detected keyword at its time."""
    strip = ["."] * width
    free = 0  # labels never overwrite each other: a crowded one moves right
    for event in events:
        at = max(free, int(event["time"] / seconds * width))
        for i, char in enumerate(event["label"]):
            if at + i < width:
                strip[at + i] = char
        free = at + len(event["label"]) + 1
    return f"0 s |{''.join(strip)}| {seconds:.0f} s"


def word_span(loudness_db, frame_seconds: float, end: float, window_seconds: float, within_db: float = 20.0):
    """Where the detected word is: the stretch of its deciding window (``window_seconds`` up to
    ``end``) from the first to the last frame within ``within_db`` of the window's loudest."""
    first = max(0, int((end - window_seconds) / frame_seconds))
    window = loudness_db[first : max(first + 1, int(end / frame_seconds))]
    loud = (window >= window.max() - within_db).nonzero()[0]
    return (first + loud[0]) * frame_seconds, (first + loud[-1] + 1) * frame_seconds


def picture(classifier: Classifier, recording: Path, events: list[dict], path: Path) -> Path:
    """The recording's spectrogram, as the model's own frontend computes it, with each detection
    drawn as a span over its word (the loud part of its deciding window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from device.audio import resampled
    from device.features import spectrogram

    info, blocks = file_blocks(recording)
    wave = np.concatenate(list(resampled(blocks, info.samplerate, classifier.sample_rate)))
    features = spectrogram(classifier.path.read_bytes(), wave, classifier.clip_samples)
    clip = classifier.clip_samples
    seconds = -(-len(wave) // clip) * clip / classifier.sample_rate  # whole windows, the last one padded
    front = classifier.metadata.leaf_edge.get("frontend", {}).get("type", "frontend")
    # a few loud bins would set the scale and leave the rest dark: scale to the 1st-99.5th percentiles
    low, high = np.percentile(features, [1, 99.5])
    fig, ax = plt.subplots(figsize=(12, 3.6))
    shown = ax.imshow(
        features.T, origin="lower", aspect="auto", cmap="magma", vmin=low, vmax=high,
        extent=(0, seconds, 0, features.shape[1]), interpolation="nearest",
    )  # fmt: skip
    frame = 0.01
    hop = round(frame * classifier.sample_rate)
    power = np.add.reduceat(wave.astype(np.float64) ** 2, np.arange(0, len(wave), hop)) / hop
    loudness = 10 * np.log10(np.maximum(power, 1e-12))
    for event in events:
        start, end = word_span(loudness, frame, event["time"], clip / classifier.sample_rate)
        ax.axvspan(start, end, color="cyan", alpha=0.15)
        ax.text((start + end) / 2, features.shape[1] * 0.96, event["label"], ha="center", va="top",
                fontsize=9, bbox={"facecolor": "cyan", "edgecolor": "none", "pad": 1.5})  # fmt: skip
    fig.colorbar(shown, ax=ax, pad=0.01, label="frontend output")
    ax.set_xlabel("seconds (bands: detected words)")
    ax.set_ylabel(f"{front} filter")
    ax.set_title(f"{recording.name}: the {front.upper()} spectrogram inside {classifier.path.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_demo(
    classifier: Classifier, out: Callable[[str], None], picture_path: Path, listen_seconds: float
) -> None:
    """Classify the bundled recording, draw it, then listen to a microphone if there is one."""
    meta = classifier.metadata
    accuracy = meta.leaf_edge.get("accuracy", {}).get("accuracy_tflite")
    size = classifier.path.stat().st_size / 1e6
    out(f"model      {classifier.path.name}: {meta.name}, {meta.leaf_edge['quantization']['mode']}, "
        f"{size:.1f} MB" + (f", {accuracy:.1%} on its test set" if accuracy else ""))  # fmt: skip
    result = classify_file(classifier, DEMO_RECORDING, classifier.settings)
    out(f"recording  {DEMO_RECORDING.name}: {result['duration_seconds']:.1f} s of keywords and other words "
        "(espeak-ng, with fan noise)\n")  # fmt: skip
    out("   time   keyword  score")
    for event in result["events"]:
        bar = "#" * round(20 * event["score"])
        out(f"  {event['time']:5.2f} s  {event['label']:<7}  {event['score']:.2f}  {bar}")
    out("\n" + timeline(result["events"], result["duration_seconds"]) + "\n")
    try:
        out(f"picture    {picture(classifier, DEMO_RECORDING, result['events'], picture_path)}")
    except ImportError:
        out("picture    skipped: matplotlib is not installed (pip install matplotlib)")
    listen_to_microphone(classifier, out, listen_seconds)


def listen_to_microphone(classifier: Classifier, out: Callable[[str], None], seconds: float) -> None:
    from device.listen import format_event, format_summary, run_listener
    from device.microphone import MicrophoneError, input_devices

    try:
        devices = input_devices()
    except MicrophoneError as error:
        devices, reason = [], str(error)
    else:
        reason = "no input device found"
    if not devices or seconds <= 0:
        out(f"microphone {reason if not devices else 'skipped'}; with one connected, try: leaf-edge listen")
        return
    out(f"microphone listening for {seconds:g} s: say some keywords ({', '.join(classifier.labels[:10])})")
    try:
        summary = run_listener(classifier, None, seconds, {}, lambda e: out(format_event(e)))
    except MicrophoneError as error:
        out(f"microphone {error}; try: leaf-edge listen --list-devices")
        return
    out(format_summary(summary))

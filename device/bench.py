"""``leaf-edge bench``: what each model costs on this machine, side by side in one run.

Per model file: size; median latency of the window model per window and of the streaming model
per hop (when the file has one), on 1 thread and on N; the real-time factor of continuous
classification at the model's hop (processing time per second of audio: the streaming model
per hop, else the window model rerun every hop); and the peak resident memory of a fresh process
that loads the model and classifies 10 s of audio the way ``listen`` does. Ratios are taken
against the first model and, per model, streaming against window.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from device.classifier import Classifier
from device.contract import DetectionSettings, audio_spec
from device.metadata import read_leaf_edge_metadata
from device.runtime import ModelRunner
from device.streaming import open_stream

REPEATS = 30
MEMORY_AUDIO_SECONDS = 10.0


def median_ms(call, repeats: int = REPEATS) -> float:
    """Median wall time of ``call()`` in milliseconds, after 3 warm-up calls."""
    for _ in range(3):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def significant(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (real-time factors span decades)."""
    return float(f"{value:.{digits}g}")


def _peak_memory_mb(path: str) -> float:
    """In a fresh process: load the model, classify 10 s of noise as ``listen`` would, report peak RSS."""
    classifier = Classifier(path)
    noise = np.random.default_rng(0).normal(0, 0.1, int(MEMORY_AUDIO_SECONDS * classifier.sample_rate))
    chunks = np.array_split(noise.astype(np.float32), int(MEMORY_AUDIO_SECONDS * 10))  # 100 ms blocks
    for _ in classifier.windows(chunks, classifier.sample_rate):
        pass
    status = Path("/proc/self/status")
    if status.exists():  # VmHWM starts afresh at exec; getrusage's maxrss keeps the parent's peak
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM"))
        return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory_mb(path: Path) -> float:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return round(pool.submit(_peak_memory_mb, str(path)).result(), 1)


def bench_model(path: Path, threads: int = 4) -> dict:
    """The measurements of one model file (see the module docstring)."""
    data = path.read_bytes()
    entry = read_leaf_edge_metadata(data, str(path)).leaf_edge
    hop_seconds = DetectionSettings.from_metadata(entry).hop_seconds
    result = {
        "model": str(path),
        "size_mb": round(len(data) / 1e6, 2),
        "hop_seconds": hop_seconds,
        "frontend": entry.get("frontend", {}).get("type"),
        "gabor": entry.get("frontend", {}).get("gabor"),
        "quantization": entry.get("quantization", {}).get("mode"),
        "window": {},
        "stream": None,
    }
    for n in sorted({1, threads}):
        runner = ModelRunner(data, n)
        window = np.zeros(runner.clip_samples, np.float32)
        result["window"][f"ms_{n}_thread"] = round(median_ms(lambda r=runner, w=window: r.invoke(w)), 3)
    result["window"]["rtf_1_thread"] = significant(result["window"]["ms_1_thread"] / 1000 / hop_seconds)
    streaming = entry.get("streaming")
    if streaming:
        info = {"hop_seconds": streaming["hop_samples"] / audio_spec(entry).sample_rate}
        for n in sorted({1, threads}):
            runner = open_stream(data, streaming, n)
            hop = np.zeros(runner.hop_samples, np.float32)
            info[f"ms_{n}_thread"] = round(median_ms(lambda r=runner, h=hop: r.step(h)), 3)
        info["rtf_1_thread"] = significant(info["ms_1_thread"] / 1000 / info["hop_seconds"])
        result["stream"] = info
    result["rtf_1_thread"] = (result["stream"] or result["window"])["rtf_1_thread"]
    result["peak_memory_mb"] = peak_memory_mb(path)
    return result


def ratios(results: list[dict]) -> list[dict]:
    """Each model against the first: window latency, continuous cost (RTF), size; and stream vs window."""
    base = results[0]
    rows = []
    for r in results:
        row = {
            "model": r["model"],
            "window_latency_vs_first": round(r["window"]["ms_1_thread"] / base["window"]["ms_1_thread"], 3),
            "rtf_vs_first": round(r["rtf_1_thread"] / base["rtf_1_thread"], 3),
            "size_vs_first": round(r["size_mb"] / base["size_mb"], 3),
        }
        if r["stream"]:
            row["stream_hop_vs_window"] = round(r["stream"]["ms_1_thread"] / r["window"]["ms_1_thread"], 3)
        rows.append(row)
    return rows


def format_table(results: list[dict], threads: int) -> str:
    """A plain-text table of the measurements and the ratios."""
    header = (
        f"{'model':<34} {'MB':>6} {'window ms':>10} {f'@{threads}t':>7} {'hop ms':>8} {f'@{threads}t':>7} "
        f"{'RTF':>7} {'peak MB':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        stream = r["stream"] or {}
        hop_ms = f"{stream['ms_1_thread']:.2f}" if stream else "-"
        hop_n = f"{stream[f'ms_{threads}_thread']:.2f}" if stream else "-"
        lines.append(
            f"{Path(r['model']).name:<34} {r['size_mb']:>6.2f} {r['window']['ms_1_thread']:>10.2f} "
            f"{r['window'][f'ms_{threads}_thread']:>7.2f} {hop_ms:>8} {hop_n:>7} {r['rtf_1_thread']:>7.4f} "
            f"{r['peak_memory_mb']:>8.1f}"
        )
    lines += ["", f"ratios to {Path(results[0]['model']).name} (1 thread):"]
    for row in ratios(results):
        text = (
            f"  {Path(row['model']).name:<34} window latency x{row['window_latency_vs_first']:.2f}, "
            f"continuous cost x{row['rtf_vs_first']:.2f}, size x{row['size_vs_first']:.2f}"
        )
        if "stream_hop_vs_window" in row:
            text += f"; its stream hop costs x{row['stream_hop_vs_window']:.2f} of a window"
        lines.append(text)
    lines.append("hop ms: the streaming model per hop; RTF: seconds of processing per second of audio")
    lines.append("at the model's hop on 1 thread; peak MB: a fresh process classifying 10 s of audio")
    return "\n".join(lines)

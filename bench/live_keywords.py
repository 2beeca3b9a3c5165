"""Event accuracy, latency, CPU and memory of `leaf-edge listen` on a virtual microphone; prints JSON.

    .venv/bin/python bench/live_keywords.py [--model M.tflite] [--rounds 3] [--window-model]

Speaks every keyword (in a shuffled order, each round with another fixed voice) into a PulseAudio
virtual microphone (tests/tools/virtual-mic.sh) while `leaf-edge listen --json` runs, then
compares the events with what was said: hits, misses and false events (in order), the
processing latency `listen` reports (window end -> event), and the detection delay (event time
minus the end of its word), taken from `leaf-edge classify` on the same recording, since the
live stream's start is not aligned with the feed. The listener's CPU use (a fraction of one
core, from /proc while the words play, so start-up is not counted) and its peak resident memory
(VmHWM just before it exits) are read from /proc.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.speech import TEST_VOICES, recording, write_wav  # noqa: E402

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
SCRIPT = ROOT / "tests" / "tools" / "virtual-mic.sh"


def leaf_edge(*args: str, env=None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "leaf_edge.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "keywords-leaf.tflite"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window-model", action="store_true", help="listen with the window model")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    words = [w for _ in range(args.rounds) for w in rng.permutation(KEYWORDS).tolist()]
    pieces = [recording(words[i * 10 : i * 10 + 10], voice=TEST_VOICES[i % len(TEST_VOICES)], seed=i)
              for i in range(args.rounds)]  # fmt: skip
    offsets = np.cumsum([0] + [len(wave) / 16000 for wave, _ in pieces])
    ends = [
        offset + end for offset, (_, piece_ends) in zip(offsets, pieces, strict=False) for end in piece_ends
    ]
    audio = np.concatenate([p for p, _ in pieces])
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "keywords.wav", audio)
        env = {**os.environ, "VMIC_DIR": str(Path(tmp) / "vmic")}
        subprocess.run(["bash", str(SCRIPT), "start"], env=env, check=True, capture_output=True)
        env["PULSE_SERVER"] = f"unix:{env['VMIC_DIR']}/pulse/native"
        try:
            duration = len(audio) / 16000 + 6
            extra = ["--window-model"] if args.window_model else []
            live = leaf_edge("listen", args.model, "--json", "--duration", f"{duration:.1f}", *extra, env=env)
            time.sleep(4)
            cpu_start, wall_start = cpu_seconds(live.pid), time.monotonic()
            subprocess.run(["bash", str(SCRIPT), "feed", str(wav)], env=env, check=True, capture_output=True)
            cpu_fraction = (cpu_seconds(live.pid) - cpu_start) / (time.monotonic() - wall_start)
            memory = peak_rss_mb(live.pid)
            out, err = live.communicate(timeout=600)
        finally:
            subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True)
        if live.returncode:
            raise SystemExit(err[-2000:])
        lines = [json.loads(line) for line in out.splitlines()]
        events, summary = lines[:-1], lines[-1]["summary"]
        offline = leaf_edge("classify", args.model, str(wav), "--json", *extra).communicate(timeout=600)[0]
    heard = [e["label"] for e in events]
    matcher = difflib.SequenceMatcher(a=words, b=heard, autojunk=False)
    hits = sum(block.size for block in matcher.get_matching_blocks())
    file_events = json.loads(offline)["events"]
    delays = [e["time"] - max(end for end in ends if end <= e["time"] + 0.25) for e in file_events
              if any(end <= e["time"] + 0.25 for end in ends)]  # fmt: skip
    print(json.dumps({
        "model": args.model,
        "words_spoken": len(words),
        "events": len(events),
        "hits_in_order": hits,
        "recall": round(hits / len(words), 3),
        "false_events": len(events) - hits,
        "median_processing_latency_ms": statistics.median([e["latency_ms"] for e in events] or [0]),
        "median_detection_delay_after_word_end_s": round(statistics.median(delays), 3) if delays else None,
        "overflows": summary["overflows"],
        "listener_cpu_fraction_of_one_core": round(cpu_fraction, 4),
        "listener_peak_rss_mb": round(memory, 1),
        "model_used": json.loads(offline)["model"],
        "differences": [{"said": words[i1:i2], "heard": heard[j1:j2]}
                        for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"],
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()

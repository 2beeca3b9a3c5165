"""Kill `leaf-edge train` with SIGKILL at random instants and resume it; print what was lost as JSON.

    .venv/bin/python bench/kill_train.py [--kills 20] [--epochs 6] [--seed 0]

A small run (mel + cnn-small on generated tones, 50 steps an epoch) is started, killed at a
uniformly drawn instant, restarted with the same command, and so on ``--kills`` times; then it
runs to the end. Each kill may cost the epoch in progress and nothing more: the finished run must
log every epoch exactly once, keep a best.keras that loads, leave no temporary file, and have
started at most ``epochs + kills`` epochs in all.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def tones(root: Path) -> None:
    """Three labels of one-second tones in light noise, 16 files each."""
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    for label, freq in (("low", 300), ("mid", 1200), ("high", 4000)):
        (root / label).mkdir(parents=True)
        for i in range(16):
            wave = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.02 * i) * t) + rng.normal(0, 0.01, t.size)
            sf.write(root / label / f"{label}_{i}.wav", wave.astype(np.float32), 16000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="leaf-edge-kill-"))
    tones(work / "tones")
    run = work / "run"
    command = [sys.executable, "-m", "leaf_edge.cli", "train", str(work / "tones"), "--out", str(run),
               "--frontend", "mel", "--epochs", str(args.epochs), "--batch-size", "8", "--no-augment",
               "--split-by", "file"]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def started(output: str) -> int:
        return len(re.findall(r"^Epoch \d+/", output, re.M))

    begin = time.monotonic()  # a whole run first: how long one takes, where the kills are drawn
    subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    whole = time.monotonic() - begin
    shutil.rmtree(run)
    runs, landed = [], 0
    while landed < args.kills:  # a run is killed until it finishes by itself; then a new one
        shutil.rmtree(run, ignore_errors=True)
        epochs_started, kills = 0, []
        while True:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       env=env, cwd=ROOT)  # fmt: skip
            instant = rng.uniform(0, whole)
            try:
                output, _ = process.communicate(timeout=instant if landed < args.kills else None)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
                kills.append(round(instant, 2))
                landed += 1
                epochs_started += started(output)
                continue
            if process.returncode:
                raise SystemExit(f"a resumed run failed: {output[-2000:]}")
            epochs_started += started(output)
            break
        runs.append(finished_run(run, args.epochs, kills, epochs_started))
    print(json.dumps({
        "kills": landed,
        "runs": len(runs),
        "epochs_per_run": args.epochs,
        "whole_run_seconds": round(whole, 1),
        "every_run_within_budget": all(r["each_epoch_logged_once"] and r["within_budget"]
                                       and not r["temporary_files_left"] for r in runs),
        "runs_detail": runs,
    }, indent=2))  # fmt: skip


def finished_run(run: Path, epochs: int, kills: list[float], epochs_started: int) -> dict:
    """What a run that was killed ``len(kills)`` times left when it finished."""
    from leaf_edge.model import load_model

    history = [h["epoch"] for h in json.loads((run / "metrics.json").read_text())["history"]]
    load_model(run / "best.keras")
    return {
        "killed_after_seconds": kills,
        "each_epoch_logged_once": history == list(range(1, epochs + 1)),
        "epochs_started": epochs_started,
        "most_allowed": epochs + len(kills),
        "within_budget": epochs_started <= epochs + len(kills),
        "temporary_files_left": sorted(p.name for p in run.iterdir() if p.name.startswith(".")),
    }


if __name__ == "__main__":
    main()

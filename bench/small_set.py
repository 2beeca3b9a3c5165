"""A new user's small set: 440 instrument clips (11 families, 2 s, 44.1 kHz stereo), trained with
the default options (plus ``--gabor grouped``), timed, and scored in-font and on the unseen font.

    .venv/bin/python bench/small_set.py [--frontend leaf|mel] [--seed N] [--name RUN] WORKDIR [-- OPTIONS]

Generates ``WORKDIR/instruments-440`` once (``leaf-edge data instruments --clips-per-family 8``:
four training sample sets and TimGM6mb, heard only in the test split), trains ``WORKDIR/RUN`` with
the ``leaf-edge train`` command line (a finished run is reused: delete it to time again) and
prints JSON: seconds to train, the epoch kept and the last, test accuracy, accuracy by font.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEAF_EDGE = [sys.executable, "-m", "leaf_edge.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--frontend", default="leaf", choices=["leaf", "mel"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", help="the run's folder under WORKDIR (default: FRONTEND-seedN)")
    parser.add_argument("extra", nargs="*", help="more leaf-edge train options (after --)")
    args = parser.parse_args()
    data = args.workdir / "instruments-440"
    if not (data / "dataset.json").exists():
        subprocess.run([*LEAF_EDGE, "data", "instruments", str(data), "--clips-per-family", "8"], check=True)
    run = args.workdir / (args.name or f"{args.frontend}-seed{args.seed}")
    options = ["--gabor", "grouped"] if args.frontend == "leaf" else ["--frontend", "mel"]
    started = time.monotonic()
    subprocess.run([*LEAF_EDGE, "train", str(data), "--out", str(run), "--seed", str(args.seed),
                    *options, *args.extra], check=True, cwd=ROOT)  # fmt: skip
    seconds = time.monotonic() - started
    evaluated = subprocess.run([*LEAF_EDGE, "evaluate", str(run), str(data), "--json"],
                               check=True, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    report = json.loads(evaluated.stdout)
    final = json.loads((run / "metrics.json").read_text())["final"]
    print(json.dumps({
        "run": str(run),
        "seconds_to_train": round(seconds),
        "kept_epoch": final["best_epoch"],
        "last_epoch": final["last_epoch"],
        "test_accuracy": round(report["accuracy"], 4),
        "by_font": {font: round(row["accuracy"], 4) for font, row in report["by_engine"].items()},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()

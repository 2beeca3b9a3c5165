"""Time one training step of LEAF + EfficientNetB0 and of mel + EfficientNetB0; print JSON.

    .venv/bin/python bench/train_step.py [--batch-size 32] [--steps 20]

Both models take the same batch of 1 s waveforms through ``train_on_batch`` (forward,
backward, Adam update) in one process, alternating so that machine load hits both alike;
the figures are medians, and ``leaf_over_mel`` their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from leaf_edge.data.words import LABELS  # noqa: E402
from leaf_edge.model import build_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    waves = (0.1 * rng.standard_normal((args.batch_size, 16000))).astype(np.float32)
    labels = rng.integers(0, len(LABELS), args.batch_size)
    models = {}
    for name in ("leaf", "mel"):
        model = build_model(frontend=name, labels=list(LABELS))
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        for _ in range(3):  # trace and warm up
            model.train_on_batch(waves, labels)
        models[name] = model
    times = {name: [] for name in models}
    for _ in range(args.steps):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(waves, labels)
            times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(t) for name, t in times.items()}
    print(
        json.dumps(
            {
                "batch_size": args.batch_size,
                "steps": args.steps,
                "threads": os.cpu_count(),
                "tensorflow": tf.__version__,
                "machine": platform.machine(),
                "seconds_per_step": seconds,
                "leaf_over_mel": seconds["leaf"] / seconds["mel"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

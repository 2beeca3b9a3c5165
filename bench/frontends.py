"""Time the LEAF and mel frontends side by side on one thread; print JSON.

    .venv/bin/python bench/frontends.py [--seconds 1] [--repeats 30]

Each frontend runs as a traced ``tf.function`` on one ``[1, seconds * 16000]`` waveform;
the figure is the median time per second of audio, and ``leaf_over_mel`` their ratio,
measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from leaf_edge.config import AudioSpec  # noqa: E402
from leaf_edge.frontends import make_frontend  # noqa: E402


def median_seconds(fn, x, repeats: int) -> float:
    for _ in range(3):
        fn(x).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x).numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    spec = AudioSpec(clip_seconds=args.seconds)
    x = tf.random.stateless_uniform([1, spec.clip_samples], seed=[0, 1], minval=-0.5, maxval=0.5)
    results = {}
    for name in ("leaf", "mel"):
        frontend = make_frontend(name, spec)
        seconds = median_seconds(tf.function(frontend), x, args.repeats)
        results[name] = {"ms_per_audio_second": 1000 * seconds / args.seconds}
    # Multiply-adds of LEAF's stride-1 complex Gabor convolution per second of audio.
    results["leaf"]["gabor_conv_macs_per_audio_second"] = (
        spec.sample_rate * 2 * spec.n_filters * spec.window_size
    )
    print(
        json.dumps(
            {
                "threads": 1,
                "audio_seconds": args.seconds,
                "repeats": args.repeats,
                "tensorflow": tf.__version__,
                "machine": platform.machine(),
                "frontends": results,
                "leaf_over_mel": results["leaf"]["ms_per_audio_second"]
                / results["mel"]["ms_per_audio_second"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

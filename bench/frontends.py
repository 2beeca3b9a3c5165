"""Frontend cost side by side: exact LEAF, grouped LEAF and mel, as folded TFLite graphs on LiteRT.

    .venv/bin/python bench/frontends.py [--repeats 50]

Each frontend alone (no classifier) is folded and converted as ``leaf-edge convert`` does and
run by LiteRT with XNNPACK on 1 thread on a 1 s window; the figures are median milliseconds per
window, their ratios (measured in the same process), and multiply-adds of the filterbank
convolutions per second of audio. Parameters are the mel initialisation (training moves them
little; the grouped plan follows the learned widths).
"""

from __future__ import annotations

import argparse
import json
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from converter.export import convert_model  # noqa: E402
from converter.fold import FoldedLeaf, FoldedMel  # noqa: E402
from device.bench import median_ms  # noqa: E402
from device.contract import AudioSpec  # noqa: E402
from device.runtime import ModelRunner  # noqa: E402
from leaf_edge.frontends import grouped  # noqa: E402
from leaf_edge.frontends.leaf import Leaf  # noqa: E402
from leaf_edge.frontends.mel import MelFilterbanks  # noqa: E402


def tflite_frontend(layer, spec: AudioSpec) -> bytes:
    waveform = keras.Input(batch_shape=(1, spec.clip_samples), name="waveform")
    return convert_model(keras.Model(waveform, layer(waveform)), "none")


def filterbank_macs(folded, spec: AudioSpec) -> float:
    """Multiply-adds per second of audio of the frontend's filterbank convolution(s)."""
    if isinstance(folded, FoldedMel):
        frames = spec.sample_rate / spec.stride
        return frames * (folded.kernel.shape[0] * folded.kernel.shape[2] + folded.mel_matrix.size)
    return grouped.multiply_adds(folded.frozen.evaluated_bands(), spec.sample_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    spec = AudioSpec()
    leaf = Leaf(spec)
    leaf.build((None, spec.clip_samples))
    mel = MelFilterbanks(spec)
    mel.build((None, spec.clip_samples))
    frontends = {
        "leaf_exact": FoldedLeaf(leaf, "exact"),
        "leaf_grouped": FoldedLeaf(leaf, "grouped"),
        "mel": FoldedMel(mel),
    }
    window = np.random.default_rng(0).uniform(-0.5, 0.5, spec.clip_samples).astype(np.float32)
    results = {}
    for name, folded in frontends.items():
        runner = ModelRunner(tflite_frontend(folded, spec), threads=1)
        results[name] = {
            "ms_per_window": round(median_ms(lambda r=runner: r.invoke(window), args.repeats), 3),
            "filterbank_macs_per_second": round(filterbank_macs(folded, spec)),
        }
    ms = {name: r["ms_per_window"] for name, r in results.items()}
    print(
        json.dumps(
            {
                "threads": 1,
                "window_seconds": spec.clip_seconds,
                "machine": platform.machine(),
                "frontends": results,
                "grouped_bands": [b.to_dict() for b in frontends["leaf_grouped"].frozen.bands],
                "ratios": {
                    "leaf_exact_over_mel": round(ms["leaf_exact"] / ms["mel"], 2),
                    "leaf_grouped_over_mel": round(ms["leaf_grouped"] / ms["mel"], 2),
                    "leaf_exact_over_grouped": round(ms["leaf_exact"] / ms["leaf_grouped"], 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

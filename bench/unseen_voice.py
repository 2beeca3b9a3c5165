"""Accuracy on a voice from a synthesis method the built-in data set never uses: festival's HTS voice.

    .venv/bin/python bench/unseen_voice.py MODEL.tflite... [--json]

The data set's festival voices are diphone voices (kal, ked); ``cmu_us_slt_arctic_hts`` is a
statistical-parametric (HMM) voice of a woman, a third kind of synthesis after rules (espeak-ng)
and clustergen/diphones (flite). Nine speakers (three speeds x three vocal-tract scales, made as
the data set makes its own) say the ten keywords and the data set's unknown words; every model
classifies the same 1 s clips. Needs ``apt-get install festvox-us-slt-hts`` (free licence).
Prints JSON: accuracy on keywords, on unknown words and overall, per model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device import Classifier  # noqa: E402
from leaf_edge.data.engines import Voice  # noqa: E402
from leaf_edge.data.synth import KeywordSetConfig, Speaker, render_speaker  # noqa: E402
from leaf_edge.data.words import KEYWORDS, UNKNOWN_WORDS  # noqa: E402

VOICE = "cmu_us_slt_arctic_hts"
VOICE_DIR = Path("/usr/share/festival/voices/us") / VOICE
STRETCHES = (0.85, 1.0, 1.2)
TRACT_SCALES = (0.92, 1.0, 1.08)


def unseen_clips(out: Path) -> tuple[np.ndarray, list[str]]:
    """The nine speakers' checked 1 s clips and their labels (``_unknown_`` for other words)."""
    config = KeywordSetConfig()
    waves, labels = [], []
    for i, (stretch, scale) in enumerate((s, t) for s in STRETCHES for t in TRACT_SCALES):
        voice = Voice("festival", VOICE, {"duration_stretch": stretch})
        speaker = Speaker(f"hts{i}", "test", voice, scale, [*KEYWORDS, *UNKNOWN_WORDS], clip_seed=i)
        for clip in render_speaker(speaker, config, out).clips:
            waves.append(sf.read(out / clip.path, dtype="float32")[0])
            labels.append(clip.label)
    return np.stack(waves), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    args = parser.parse_args()
    if not VOICE_DIR.exists():
        sys.exit(f"festival's {VOICE} voice is not installed (apt-get install festvox-us-slt-hts)")
    with tempfile.TemporaryDirectory(prefix="leaf-edge-unseen-") as tmp:
        waves, labels = unseen_clips(Path(tmp))
    keyword = np.array([label in KEYWORDS for label in labels])
    results = {"voice": VOICE, "clips": len(labels), "keyword_clips": int(keyword.sum())}
    for model in args.models:
        classifier = Classifier(model, streaming=False)
        predicted = np.array(classifier.labels)[classifier.scores(waves).argmax(axis=1)]
        right = predicted == np.array(labels)
        results[model.name] = {
            "accuracy": round(float(right.mean()), 4),
            "keywords": round(float(right[keyword].mean()), 4),
            "unknown_words": round(float(right[~keyword].mean()), 4),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""How often a model calls a piece of a keyword a keyword: what a window sliding onto or off a word holds.

    .venv/bin/python bench/keyword_fragments.py DATA MODEL.tflite... [--split test]

Each keyword clip of DATA's split is scored whole, cut to the head of its word and cut to the
tail (20-45 % of its speech kept, silence elsewhere, the same cuts for every model), through
``Classifier`` (LiteRT, the window model). A piece called a keyword at 0.6 or more is what
``train --keyword-fragments`` trains against; the wrong keyword from a piece is a false accept
waiting to happen. Prints JSON: per model and cut, the share called a keyword and the share
called its own keyword.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device import Classifier  # noqa: E402
from device.contract import BACKGROUND_LABELS  # noqa: E402
from leaf_edge.stream_report import split_clips  # noqa: E402
from leaf_edge.streams import speech_span  # noqa: E402

FIRES = 0.6  # the shipped detection threshold
KEPT = (0.2, 0.45)  # of the word's speech a piece keeps, the share `train --keyword-fragments` keeps


def pieces(clip: np.ndarray, share: float) -> dict[str, np.ndarray]:
    start, end = speech_span(clip)
    kept = int(share * (end - start))
    head, tail = np.zeros_like(clip), np.zeros_like(clip)
    head[start : start + kept] = clip[start : start + kept]
    tail[end - kept : end] = clip[end - kept : end]
    return {"whole": clip, "head": head, "tail": tail}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    results = {}
    for model in args.models:
        classifier = Classifier(model, streaming=False)
        clips = split_clips(args.data, classifier.labels, args.split, None, classifier.sample_rate)
        background = classifier.background or BACKGROUND_LABELS
        keywords = [(label, clip) for label, clip in clips if label not in background]
        shares = np.random.default_rng(0).uniform(*KEPT, len(keywords))
        cut = [pieces(clip, share) for (_, clip), share in zip(keywords, shares, strict=True)]
        said = np.array([classifier.labels.index(label) for label, _ in keywords])
        fires = np.array([label not in background for label in classifier.labels])
        results[model.name] = {}
        for part in ("whole", "head", "tail"):
            waves = np.stack([c[part] for c in cut])
            scores = np.concatenate([classifier.scores(waves[i : i + 64]) for i in range(0, len(waves), 64)])
            top = scores.argmax(axis=1)
            called = fires[top] & (scores.max(axis=1) >= FIRES)
            results[model.name][part] = {
                "called_a_keyword": round(float(called.mean()), 4),
                "called_its_keyword": round(float((called & (top == said)).mean()), 4),
                "keywords": len(keywords),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

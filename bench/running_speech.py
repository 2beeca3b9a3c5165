"""How long a pause a keyword needs: misses and false accepts as the gap to the next words shrinks.

    .venv/bin/python bench/running_speech.py DATA MODEL.tflite... [--split test]

Each keyword clip of DATA's split is said between one or two of the split's unknown words before
and after it (``leaf-edge evaluate --stream --running-speech`` does this at 50-200 ms), with the
gap between words drawn from each range below; every model streams the same audio through
``Classifier.stream`` (LiteRT) with its own detection settings. Prints JSON: per gap and model,
the false-reject rate and false accepts per hour of that running speech.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device import Classifier  # noqa: E402
from device.contract import UNKNOWN  # noqa: E402
from leaf_edge.stream_report import split_clips  # noqa: E402
from leaf_edge.streams import RUNNING, Scoring, build_running_streams, score_stream, stream_figures  # noqa: E402

GAPS = ((0.05, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (1.0, 1.2))  # seconds between words


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {}
    for model in args.models:
        classifier = Classifier(model)
        clips = split_clips(args.data, classifier.labels, args.split, None, classifier.sample_rate)
        scoring = Scoring.of(classifier)
        keywords = [(label, clip) for label, clip in clips if label not in scoring.background]
        carriers = [clip for label, clip in clips if label == UNKNOWN]
        for gap in GAPS:
            built = build_running_streams(keywords, carriers, classifier.sample_rate, args.seed, word_gap=gap)
            streams = [score_stream(classifier, audio, RUNNING, words) for audio, words in built]
            figures = stream_figures(streams, scoring, classifier.settings)["running_speech"]
            results.setdefault(f"{gap[0]:g}-{gap[1]:g} s", {})[model.name] = {
                "false_reject_rate": round(figures["false_reject_rate"], 4),
                "false_accepts_per_hour": figures["false_accepts_per_hour"],
                "keywords_said": figures["keywords_said"],
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""False keyword events on words outside the vocabulary, streamed as `leaf-edge listen` would.

    .venv/bin/python bench/unknown_words.py [MODEL.tflite...] [--threshold T]

Each fixed test voice (all three engines, none drawn by the data set) speaks 26 words that are
not keywords, 1.2 s apart in light noise, and then the ten keywords the same way; every
recording is fed to ``Classifier.stream`` in 0.1 s blocks. Counts the keyword events on the
unknown words (each one is false) and the keywords heard in order (longest common subsequence).
Prints JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device import Classifier  # noqa: E402
from device.models import MODELS_DIR  # noqa: E402
from leaf_edge.data.words import KEYWORDS  # noqa: E402
from tests.speech import ENGINE_VOICES, recording  # noqa: E402

# Unknown words of the data set and words in none of its lists, some near a keyword in sound.
UNKNOWN_WORDS = [
    "then", "apple", "music", "water", "table", "morning", "pencil", "dog", "cat", "house", "bird",
    "happy", "okay", "when", "top", "done", "goal", "know", "lift", "light", "often", "of", "shop",
    "yet", "tree", "learn",
]  # fmt: skip
BLOCK = 1600


def streamed_events(classifier: Classifier, words: list[str], voice, settings) -> list[str]:
    audio, _ = recording(words, voice=voice)
    blocks = [audio[i : i + BLOCK] for i in range(0, len(audio), BLOCK)]
    return [event.label for event in classifier.stream(blocks, 16000, settings)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=[MODELS_DIR / "keywords-leaf.tflite"])
    parser.add_argument("--threshold", type=float, help="detection threshold (default: the model's)")
    args = parser.parse_args()
    results = {}
    for path in args.models:
        classifier = Classifier(path)
        settings = classifier.settings
        if args.threshold is not None:
            settings = dataclasses.replace(settings, threshold=args.threshold)
        false_events, in_order = 0, 0
        for voice in ENGINE_VOICES:
            false_events += len(streamed_events(classifier, UNKNOWN_WORDS, voice, settings))
            heard = streamed_events(classifier, list(KEYWORDS), voice, settings)
            matcher = difflib.SequenceMatcher(None, heard, list(KEYWORDS), autojunk=False)
            in_order += sum(block.size for block in matcher.get_matching_blocks())
        results[path.name] = {
            "threshold": settings.threshold,
            "unknown_words": len(UNKNOWN_WORDS) * len(ENGINE_VOICES),
            "false_events": false_events,
            "keywords": len(KEYWORDS) * len(ENGINE_VOICES),
            "keywords_in_order": in_order,
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

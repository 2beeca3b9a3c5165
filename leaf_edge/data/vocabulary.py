"""English words for the keyword set's ``_unknown_`` class, at scale: the most common words of
a lexicon and the keywords' near-misses by pronunciation.

Both come from lexicons that festival's Debian packages install (the built-in set needs them
anyway): festlex-cmu's CMU pronouncing dictionary and festlex-poslex's Wall Street Journal word
statistics. A near-miss is a word one phone away from a keyword ("goal", "lift", "yet");
homophones of a keyword ("know", "write") are never unknown: they sound like the keyword.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from leaf_edge.data.folders import DataError

CMU_LEXICON = Path("/usr/share/festival/dicts/cmu/cmudict-0.4.out")
WSJ_LEXICON = Path("/usr/share/festival/dicts/wsj.wp39.poslexR")

_ENTRY = re.compile(r'^\("([^"]+)" \S+ \((.*)\)\)\s*$')  # word, part of speech, syllables
_PHONES = re.compile(r"\(\(([a-z ]+)\) \d\)")
_TAG_SCORE = re.compile(r"\(([^\s()]+) (-?[\d.]+)\)")
_NAME_TAGS = {"nnp", "nnps", "fw"}  # proper nouns and foreign words: TTS guesses how they sound
_WORD = re.compile(r"^[a-z]{2,12}$")


def _lines(path: Path, package: str):
    if not path.exists():
        raise DataError(f"{path} is missing: install Debian's {package} (scripts/install-system-deps.sh)")
    with path.open(encoding="latin-1") as lines:
        yield from lines


@cache
def pronunciations(path: Path = CMU_LEXICON) -> dict[str, tuple[str, ...]]:
    """Each plain lowercase word's first pronunciation in the CMU lexicon, as phones without
    syllables or stress."""
    found: dict[str, tuple[str, ...]] = {}
    for line in _lines(path, "festlex-cmu"):
        entry = _ENTRY.match(line)
        if entry and _WORD.match(entry[1]) and entry[1] not in found:
            found[entry[1]] = tuple(" ".join(_PHONES.findall(entry[2])).split())
    return found


@cache
def word_scores(path: Path = WSJ_LEXICON) -> dict[str, float]:
    """Each plain lowercase word's highest log-probability under any part of speech in the WSJ
    lexicon (a measure of how common it is in running English); not names or foreign words."""
    found: dict[str, float] = {}
    for line in _lines(path, "festlex-poslex"):
        word = line[2 : line.find('"', 2)] if line.startswith('("') else ""
        tags = dict(_TAG_SCORE.findall(line))
        if _WORD.match(word) and set(tags) - _NAME_TAGS:
            found[word] = max(float(score) for score in tags.values())
    return found


@cache
def short_words(keywords: tuple[str, ...], count: int, max_phones: int = 3) -> tuple[str, ...]:
    """The ``count`` most common of :func:`common_words` that have at most ``max_phones`` phones:
    words a phrase of two or three still fits a one-second clip with."""
    lexicon = pronunciations()
    return tuple(w for w in common_words(keywords, len(lexicon)) if len(lexicon[w]) <= max_phones)[:count]


def phone_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Edit distance between two phone sequences (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, phone in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (phone != other))
    return row[-1]


@cache
def sounds_like(keywords: tuple[str, ...], distance: int) -> set[str]:
    """Words whose pronunciation is exactly ``distance`` phones from some keyword's."""
    lexicon = pronunciations()
    targets = [lexicon[k] for k in keywords if k in lexicon]
    return {
        word
        for word, phones in lexicon.items()
        for target in targets
        if abs(len(phones) - len(target)) <= distance and phone_distance(phones, target) == distance
    }


@cache
def near_misses(keywords: tuple[str, ...]) -> tuple[str, ...]:
    """Common words one phone from a keyword, most common first (homophones left out)."""
    scores = word_scores()
    close = sounds_like(keywords, 1) - sounds_like(keywords, 0) - set(keywords)
    return tuple(sorted((w for w in close if w in scores), key=lambda w: (-scores[w], w)))


@cache
def common_words(keywords: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The ``count`` most common words of the lexicons that are neither a keyword, nor sound
    like one, nor one of its near-misses."""
    scores, lexicon = word_scores(), pronunciations()
    left_out = set(keywords) | sounds_like(keywords, 0) | set(near_misses(keywords))
    ranked = sorted((w for w in scores if w in lexicon and w not in left_out), key=lambda w: (-scores[w], w))
    return tuple(ranked[:count])

"""Unknown words at scale: near-misses and common words from festival's lexicons, never a
keyword or a homophone of one; the keyword set built with them."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from leaf_edge.cli import main
from leaf_edge.data import synth
from leaf_edge.data.folders import DataError, index_folder
from leaf_edge.data.vocabulary import (
    common_words,
    near_misses,
    phone_distance,
    pronunciations,
    short_words,
    sounds_like,
    word_scores,
)
from leaf_edge.data.words import KEYWORDS, LABELS


def test_phone_distance_counts_edits():
    assert phone_distance(("g", "ow"), ("g", "ow")) == 0
    assert phone_distance(("g", "ow"), ("g", "ow", "l")) == 1  # go -> goal
    assert phone_distance(("l", "eh", "f", "t"), ("l", "ih", "f", "t")) == 1  # left -> lift
    assert phone_distance(("s", "t", "aa", "p"), ()) == 4
    assert phone_distance(("y", "eh", "s"), ("n", "ow")) == 3


def test_the_lexicons_give_pronunciations_and_scores():
    lexicon, scores = pronunciations(), word_scores()
    assert lexicon["stop"] == ("s", "t", "aa", "p") and lexicon["yes"] == ("y", "eh", "s")
    assert len(lexicon) > 50_000 and len(scores) > 20_000
    assert scores["the"] > scores["million"] > scores["plummeted"]


def test_homophones_of_keywords_are_never_unknown():
    homophones = sounds_like(KEYWORDS, 0)
    assert {"know", "write", "rite", "wright"} <= homophones  # they sound like "no" and "right"
    unknown = set(near_misses(KEYWORDS)) | set(common_words(KEYWORDS, 3000))
    assert not unknown & (homophones | set(KEYWORDS))


def test_near_misses_are_one_phone_from_a_keyword():
    misses = near_misses(KEYWORDS)
    assert {"goal", "lift", "yet", "now", "top", "of"} <= set(misses)
    lexicon = pronunciations()
    for word in misses:
        assert min(phone_distance(lexicon[word], lexicon[k]) for k in KEYWORDS) == 1, word


def test_common_words_are_the_most_common_first():
    words = common_words(KEYWORDS, 500)
    assert len(words) == len(set(words)) == 500
    assert {"the", "and", "what"} <= set(words)
    scores = word_scores()
    assert all(scores[a] >= scores[b] for a, b in zip(words[:-1], words[1:], strict=True))
    assert words == common_words(KEYWORDS, 3000)[:500]


def test_speakers_say_near_misses_and_common_words():
    config = synth.KeywordSetConfig(speakers=60, common_words=1000, unknown_words_per_speaker=4)
    speakers = synth.plan_speakers(config)
    misses, common = set(near_misses(KEYWORDS)), set(common_words(KEYWORDS, 1000))
    said = set()
    for speaker in speakers:
        unknown = speaker.words[len(KEYWORDS) :]
        assert speaker.words[: len(KEYWORDS)] == list(KEYWORDS)
        assert len(unknown) == len(set(unknown)) == 4
        assert set(unknown[:2]) <= misses and set(unknown[2:]) <= common
        said |= set(unknown)
    assert len(said) > 150  # 60 speakers x 4 words, drawn from about 1,200
    plain = synth.plan_speakers(synth.KeywordSetConfig(speakers=60))
    assert [s.split for s in speakers] == [s.split for s in plain]


def test_speakers_say_phrases_of_common_words_and_nothing_else_changes():
    plain = synth.plan_speakers(synth.KeywordSetConfig(speakers=30))
    speakers = synth.plan_speakers(synth.KeywordSetConfig(speakers=30, phrases_per_speaker=3))
    pool, keywords = set(short_words(KEYWORDS, synth.PHRASE_POOL)), set(KEYWORDS)
    lexicon = pronunciations()
    assert len(pool) == synth.PHRASE_POOL and all(len(lexicon[word]) <= 3 for word in pool)
    for speaker, same in zip(speakers, plain, strict=True):
        *words, first, second, third = speaker.words
        assert words == same.words and (speaker.voice, speaker.split, speaker.clip_seed) == (
            same.voice, same.split, same.clip_seed,
        )  # fmt: skip
        for phrase in (first, second, third):
            said = phrase.split()
            assert 2 <= len(said) <= 3 and len(set(said)) == len(said) and set(said) <= pool - keywords


def test_cli_builds_a_keyword_set_with_lexicon_words(tmp_path):
    out = tmp_path / "kw"
    args = ["data", "keywords", str(out), "--speakers", "3", "--engines", "flite", "--workers", "1"]
    asked = ["--common-words", "300", "--unknown-per-speaker", "4", "--phrases-per-speaker", "2"]
    result = CliRunner().invoke(main, [*args, *asked])
    assert result.exit_code == 0, result.output
    with open(out / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    unknown = [row["text"] for row in rows if row["label"] == "_unknown_" and " " not in row["text"]]
    vocabulary = set(near_misses(KEYWORDS)) | set(common_words(KEYWORDS, 300))
    assert len(unknown) >= 9 and set(unknown) <= vocabulary  # 12, less any dropped
    phrases = [row for row in rows if " " in row["text"]]  # 6, less any too long for the clip
    assert len(phrases) >= 3 and all(row["label"] == "_unknown_" for row in phrases)
    assert all(row["path"].split("/")[0] == row["text"].replace(" ", "-") for row in phrases)
    assert set(index_folder(out).labels) == set(LABELS)
    for asked in (["--unknown-per-speaker", "38"], ["--common-words", "2", "--unknown-per-speaker", "6"]):
        refused = CliRunner().invoke(main, [*args[:2], str(tmp_path / "more"), *args[3:], *asked])
        assert refused.exit_code == 1 and "more than there are unknown words" in refused.output, asked
        assert "Traceback" not in refused.output and not (tmp_path / "more").exists()


def test_a_missing_lexicon_names_its_package(tmp_path):
    with pytest.raises(DataError, match="festlex-cmu"):
        pronunciations(tmp_path / "cmudict.out")

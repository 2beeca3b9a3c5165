"""Stream evaluation on the device path: missed keywords, false accepts per hour, latency.

A model is judged as ``leaf-edge listen`` uses it: the .tflite file runs in
:class:`device.Classifier` (LiteRT, its streaming model where it has one) over long streams, and
its events are compared with what was said. Four kinds of stream:

- ``keywords``: every keyword clip of a split after a pause, in shuffled order: misses per keyword,
  latency, and events of the wrong label;
- ``speech``: the split's other clips (unknown words, silence) the same way: false accepts per
  hour of speech that holds no keyword;
- ``negative``: recordings with no keyword in them, as they are: false accepts per hour;
- ``running`` (on request): each keyword inside running speech, the speech of one to two unknown
  words before and after it with 50-200 ms between words: misses and false accepts where words
  run into each other, as in conversation. Reported apart, so the figures above stay comparable.

Pauses are quiet noise, or stretches of negative audio on request (the word then starts after
an abrupt change of background, which is harder than a room whose noise goes on under it). Each
stream's window scores are computed once; detection is cheap and is rerun for every threshold of
the DET curve.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device import Classifier
from device.contract import BACKGROUND_LABELS, UNKNOWN, DetectionSettings
from device.detect import detect_along
from leaf_edge.data.folders import DataError, read_audio

STREAM_SECONDS = 600.0  # streams are cut at about ten minutes (a pause is never cut)
PAUSE_SECONDS = (0.5, 1.5)  # before each clip, drawn uniformly
QUIET_NOISE_DB = -60.0  # the level of a pause when no negative audio is given (dBFS, RMS)
SPEECH_FLOOR_DB = -35.0  # a clip's spoken part: samples within this of its peak (for latency)
LATE_SECONDS = 0.5  # an event may come this long after the window that covers the word's end
FILLER_SECONDS = 600.0  # negative audio read for the pauses between clips
RUNNING = "running"  # the kind of the streams of keywords inside running speech
WORD_GAP_SECONDS = (0.05, 0.2)  # between the words of running speech, drawn uniformly
DET_THRESHOLDS = tuple(np.round(np.arange(0.30, 0.995, 0.025), 3))


@dataclass(frozen=True)
class Word:
    """A clip placed in a stream: its label, where the clip starts and where its speech ends."""

    label: str
    start: float
    speech_end: float


@dataclass
class ScoredStream:
    """One stream's ground truth and window scores (computed once, detected many times)."""

    kind: str  # keywords, speech or negative
    seconds: float
    words: list[Word]
    times: np.ndarray  # [windows] end time of each window, seconds
    scores: np.ndarray  # [windows, labels]


def speech_span(clip: np.ndarray) -> tuple[int, int]:
    """First and one past the last sample within SPEECH_FLOOR_DB of the clip's peak."""
    level = np.abs(clip)
    loud = np.flatnonzero(level >= level.max() * 10 ** (SPEECH_FLOOR_DB / 20)) if level.max() > 0 else []
    return (int(loud[0]), int(loud[-1]) + 1) if len(loud) else (0, len(clip))


def build_streams(
    clips: list[tuple[str, np.ndarray]],
    rate: int,
    seed: int,
    fillers: list[np.ndarray] | None = None,
    stream_seconds: float = STREAM_SECONDS,
) -> list[tuple[np.ndarray, list[Word]]]:
    """Clips in shuffled order, each after a pause, cut into streams of about ``stream_seconds``.

    A pause is a stretch of a random filler recording (negative audio) when ``fillers`` are given,
    else quiet noise; the order and pauses follow ``seed``.
    """
    rng = np.random.default_rng(seed)

    def utterances():  # drawn as the streams are joined: the pauses keep their draws
        for k in rng.permutation(len(clips)):
            label, clip = clips[k]
            pause = _pause(round(rng.uniform(*PAUSE_SECONDS) * rate), rng, fillers)
            yield (
                np.concatenate([pause, clip.astype(np.float32)]),
                (label, len(pause), len(pause) + speech_span(clip)[1]),
            )

    return _into_streams(
        utterances(), rate, stream_seconds, lambda: _pause(round(PAUSE_SECONDS[1] * rate), rng, fillers)
    )


def build_running_streams(
    keywords: list[tuple[str, np.ndarray]],
    carriers: list[np.ndarray],
    rate: int,
    seed: int,
    stream_seconds: float = STREAM_SECONDS,
    word_gap: tuple[float, float] = WORD_GAP_SECONDS,
) -> list[tuple[np.ndarray, list[Word]]]:
    """Each keyword's speech between the speech of one or two carrier words (unknown words)
    before and after it, ``word_gap`` seconds between words; these utterances in shuffled order, each
    after a pause of quiet noise. A :class:`Word` marks each keyword from its speech's start."""
    if not carriers:
        raise DataError("running speech needs unknown-word clips to put the keywords between")
    rng = np.random.default_rng([seed, 1])

    def spoken(clip: np.ndarray) -> np.ndarray:
        start, end = speech_span(clip)
        return clip[start:end].astype(np.float32)

    def gap(low: float, high: float) -> np.ndarray:
        return _pause(round(rng.uniform(low, high) * rate), rng, None)

    def carrier_words() -> list[np.ndarray]:
        return [spoken(carriers[i]) for i in rng.integers(len(carriers), size=rng.integers(1, 3))]

    utterances = []
    for k in rng.permutation(len(keywords)):
        label, clip = keywords[k]
        before, after = carrier_words(), carrier_words()
        parts = [gap(*PAUSE_SECONDS)]
        for word in before:
            parts += [word, gap(*word_gap)]
        keyword_at = sum(map(len, parts))
        parts.append(spoken(clip))
        keyword_end = sum(map(len, parts))
        for word in after:
            parts += [gap(*word_gap), word]
        utterances.append((np.concatenate(parts), (label, keyword_at, keyword_end)))
    return _into_streams(utterances, rate, stream_seconds, lambda: gap(PAUSE_SECONDS[1], PAUSE_SECONDS[1]))


def _into_streams(
    utterances, rate: int, stream_seconds: float, closing
) -> list[tuple[np.ndarray, list[Word]]]:
    """Utterances (audio, (label, start, speech end) in samples from the utterance's start) one
    after another, cut into streams of about ``stream_seconds``, each closed by ``closing()``."""
    streams, parts, words, now = [], [], [], 0
    for audio, (label, start, end) in utterances:
        words.append(Word(label, round((now + start) / rate, 4), round((now + end) / rate, 4)))
        parts.append(audio)
        now += len(audio)
        if now >= stream_seconds * rate:
            streams.append((np.concatenate([*parts, closing()]), words))
            parts, words, now = [], [], 0
    if words:
        streams.append((np.concatenate([*parts, closing()]), words))
    return streams


def _pause(samples: int, rng: np.random.Generator, fillers: list[np.ndarray] | None) -> np.ndarray:
    if fillers:
        source = fillers[rng.integers(len(fillers))]
        if len(source) > samples:
            start = int(rng.integers(len(source) - samples))
            return source[start : start + samples].astype(np.float32)
    return (rng.standard_normal(samples) * 10 ** (QUIET_NOISE_DB / 20)).astype(np.float32)


def score_stream(classifier: Classifier, audio: np.ndarray, kind: str, words: list[Word]) -> ScoredStream:
    """Run the model along the stream once, in 0.1 s blocks as a microphone delivers them."""
    block = classifier.sample_rate // 10
    chunks = (audio[i : i + block] for i in range(0, len(audio), block))
    windows = list(classifier.windows(chunks, classifier.sample_rate))
    times = np.array([w.time for w in windows], np.float64)
    scores = np.stack([w.scores for w in windows]) if windows else np.zeros((0, len(classifier.labels)))
    return ScoredStream(kind, len(audio) / classifier.sample_rate, words, times, scores)


@dataclass(frozen=True)
class Scoring:
    """What scoring events needs to know of a model."""

    labels: list[str]
    background: tuple[str, ...]  # labels that never fire
    window_seconds: float

    @classmethod
    def of(cls, classifier: Classifier) -> Scoring:
        labels = classifier.labels
        background = classifier.background or tuple(label for label in labels if label in BACKGROUND_LABELS)
        return cls(labels, tuple(background), classifier.clip_samples / classifier.sample_rate)


def detect(stream: ScoredStream, scoring: Scoring, settings: DetectionSettings) -> list:
    """The events a detector with ``settings`` reports along a scored stream."""
    return detect_along(scoring.labels, settings, stream.times, stream.scores, scoring.background)


def match(words: list[Word], events: list, window_seconds: float) -> tuple[list[float | None], list]:
    """Pair events with the words they detect.

    An event detects a word of its label if it comes after the word's clip starts and no later
    than a window plus :data:`LATE_SECONDS` after the word's speech ends; each word and each
    event is used once, earliest first. Returns each word's latency (event time minus speech end,
    None when missed) and the events that detected nothing (false accepts).
    """
    latencies: list[float | None] = [None] * len(words)
    unmatched = []
    for event in events:
        for k, word in enumerate(words):
            late = word.speech_end + window_seconds + LATE_SECONDS
            if latencies[k] is None and word.label == event.label and word.start <= event.time <= late:
                latencies[k] = event.time - word.speech_end
                break
        else:
            unmatched.append(event)
    return latencies, unmatched


@dataclass
class Tally:
    """Counts of one detection pass over scored streams: words said and missed per keyword, false
    accepts per stream kind and label, audio seconds per kind, latencies of the words found."""

    said: dict[str, int]
    missed: dict[str, int]
    false_accepts: dict[str, dict[str, int]]
    seconds: dict[str, float]
    latencies: list[float]


def tally(streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings) -> Tally:
    """Detect along every stream with ``settings`` and count hits, misses and false accepts."""
    keywords = [label for label in scoring.labels if label not in scoring.background]
    counts = Tally({k: 0 for k in keywords}, {k: 0 for k in keywords}, {}, {}, [])
    for stream in streams:
        events = detect(stream, scoring, settings)
        spoken = [w for w in stream.words if w.label in counts.said]
        found, unmatched = match(spoken, events, scoring.window_seconds)
        for word, latency in zip(spoken, found, strict=True):
            counts.said[word.label] += 1
            counts.missed[word.label] += latency is None
            if latency is not None:
                counts.latencies.append(latency)
        counts.seconds[stream.kind] = counts.seconds.get(stream.kind, 0.0) + stream.seconds
        by_label = counts.false_accepts.setdefault(stream.kind, {})
        for event in unmatched:
            by_label[event.label] = by_label.get(event.label, 0) + 1
    return counts


def stream_figures(streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings) -> dict:
    """False-reject rate per keyword, false accepts per hour by stream kind, latency; the running
    speech streams' figures apart, under ``running_speech``."""
    figures = _figures([s for s in streams if s.kind != RUNNING], scoring, settings)
    running = [s for s in streams if s.kind == RUNNING]
    if running:
        apart = _figures(running, scoring, settings)
        figures["running_speech"] = {
            "false_reject_rate": apart["false_reject_rate"],
            "keywords_said": apart["keywords_said"],
            **{key: apart[key][RUNNING] for key in ("false_accepts", "hours", "false_accepts_per_hour")},
        }
    return figures


def _figures(streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings) -> dict:
    counts = tally(streams, scoring, settings)
    rates = {k: counts.missed[k] / n for k, n in counts.said.items() if n}
    false_accepts = {kind: sum(by_label.values()) for kind, by_label in counts.false_accepts.items()}
    return {
        "threshold": settings.threshold,
        "false_reject_rate": float(np.mean(list(rates.values()))) if rates else None,
        "false_reject_rate_per_keyword": {k: round(v, 4) for k, v in rates.items()},
        "keywords_said": int(sum(counts.said.values())),
        "false_accepts": false_accepts,
        "hours": {kind: round(s / 3600, 4) for kind, s in counts.seconds.items()},
        "false_accepts_per_hour": {
            k: round(false_accepts[k] * 3600 / s, 3) for k, s in counts.seconds.items()
        },
        "latency_seconds": _quantiles(counts.latencies),
    }


def _quantiles(values: list[float]) -> dict | None:
    if not values:
        return None
    q = np.quantile(values, [0.5, 0.9])
    return {"median": round(float(q[0]), 3), "p90": round(float(q[1]), 3)}


def det_curve(streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings) -> list[dict]:
    """False-reject rate and false accepts per hour as one threshold for every label moves."""
    curve = []
    for threshold in DET_THRESHOLDS:
        moved = dataclasses.replace(settings, threshold=float(threshold), thresholds={})
        figures = _figures([s for s in streams if s.kind != RUNNING], scoring, moved)
        curve.append({
            "threshold": float(threshold),
            "false_reject_rate": figures["false_reject_rate"],
            "false_accepts_per_hour": figures["false_accepts_per_hour"],
        })  # fmt: skip
    return curve


def score_streams(
    classifier: Classifier,
    split_clips: list[tuple[str, np.ndarray]],
    negatives: list[Path],
    seed: int = 0,
    negative_pauses: bool = False,
    running_speech: bool = False,
) -> list[ScoredStream]:
    """A split's clips as keyword and speech streams, and the negative recordings (read one at a
    time: hours of them never sit in memory at once), scored by one loaded model. Pauses between
    clips are quiet noise, or with ``negative_pauses`` stretches of the negative recordings. With
    ``running_speech``, the keywords again inside running speech of the split's unknown words."""
    rate = classifier.sample_rate
    fillers, filled = [], 0.0
    for path in negatives if negative_pauses else []:
        if filled >= FILLER_SECONDS:
            break
        fillers.append(read_audio(path, rate))
        filled += len(fillers[-1]) / rate
    scoring = Scoring.of(classifier)
    spoken = [(label, clip) for label, clip in split_clips if label not in scoring.background]
    other = [(label, clip) for label, clip in split_clips if label in scoring.background]
    streams = []
    for kind, clips in (("keywords", spoken), ("speech", other)):
        for audio, words in build_streams(clips, rate, seed, fillers=fillers or None):
            streams.append(score_stream(classifier, audio, kind, words))
    carriers = [clip for label, clip in other if label == UNKNOWN]
    for audio, words in build_running_streams(spoken, carriers, rate, seed) if running_speech else []:
        streams.append(score_stream(classifier, audio, RUNNING, words))
    for path in negatives:
        streams.append(score_stream(classifier, read_audio(path, rate), "negative", []))
    return streams


def evaluate_streams(
    classifier: Classifier,
    split_clips: list[tuple[str, np.ndarray]],
    negatives: list[Path],
    seed: int = 0,
    negative_pauses: bool = False,
    running_speech: bool = False,
) -> dict:
    """Stream figures and DET curve of one loaded model (streams as :func:`score_streams` makes them)."""
    started = time.process_time()
    streams = score_streams(classifier, split_clips, negatives, seed, negative_pauses, running_speech)
    cpu_seconds = time.process_time() - started
    audio_hours = sum(s.seconds for s in streams) / 3600
    scoring = Scoring.of(classifier)
    return {
        "model": str(classifier.path),
        "settings": dataclasses.asdict(classifier.settings),
        **stream_figures(streams, scoring, classifier.settings),
        "det": det_curve(streams, scoring, classifier.settings),
        "cpu_seconds_per_hour_of_audio": round(cpu_seconds / audio_hours, 1) if audio_hours else None,
    }


def det_picture(reports: list[dict], path: str | Path) -> Path:
    """False-reject rate against false accepts per hour, one curve per model (atomic PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from device.atomic import atomic_path

    figure, axes = plt.subplots(figsize=(7, 4.8))
    for report in reports:
        kind = "negative" if "negative" in report["hours"] else "speech"
        points = [(p["false_accepts_per_hour"].get(kind), p["false_reject_rate"]) for p in report["det"]]
        points = [(max(x, 0.01), y) for x, y in points if x is not None and y is not None]
        name = Path(report["model"]).name
        axes.plot(*zip(*points, strict=True), marker=".", label=f"{name} ({kind} audio)")
        at = report["false_accepts_per_hour"].get(kind)
        axes.plot([max(at, 0.01)], [report["false_reject_rate"]], "k*", markersize=10)
    axes.set_xscale("log")
    axes.set_xlabel("false accepts per hour (0 drawn at 0.01)")
    axes.set_ylabel("false-reject rate (mean over keywords)")
    axes.set_title("DET: the threshold moves along each curve; * = the model's setting", fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as partial:
        figure.savefig(partial, format="png", dpi=120)
    plt.close(figure)
    return path

"""Calibration: the detection settings that miss fewest keywords at a target false-accept rate.

Edge Impulse's performance calibration simulates a stream and picks post-processing settings;
this does the same on a data set's validation streams (:mod:`leaf_edge.streams`): keyword and
non-keyword speech streams, and hours of negative audio. For every smoothing length and minimum
count it detects at every threshold once and counts each label's misses and false accepts; each
label then takes the threshold that minimises ``misses + lam * false accepts / budget`` (the
budget: the target rate times the hours), with ``lam`` the smallest that keeps the total in
budget. The settings chosen are checked with one more detection pass with their per-label
thresholds, and those checked figures are what is reported.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from device import Classifier
from device.atomic import atomic_path
from device.contract import DetectionSettings
from device.metadata import with_leaf_edge_entry
from leaf_edge.data.folders import DataError
from leaf_edge.data.negatives import negative_files
from leaf_edge.stream_report import split_clips
from leaf_edge.streams import ScoredStream, Scoring, Tally, score_streams, stream_figures, tally

SMOOTHING_WINDOWS = (1, 2, 3, 5)
MIN_COUNTS = (1, 2, 3)
THRESHOLDS = tuple(np.r_[np.arange(300, 900, 25), np.arange(900, 1000, 5)] / 1000)  # 0.3 ... 0.995
LAMBDAS = (0.0, *np.geomspace(0.01, 1e4, 49))
KINDS = ("negative", "speech")  # stream kinds whose false accepts have a budget
FIGURES = ("false_reject_rate", "false_reject_rate_per_keyword", "false_accepts_per_hour", "hours")


@dataclasses.dataclass(frozen=True)
class Targets:
    """False accepts an hour allowed on negative audio and on non-keyword speech (None: no limit)."""

    negative: float
    speech: float | None

    def budgets(self, seconds: dict[str, float]) -> dict[str, float]:
        """False accepts allowed per stream kind present and limited, for its hours."""
        rates = {"negative": self.negative, "speech": self.speech}
        return {
            kind: rates[kind] * seconds[kind] / 3600
            for kind in KINDS
            if seconds.get(kind) and rates[kind] is not None
        }


def _label_costs(counts: Tally, keywords: list[str], budgets: dict[str, float]) -> np.ndarray:
    """[keywords, 1 + kinds]: each label's misses, then its false accepts of each budgeted kind."""
    return np.array(
        [
            [counts.missed[k], *(counts.false_accepts.get(kind, {}).get(k, 0) for kind in budgets)]
            for k in keywords
        ],
        np.float64,
    )


def _within(counts: Tally, budgets: dict[str, float]) -> bool:
    return all(sum(counts.false_accepts.get(kind, {}).values()) <= budget for kind, budget in budgets.items())


def per_label_thresholds(
    streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings, budgets: dict[str, float]
) -> tuple[DetectionSettings, Tally]:
    """For one smoothing length and minimum count: per-label thresholds and their checked tally."""
    keywords = [label for label in scoring.labels if label not in scoring.background]
    costs = np.stack([
        _label_costs(tally(streams, scoring, dataclasses.replace(settings, threshold=t, thresholds={})),
                     keywords, budgets)
        for t in THRESHOLDS
    ])  # fmt: skip  # [thresholds, keywords, 1 + kinds]
    weights = np.array([1.0 / max(budget, 1e-9) for budget in budgets.values()])
    chosen = None
    for lam in LAMBDAS:
        total = costs[..., 0] + lam * (costs[..., 1:] @ weights if len(weights) else 0.0)
        # the highest threshold among equal costs: fewer chances to fire on what was not measured
        pick = len(THRESHOLDS) - 1 - np.argmin(total[::-1], axis=0)
        predicted = costs[pick, np.arange(len(keywords)), 1:].sum(axis=0)
        if np.any(predicted > np.array(list(budgets.values()))):
            continue
        candidate = dataclasses.replace(
            settings, thresholds={k: float(THRESHOLDS[i]) for k, i in zip(keywords, pick, strict=True)}
        )
        counts = tally(streams, scoring, candidate)
        chosen = (candidate, counts)
        if _within(counts, budgets):
            return chosen
    highest = dataclasses.replace(settings, thresholds={k: float(THRESHOLDS[-1]) for k in keywords})
    return chosen or (highest, tally(streams, scoring, highest))


def calibrate(
    streams: list[ScoredStream], scoring: Scoring, settings: DetectionSettings, targets: Targets, log=print
) -> tuple[DetectionSettings, dict, bool]:
    """The settings (from ``settings``' hop and suppression) that miss fewest keywords within the
    targets, their stream figures, and whether the targets were met (if no setting meets them,
    the one with the fewest false accepts)."""
    seconds: dict[str, float] = {}
    for stream in streams:
        seconds[stream.kind] = seconds.get(stream.kind, 0.0) + stream.seconds
    budgets = targets.budgets(seconds)
    results = []
    for smoothing in SMOOTHING_WINDOWS:
        for min_count in MIN_COUNTS:
            base = dataclasses.replace(settings, smoothing_windows=smoothing, min_count=min_count)
            chosen, counts = per_label_thresholds(streams, scoring, base, budgets)
            false = {kind: sum(counts.false_accepts.get(kind, {}).values()) for kind in budgets}
            met = _within(counts, budgets)
            over = sum(false[kind] / max(budgets[kind], 1e-9) for kind in budgets)  # budgets used
            missed = sum(counts.missed.values())
            # in budget: fewest misses, then fewest false accepts; else fewest false accepts
            results.append(((0, missed, over) if met else (1, over, missed), smoothing, min_count, chosen))
            log(
                f"smoothing {smoothing}, minimum count {min_count}: {sum(counts.missed.values())} of "
                f"{sum(counts.said.values())} keywords missed, false accepts "
                + ", ".join(f"{kind} {false[kind]} (budget {budgets[kind]:.1f})" for kind in budgets)
                + ("" if met else " - over budget")
            )
    (unmet, *_), *_, best = min(results, key=lambda r: r[:3])
    return best, stream_figures(streams, scoring, best), not unmet


def calibrate_model(
    model: Path, data: Path, negatives: Path, out: Path, targets: Targets, split: str = "validation",
    seed: int = 0, log=print,
) -> dict:  # fmt: skip
    """Calibrate a .tflite on DATA's ``split`` streams and the negative folder's same split, and
    write the copy with the chosen settings (and how they were chosen) in its metadata, atomically.
    The model itself is not touched: the copy scores every window exactly as the original."""
    classifier = Classifier(model)
    scoring = Scoring.of(classifier)
    clips = split_clips(data, classifier.labels, split, None, classifier.sample_rate)
    if all(label in scoring.background for label, _ in clips):
        raise DataError(f"{data} has no {split} clips of a label that fires: nothing to calibrate on")
    streams = score_streams(classifier, clips, negative_files(negatives, split), seed)
    before = stream_figures(streams, scoring, classifier.settings)
    settings, after, met = calibrate(streams, scoring, classifier.settings, targets, log)
    entry = dict(classifier.metadata.leaf_edge)
    entry["detection"] = dataclasses.asdict(settings)
    entry["calibration"] = {
        "target_false_accepts_per_hour": dataclasses.asdict(targets),
        "targets_met": met,
        "data": str(data), "split": split, "negatives": str(negatives), "seed": seed,
        "before": {k: before[k] for k in FIGURES}, "after": {k: after[k] for k in FIGURES},
    }  # fmt: skip
    with atomic_path(out) as tmp:
        tmp.write_bytes(with_leaf_edge_entry(Path(model).read_bytes(), entry))
    return {"model": str(model), "out": str(out), "settings": entry["detection"], **entry["calibration"]}


def format_calibration(report: dict) -> str:
    """What changed and what it buys, in a few lines."""
    lines = [f"{report['out']}: detection settings chosen on {report['data']} ({report['split']})"]
    for name in ("before", "after"):
        figures = report[name]
        rates = ", ".join(f"{kind} {rate:.2f}" for kind, rate in figures["false_accepts_per_hour"].items())
        lines.append(f"  {name}: false rejects {100 * figures['false_reject_rate']:.1f} %, "
                     f"false accepts an hour: {rates}")  # fmt: skip
    settings = report["settings"]
    thresholds = ", ".join(f"{k} {v:g}" for k, v in settings["thresholds"].items())
    lines.append(f"  smoothing {settings['smoothing_windows']} windows, minimum count "
                 f"{settings['min_count']}, thresholds: {thresholds}")  # fmt: skip
    if not report["targets_met"]:
        lines.append("  warning: no setting met the targets on these streams; these fire least")
    return "\n".join(lines)

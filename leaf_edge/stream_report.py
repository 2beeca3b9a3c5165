"""``leaf-edge evaluate MODEL.tflite... DATA --stream``: a data set's clips -> stream figures.

Reads the split's clips of DATA once, streams them through every model (:mod:`leaf_edge.streams`)
and draws the models' DET curves in one picture.
"""

from __future__ import annotations

from pathlib import Path

from device import Classifier
from device.contract import BACKGROUND_LABELS, UNKNOWN
from leaf_edge.data.folders import DataError, clip_engines, index_folder, manifest_key, read_audio
from leaf_edge.data.negatives import negative_files
from leaf_edge.streams import det_picture, evaluate_streams


def split_clips(data_dir: Path, labels: list[str], split: str, engine: str | None, rate: int):
    """(label, clip at ``rate``) of DATA's split, labelled with the model's labels; with
    ``engine``, that engine's clips from every split (a held-out engine's whole share)."""
    keywords = [label for label in labels if label not in BACKGROUND_LABELS] if UNKNOWN in labels else None
    index = index_folder(data_dir, keywords=keywords)
    unknown = sorted(set(index.labels) - set(labels))
    if unknown:
        raise DataError(f"{data_dir} has labels the model does not know: {', '.join(unknown)}")
    if engine:
        engines = clip_engines(data_dir)
        every = [f for kept in index.files.values() for f in kept]
        files = [f for f in every if engines.get(manifest_key(f[0])) == engine]
        if not files:
            raise DataError(f"no clips by engine {engine!r} in {data_dir}")
    elif split == "all":
        files = [f for kept in index.files.values() for f in kept]
    else:
        files = index.files.get(split, [])
    if not files:
        raise DataError(f"{data_dir} has no {split} clips")
    return [(index.labels[label], read_audio(path, rate)) for path, label in files]


def stream_reports(
    models: tuple[Path, ...], data_dir: Path, split: str, negatives: Path | None, engine: str | None,
    seed: int, picture: Path, negative_pauses: bool = False, running_speech: bool = False,
) -> list[dict]:  # fmt: skip
    """The stream report of each model, and their DET picture at ``picture``."""
    for model in models:
        if model.suffix != ".tflite" or not model.is_file():
            raise DataError(f"{model}: --stream takes .tflite files (convert a run first)")
    negative_split = split if split in ("train", "validation", "test") else "test"
    recordings = negative_files(negatives, negative_split) if negatives else []
    clips_by_rate: dict[tuple[int, tuple[str, ...]], list] = {}
    reports = []
    for model in models:
        classifier = Classifier(model)
        key = (classifier.sample_rate, tuple(classifier.labels))
        if key not in clips_by_rate:
            clips_by_rate[key] = split_clips(
                data_dir, classifier.labels, split, engine, classifier.sample_rate
            )
        report = evaluate_streams(
            classifier, clips_by_rate[key], recordings, seed, negative_pauses, running_speech
        )
        report.update(
            data=str(data_dir), split=split, engine=engine, negatives=negatives and str(negatives),
            pauses="negative audio" if negative_pauses else "quiet noise",
        )  # fmt: skip
        reports.append(report)
    det_picture(reports, picture)
    return reports


def format_stream_report(reports: list[dict], picture: Path) -> str:
    """A few lines per model: misses, false accepts per hour of each kind of audio, latency."""
    lines = []
    for report in reports:
        lines.append(f"{report['model']} on {report['data']} ({report['engine'] or report['split']}):")
        rate = report["false_reject_rate"]
        if rate is not None:
            worst = sorted(report["false_reject_rate_per_keyword"].items(), key=lambda kv: -kv[1])[:3]
            lines.append(
                f"  false rejects {100 * rate:.1f} % of {report['keywords_said']} keywords "
                f"(worst: {', '.join(f'{k} {100 * v:.0f} %' for k, v in worst)})"
            )
        for kind, per_hour in report["false_accepts_per_hour"].items():
            count, hours = report["false_accepts"][kind], report["hours"][kind]
            lines.append(f"  {kind} streams: {count} false accepts in {hours:.2f} h: {per_hour:.2f} an hour")
        if report.get("running_speech"):
            running = report["running_speech"]
            lines.append(
                f"  inside running speech: false rejects {100 * running['false_reject_rate']:.1f} % of "
                f"{running['keywords_said']} keywords, {running['false_accepts']} false accepts in "
                f"{running['hours']:.2f} h: {running['false_accepts_per_hour']:.2f} an hour"
            )
        if report["latency_seconds"]:
            latency = report["latency_seconds"]
            median, p90 = latency["median"], latency["p90"]
            lines.append(f"  latency after the word: median {median:.2f} s, 90 % {p90:.2f} s")
        lines.append(f"  {report['cpu_seconds_per_hour_of_audio']} CPU seconds per hour of audio")
    lines.append(f"DET picture: {picture}")
    return "\n".join(lines)

"""Evaluation of a trained run: accuracy, per-class precision and recall, and the two pictures
the LEAF paper shows (learned filters against their mel initialisation; LEAF vs mel features).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from leaf_edge.data.folders import (  # noqa: E402
    DataError,
    index_folder,
    load_split,
    manifest_key,
    manifest_rows,
    voice_name,
)
from leaf_edge.frontends import gabor  # noqa: E402
from leaf_edge.frontends.leaf import Leaf  # noqa: E402
from leaf_edge.frontends.mel import MelFilterbanks  # noqa: E402
from leaf_edge.guards import dominant_class_warning  # noqa: E402
from leaf_edge.model import model_frontend, model_labels  # noqa: E402
from leaf_edge.runs import load_run  # noqa: E402

WORST_VOICES = 5  # voices named in the text report; --json has them all
MIN_VOICE_CLIPS = 10  # fewer clips say too little of a voice to name it among the worst


def classification_report(labels: list[str], truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, confusion matrix (rows: truth) and per-class precision/recall/support."""
    n = len(labels)
    confusion = np.zeros((n, n), int)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = {}
    for i, label in enumerate(labels):
        predicted_as = confusion[:, i].sum()
        support = confusion[i].sum()
        per_class[label] = {
            "precision": float(confusion[i, i] / predicted_as) if predicted_as else None,
            "recall": float(confusion[i, i] / support) if support else None,
            "support": int(support),
        }
    return {
        "accuracy": float(np.trace(confusion) / max(1, confusion.sum())),
        "examples": int(confusion.sum()),
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def accuracy_by(groups: dict[str, str], paths, truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy on each group's clips (``groups``: manifest key -> engine or voice; a clip
    without a path is generated noise)."""
    names = np.array([groups.get(manifest_key(p), "?") if p else "noise" for p in paths])
    correct = truth == predicted
    return {
        name: {"accuracy": float(correct[names == name].mean()), "clips": int((names == name).sum())}
        for name in sorted(set(names))
    }


def plot_confusion(labels, confusion, path: Path) -> None:
    confusion = np.asarray(confusion)
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.55 * len(labels), 0.8 + 0.5 * len(labels)))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(confusion):
        if count:
            ax.text(
                j,
                i,
                count,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if rates[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion (colour: share of the true class)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_filters(leaf: Leaf, path: Path) -> dict:
    """Learned Gabor filters against their mel initialisation; returns how far they moved."""
    spec = leaf.spec
    learned = leaf.gabor.constrained_kernel().numpy()
    initial = gabor.mel_init_params(spec.n_filters, spec.sample_rate, spec.min_freq, spec.max_freq).numpy()
    (c_learned, b_learned), (c_init, b_init) = (
        gabor.gabor_frequencies(p, spec.sample_rate) for p in (learned, initial)
    )
    fig, ax = plt.subplots(figsize=(7, 4.5))
    index = np.arange(spec.n_filters)
    ax.errorbar(
        index - 0.15,
        c_init,
        yerr=b_init / 2,
        fmt="o",
        ms=3,
        color="grey",
        label="mel initialisation",
    )
    ax.errorbar(index + 0.15, c_learned, yerr=b_learned / 2, fmt="o", ms=3, color="C3", label="learned")
    ax.set_xlabel("filter")
    ax.set_ylabel("centre frequency (Hz); bars: bandwidth (FWHM)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("LEAF Gabor filters")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {
        "median_centre_shift_hz": float(np.median(np.abs(c_learned - c_init))),
        "median_bandwidth_ratio": float(np.median(b_learned / b_init)),
    }


def plot_spectrograms(frontend, wave: np.ndarray, title: str, path: Path) -> None:
    """The trained frontend's features next to log-mel filterbanks of the same clip."""
    spec = frontend.spec
    panels = [("trained " + frontend.name, frontend(wave[None, :]).numpy()[0])]
    panels.append(("log mel filterbanks", MelFilterbanks(spec)(wave[None, :]).numpy()[0]))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, (name, features) in zip(axes, panels, strict=True):
        ax.imshow(features.T, origin="lower", aspect="auto", cmap="magma",
                  extent=(0, len(wave) / spec.sample_rate, 0, spec.n_filters))  # fmt: skip
        ax.set_title(name)
        ax.set_xlabel("seconds")
    axes[0].set_ylabel("filter")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _load_scored_split(index, data: Path, split: str, labels: list[str], sample_rate: int, clip_samples: int,
                      seed: int):  # fmt: skip
    """The clips of a split (``all``: every clip) at the model's rate and length."""
    if index.labels != labels:
        raise DataError(f"{data} has labels {index.labels}, the model was trained on {labels}")
    if split == "all":
        index.files = {"all": [f for files in index.files.values() for f in files]}
    elif split not in index.files:
        raise DataError(f"{data} has no {split} split")
    loaded = load_split(index, split, sample_rate, clip_samples, seed)
    if not len(loaded.labels):
        raise DataError(f"{data} has no readable clips in its {split} split")
    return loaded


def _report(data: Path, split: str, labels: list[str], loaded, predicted: np.ndarray) -> dict:
    report = {"data": str(data), "split": split}
    report.update(classification_report(labels, loaded.labels, predicted))
    report["warning"] = dominant_class_warning(predicted, loaded.labels, labels, "the model")
    try:  # by engine and by voice, from the set's manifest.csv
        rows = manifest_rows(data)
    except DataError:
        report["by_engine"] = report["by_voice"] = None
    else:
        engines = {path: row["engine"] for path, row in rows.items()}
        voices = {path: voice_name(row) for path, row in rows.items()}
        report["by_engine"] = accuracy_by(engines, loaded.paths, loaded.labels, predicted)
        report["by_voice"] = accuracy_by(voices, loaded.paths, loaded.labels, predicted)
    report["unreadable"] = len(loaded.problems)
    return report


def evaluate_model_file(model: Path, data: Path, split: str = "test") -> dict:
    """Score a converted model file as the device runs it (LiteRT through
    :class:`device.Classifier`, int8 and all) on a split of a data set. A file does not know its
    run's options, so the split is DATA's own (its split lists, else by speaker)."""
    from device import Classifier

    classifier = Classifier(model, streaming=False)  # clips go through the window model only
    loaded = _load_scored_split(index_folder(data), data, split, classifier.labels, classifier.sample_rate,
                                classifier.clip_samples, seed=0)  # fmt: skip
    predicted = np.concatenate(
        [classifier.scores(loaded.waves[i : i + 64]).argmax(axis=1) for i in range(0, len(loaded.labels), 64)]
    )
    return {"model": str(model), **_report(data, split, classifier.labels, loaded, predicted), "files": {}}


def evaluate_run(run: Path, data: Path, split: str = "test") -> dict:
    """Score a run on a split (or ``all``) of a data set; pictures go to RUN/eval-DATA-SPLIT/,
    one folder per data set and split, so evaluating another folder keeps the run's own."""
    run = Path(run)
    model, config = load_run(run)
    labels = model_labels(model)
    spec = config.spec
    loaded = _load_scored_split(config.index(data), data, split, labels, spec.sample_rate, spec.clip_samples,
                                config.seed)  # fmt: skip
    scores = model.predict(loaded.waves, batch_size=64, verbose=0)
    report = {"run": str(run), **_report(data, split, labels, loaded, scores.argmax(axis=1))}
    out = run / f"eval-{Path(data).resolve().name}-{split}"
    out.mkdir(exist_ok=True)
    plot_confusion(labels, report["confusion"], out / "confusion.png")
    files = {"confusion": str(out / "confusion.png")}
    frontend = model_frontend(model)
    if isinstance(frontend, Leaf):
        report["filters"] = plot_filters(frontend, out / "filters.png")
        files["filters"] = str(out / "filters.png")
    example = int(np.flatnonzero(loaded.labels == 0)[0]) if (loaded.labels == 0).any() else 0
    plot_spectrograms(
        frontend,
        loaded.waves[example],
        f"'{labels[loaded.labels[example]]}'",
        out / "spectrograms.png",
    )
    files["spectrograms"] = str(out / "spectrograms.png")
    report["files"] = files
    return report


def format_report(report: dict) -> str:
    """The report as a small text table."""
    lines = [
        f"{report['split']} accuracy {report['accuracy']:.4f} on {report['examples']} clips"
        + (f" ({report['unreadable']} unreadable skipped)" if report["unreadable"] else ""),
        f"{'label':<12} {'precision':>9} {'recall':>7} {'support':>8}",
    ]
    for label, row in report["per_class"].items():
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        lines.append(f"{label:<12} {precision:>9} {recall:>7} {row['support']:>8}")
    if report.get("by_engine"):
        lines.append(
            "by engine: "
            + ", ".join(
                f"{e} {row['accuracy']:.4f} ({row['clips']})" for e, row in report["by_engine"].items()
            )
        )
    spoken = {v: row for v, row in (report.get("by_voice") or {}).items()
              if not v.startswith("noise") and row["clips"] >= MIN_VOICE_CLIPS}  # fmt: skip
    if len(spoken) > 1:
        worst = sorted(spoken.items(), key=lambda item: item[1]["accuracy"])[:WORST_VOICES]
        lines.append(
            f"worst voices (of {len(spoken)} with {MIN_VOICE_CLIPS} clips or more): "
            + ", ".join(f"{v} {row['accuracy']:.4f} ({row['clips']})" for v, row in worst)
        )
    lines += [f"{name}: {path}" for name, path in report["files"].items()]
    if report.get("warning"):
        lines.append(report["warning"])
    return "\n".join(lines)

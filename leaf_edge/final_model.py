"""The end of a run: the kept checkpoint, its BatchNorm statistics re-estimated where that
serves validation, saved as model.keras with the final accuracies."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.atomic import write_json
from leaf_edge.data.folders import HELD_OUT
from leaf_edge.datasets import predictions
from leaf_edge.guards import dominant_class_warning
from leaf_edge.model import load_model, reestimate_batchnorm, save_model
from leaf_edge.runs import TrainConfig

BN_REESTIMATION_BATCHES = 50


def finish(run: Path, config: TrainConfig, splits, train_data, metrics: dict, log=print, proxy=None) -> dict:
    """best.keras (or best-stream.keras) -> BatchNorm statistics re-estimated on more batches ->
    model.keras, final accuracies."""
    by_stream = config.checkpoint_by == "stream"
    kept = run / ("best-stream.keras" if by_stream else "best.keras")
    model = load_model(kept)

    def accuracy(split, predicted=None):
        if predicted is None:
            predicted = predictions(model, splits[split], config.batch_size)
        return float(np.mean(predicted == splits[split].labels))

    def goodness() -> float:  # what the checkpoint was chosen by: higher is better
        return -proxy.score(model)["val_miss_at_fa"] if by_stream else accuracy("validation")

    before, judged_before = accuracy("validation"), goodness()
    batches = min(BN_REESTIMATION_BATCHES, metrics["steps_per_epoch"])
    reestimate_batchnorm(model, (w for w, _ in train_data.take(batches)))
    after, judged_after = accuracy("validation"), goodness()
    reestimated = judged_after >= judged_before  # keep the statistics that serve validation better
    if not reestimated:
        model = load_model(kept)
    chosen = metrics["best_stream" if config.checkpoint_by == "stream" else "best"]
    best, last = chosen["epoch"], metrics["history"][-1]["epoch"]
    scored = "test" if len(splits["test"].labels) else "validation"  # also checked for a collapse
    scored_predictions = predictions(model, splits[scored], config.batch_size)
    metrics["final"] = {
        "best_epoch": best,
        "last_epoch": last,
        "validation_accuracy_before_bn_reestimation": before,
        "validation_accuracy": after if reestimated else before,
        "bn_reestimated": reestimated,
        "test_accuracy": accuracy("test", scored_predictions) if scored == "test" else None,
        "held_out_accuracy": accuracy(HELD_OUT) if HELD_OUT in splits else None,
        "seconds_per_epoch": float(np.median([h["seconds"] for h in metrics["history"]])),
    }
    save_model(model, run / "model.keras")
    write_json(run / "metrics.json", metrics)
    log(
        f"kept epoch {best} of {last} ("
        + (
            "fewest validation misses at the stream proxy's false-accept rate"
            if config.checkpoint_by == "stream"
            else "the latest epoch within one standard error of the best validation accuracy"
        )
        + f"; last.keras holds epoch {last}); "
        f"BatchNorm statistics re-estimated on {batches} batches: validation {before:.4f} -> {after:.4f}"
        + ("" if reestimated else ", so the epoch's own statistics were kept")
    )
    warning = dominant_class_warning(
        scored_predictions, splits[scored].labels, metrics["data"]["labels"],
        f"the trained model on the {scored} split",
    )  # fmt: skip
    if warning:
        log(warning)
    held_out = (
        f", {config.held_out_engine} (held out) {metrics['final']['held_out_accuracy']:.4f}"
        if config.held_out_engine
        else ""
    )
    log(
        f"validation accuracy {metrics['final']['validation_accuracy']:.4f}, test accuracy "
        f"{metrics['final']['test_accuracy']}{held_out}; model in {run / 'model.keras'}"
    )
    return metrics

"""Per-epoch bookkeeping: BatchNorm statistics re-estimated, validation, best and last models kept.

Validation in inference mode reads BatchNorm's moving averages (momentum 0.99). On a small set an
epoch is a few dozen steps, so those averages still hold mostly their initial values and every
epoch validates at chance: "best validation accuracy" then picks the first epoch. Before each
validation the moving statistics are therefore replaced by their exact average over a few
training batches (:func:`leaf_edge.model.reestimate_batchnorm`), so that the model validated,
and saved, is the one the weights describe. A few dozen validation clips still cannot rank
epochs finely, so the epoch kept is the latest within one standard error of the best.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from device.atomic import write_json
from leaf_edge.model import reestimate_batchnorm, save_model
from leaf_edge.negative_training import CHECKPOINT_FA_PER_HOUR

BN_BATCHES_PER_EPOCH = 10
BACKUP_DIR = "backup"  # RUN/backup/: Keras' BackupAndRestore (weights, optimizer, epoch)
BACKUP_EPOCH_FILE = "training_metadata.json"  # where BackupAndRestore notes the epoch it holds


def backed_up_epoch(run: Path) -> int:
    """The epoch RUN/backup/ holds (0 without one)."""
    state = run / BACKUP_DIR / BACKUP_EPOCH_FILE
    return int(json.loads(state.read_text())["epoch"]) if state.exists() else 0


class KillSafeBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore (double checkpoint) that survives a kill during the very first backup.

    Keras falls back to the previous backup when the latest cannot be read, but after epoch 1
    there is none, and the run would fail at every rerun. Then the backup is dropped and the run
    starts again: the kill costs the epoch in progress, as any kill may.
    """

    def __init__(self, run: Path):
        super().__init__(str(run / BACKUP_DIR), double_checkpoint=True)

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except OSError:
            if Path(self._prev_weights_path).exists():
                raise
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def validate(model: keras.Model, validation: tf.data.Dataset) -> tuple[dict, int]:
    """Validation loss and accuracy in inference mode, and the number of clips they were taken on."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    losses, correct, count = [], 0, 0
    for waves, labels in validation:
        logits = model(waves, training=False)
        losses.append(np.asarray(loss_fn(labels, logits)))
        correct += int(np.sum(np.argmax(logits, axis=1) == np.asarray(labels)))
        count += len(labels)
    return {"val_loss": float(np.mean(np.concatenate(losses))), "val_accuracy": correct / count}, count


def standard_error(accuracy: float, clips: int) -> float:
    """The binomial standard error of an accuracy measured on ``clips`` clips."""
    return math.sqrt(accuracy * (1 - accuracy) / clips)


def kept_by_accuracy(entry: dict, top: dict, clips: int) -> bool:
    """Whether the epoch is kept: the latest epoch within one standard error of the highest
    validation accuracy so far (``top``, which may be the epoch itself).

    On a few dozen validation clips one clip is several points, and "the highest" is mostly
    which epoch the noise favoured: on the 440-clip instrument set it was epoch 4 of 30 while
    training accuracy went on rising. Epochs that validation cannot tell apart are settled in
    favour of the longer-trained one. On a large set the margin is a fraction of a point.
    """
    return entry["val_accuracy"] >= top["val_accuracy"] - standard_error(top["val_accuracy"], clips)


def better(entry: dict, best: dict | None) -> bool:
    """Higher validation accuracy wins; at equal accuracy, the lower validation loss."""
    if best is None:
        return True
    if entry["val_accuracy"] != best["val_accuracy"]:
        return entry["val_accuracy"] > best["val_accuracy"]
    return entry["val_loss"] < best.get("val_loss", np.inf)


def better_stream(entry: dict, best: dict | None) -> bool:
    """Fewer validation misses at the stream proxy's false-accept rate wins; then the lower loss."""
    if best is None:
        return True
    if entry["val_miss_at_fa"] != best["val_miss_at_fa"]:
        return entry["val_miss_at_fa"] < best["val_miss_at_fa"]
    return entry["val_loss"] < best["val_loss"]


def _why_kept(entry: dict, top: dict, clips: int) -> str:
    if entry["epoch"] == top["epoch"]:
        return "the highest so far"
    margin = standard_error(top["val_accuracy"], clips)
    return (
        f"within one standard error, {100 * margin:.1f} points on {clips} clips, "
        f"of the highest, epoch {top['epoch']}'s {top['val_accuracy']:.4f}"
    )


class EpochLog(keras.callbacks.Callback):
    """After every epoch: BatchNorm re-estimated on ``bn_batches`` (an iterator of training
    batches; None leaves the moving averages as they are), validation, then metrics.json,
    best.keras (the kept epoch, :func:`kept_by_accuracy`) and last.keras written atomically, and
    one log line.

    It fills ``val_loss``/``val_accuracy`` into the epoch's logs, so callbacks after it
    (progress bar, TensorBoard) show them: give ``fit`` no validation data of its own. With a
    ``stream_proxy`` (:class:`leaf_edge.negative_training.StreamProxy`) it also scores misses at a
    false-accept rate and keeps the best epoch by them as best-stream.keras.
    """

    def __init__(self, run: Path, metrics: dict, write: bool, validation, bn_batches=None, log=print,
                 stream_proxy=None):  # fmt: skip
        super().__init__()
        self.run, self.metrics, self.write, self.log = run, metrics, write, log
        self.validation, self.bn_batches, self.stream_proxy = validation, bn_batches, stream_proxy
        self.started = time.monotonic()

    def on_train_begin(self, logs=None):
        """After a kill between an epoch's backup and its files, do that epoch's bookkeeping now:
        the restored weights are the epoch's own, so nothing is trained again or lost."""
        logged = self.metrics["history"][-1]["epoch"] if self.metrics["history"] else 0
        backed_up = backed_up_epoch(self.run)
        if backed_up > logged:
            self.log(
                f"epoch {backed_up} was backed up but not yet logged when the run stopped: logging it now"
            )
            self.on_epoch_end(backed_up - 1, {})

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        reestimated = 0
        if self.bn_batches is not None:
            reestimated = reestimate_batchnorm(
                self.model, (next(self.bn_batches)[0] for _ in range(BN_BATCHES_PER_EPOCH))
            )
        scores, clips = validate(self.model, self.validation)
        logs.update(scores)
        if self.stream_proxy is not None:
            logs.update(self.stream_proxy.score(self.model))
        entry = {"epoch": epoch + 1, "seconds": round(time.monotonic() - self.started, 1)}
        entry.update({k: float(v) for k, v in logs.items()})
        entry["bn_reestimated_batches"] = reestimated
        self.metrics["history"] = [h for h in self.metrics["history"] if h["epoch"] <= epoch] + [entry]
        summary = {k: entry[k] for k in ("epoch", "val_accuracy", "val_loss")}
        if better(entry, self.metrics.get("top", self.metrics.get("best"))):
            self.metrics["top"] = summary
        top = self.metrics["top"]
        is_best = kept_by_accuracy(entry, top, clips)
        if is_best:
            self.metrics["best"] = summary
        stream_best = self.stream_proxy is not None and better_stream(entry, self.metrics.get("best_stream"))
        if stream_best:
            self.metrics["best_stream"] = {k: entry[k] for k in ("epoch", "val_miss_at_fa", "val_loss")}
        if self.write:
            if is_best:
                save_model(self.model, self.run / "best.keras")
            if stream_best:
                save_model(self.model, self.run / "best-stream.keras")
            save_model(self.model, self.run / "last.keras")
            write_json(self.run / "metrics.json", self.metrics)
        best = self.metrics["best"]
        self.log(
            f"epoch {epoch + 1}: validation accuracy {entry['val_accuracy']:.4f}"
            + (f" (BatchNorm re-estimated on {reestimated} training batches)" if reestimated else "")
            + (f" - kept as best.keras ({_why_kept(entry, top, clips)})" if is_best
               else f" - best.keras stays epoch {best['epoch']} ({best['val_accuracy']:.4f})")
            + (f"; misses {entry['val_miss_at_fa']:.4f} at {CHECKPOINT_FA_PER_HOUR:g} false accepts an hour"
               + (" - best so far, kept as best-stream.keras" if stream_best else "")
               if self.stream_proxy is not None else "")
        )  # fmt: skip

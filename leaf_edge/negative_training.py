"""Negative audio in training: hours with no keyword in them (``leaf-edge data negatives``).

``train --negatives DIR`` uses its training hours three ways:

- **background noise**: stretches of them join the noise augmentation's bank;
- **``_silence_`` windows**: a share of every batch is replaced by random clip-long windows of
  them, labelled ``_silence_`` (a background label: it never fires an event);
- **hard negatives**: every few epochs the model scores windows of them and the ones where it
  fires most fill a pool from which half of those windows are then drawn (microWakeWord and
  openWakeWord mine their false accepts the same way). The pool is saved in the run, so a
  resumed run goes on with it.

Its validation hours give each epoch a stream proxy: the share of validation keywords missed at
the threshold where windows of negative audio fire :data:`CHECKPOINT_FA_PER_HOUR` times an hour.
``--checkpoint-by stream`` keeps the epoch that misses least by it.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import soundfile as sf
import tensorflow as tf

from device.atomic import atomic_path
from leaf_edge.data.augment import random_windows
from leaf_edge.data.folders import DataError, read_audio
from leaf_edge.data.negatives import negative_files

BANK_HOURS = 1.0  # of the training hours held in memory, drawn from every file
BANK_SECONDS = 4.0  # the bank's stretches (at least two clips long)
NEGATIVE_SHARE = 0.15  # of every training batch: windows of the noise bank labelled _silence_
HARD_POOL = 1024  # windows kept by each mining
MINING_WINDOWS = 8192  # windows scored by each mining
MINE_EVERY = 5  # epochs; the first mining comes after a third of the epochs
VALIDATION_HOURS = 0.5  # of validation negative audio scored each epoch, in one-clip windows
CHECKPOINT_FA_PER_HOUR = 4.0
HARD_NEGATIVES_FILE = "hard_negatives.npz"  # the pool and the epoch it was mined after


def check_negative_folder(folder: str | Path) -> None:
    """A folder training can use: a manifest that splits it, with train and validation hours."""
    manifest = Path(folder) / "manifest.csv"
    if not manifest.is_file() or "split" not in manifest.read_text().partition("\n")[0].split(","):
        raise DataError(
            f"--negatives {folder}: no manifest.csv with a split column (make one with "
            "`leaf-edge data negatives`): training and validation must not share recordings"
        )
    for split in ("train", "validation"):
        negative_files(folder, split)  # a one-line error when a split is empty


def negative_bank(
    folder: str | Path, split: str, rate: int, hours: float, seconds: float, seed: int
) -> np.ndarray:
    """[rows, seconds * rate] stretches of a negative folder's ``split``, about ``hours`` of them,
    drawn evenly from every file (a few files would give little variety)."""
    files = negative_files(folder, split)
    total = sum(sf.info(str(path)).duration for path in files)
    length = int(seconds * rate)
    keep = min(1.0, hours * 3600 / max(total, 1e-9))
    rng = np.random.default_rng(seed)
    rows = []
    for path in files:
        audio = read_audio(path, rate)
        stretches = audio[: len(audio) // length * length].reshape(-1, length)
        rows.extend(stretches[rng.random(len(stretches)) < keep])
    if not rows:
        raise DataError(f"{folder}: no {split} recording is {seconds:g} s long")
    return np.stack(rows)


def mix_in_negatives(waves, labels, bank, hard_pool, silence: int, share: float = NEGATIVE_SHARE):
    """Replace a random ``share`` of the batch by windows labelled ``silence``, half of them from
    ``bank`` (the negative hours and the data set's background noise), half from the pool."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    windows = tf.where(
        (tf.random.uniform([batch]) < 0.5)[:, tf.newaxis],
        random_windows(hard_pool, batch, length),
        random_windows(bank, batch, length),
    )
    replace = tf.random.uniform([batch]) < share
    return tf.where(replace[:, tf.newaxis], windows, waves), tf.where(replace, silence, labels)


def draw_windows(bank: np.ndarray, count: int, length: int, seed: int) -> np.ndarray:
    """``count`` windows of ``length`` samples from random rows and offsets of ``bank``."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(bank), count)
    starts = rng.integers(0, bank.shape[1] - length + 1, count)
    return np.stack([bank[r, s : s + length] for r, s in zip(rows, starts, strict=True)])


def keyword_scores(model: keras.Model, windows: np.ndarray, background: list[int], batch_size: int = 64):
    """Each window's highest probability of a label that fires (not a background label)."""
    probs = tf.nn.softmax(model.predict(windows, batch_size=batch_size, verbose=0)).numpy()
    probs[:, background] = 0.0
    return probs.max(axis=1)


def hard_negative_pool(run: Path, bank: np.ndarray, length: int, seed: int) -> tuple[tf.Variable, int]:
    """The run's saved pool and the epoch it was mined after, or random windows of the bank and 0
    before the first mining. On the CPU: tf.data reads it there."""
    saved = run / HARD_NEGATIVES_FILE
    if saved.exists():
        with np.load(saved) as stored:
            windows, epoch = stored["windows"], int(stored["epoch"])
    else:
        windows, epoch = draw_windows(bank, HARD_POOL, length, seed), 0
    with tf.device("/CPU:0"):
        return tf.Variable(windows, trainable=False), epoch


class HardNegativeMiner(keras.callbacks.Callback):
    """Every :data:`MINE_EVERY` epochs from a third of the run on (never after the last), score
    :data:`MINING_WINDOWS` random windows of the bank and fill ``pool`` with those that fire most;
    the pool goes to RUN/hard_negatives.npz with its epoch. A run resumed after a kill that came
    between an epoch's backup and its mining mines again before it goes on."""

    def __init__(self, bank: np.ndarray, pool: tf.Variable, mined: int, background: list[int], epochs: int,
                 run: Path, write: bool, seed: int, done: int = 0, log=print):  # fmt: skip
        super().__init__()
        self.bank, self.pool, self.mined, self.background = bank, pool, mined, background
        self.epochs, self.run, self.write, self.seed, self.log = epochs, run, write, seed, log
        self.done = done  # epochs finished before this fit

    def on_train_begin(self, logs=None):  # after BackupAndRestore has put the weights back
        self.resume(self.done)

    def due(self, epoch: int) -> bool:
        start = max(1, self.epochs // 3)
        return start <= epoch < self.epochs and (epoch - start) % MINE_EVERY == 0

    def resume(self, done: int) -> None:
        """After ``done`` finished epochs: mine now if the last mining due by then is missing."""
        due = [e for e in range(1, done + 1) if self.due(e)]
        if due and self.mined < due[-1]:
            self.mine(due[-1])

    def on_epoch_end(self, epoch, logs=None):
        if self.due(epoch + 1):
            self.mine(epoch + 1)

    def mine(self, epoch: int) -> None:
        windows = draw_windows(self.bank, MINING_WINDOWS, self.pool.shape[1], self.seed + epoch)
        scores = keyword_scores(self.model, windows, self.background)
        top = np.argsort(-scores)[: self.pool.shape[0]]
        self.pool.assign(windows[top])
        self.mined = epoch
        if self.write:
            with atomic_path(self.run / HARD_NEGATIVES_FILE) as tmp, open(tmp, "wb") as f:
                np.savez(f, windows=windows[top], epoch=epoch)
        self.log(
            f"hard negatives after epoch {epoch}: {np.sum(scores >= 0.5)} of {MINING_WINDOWS} windows of "
            f"negative audio score a keyword >= 0.5; the {len(top)} highest (down to "
            f"{scores[top[-1]]:.3f}) are now half of the _silence_ windows trained on"
        )


class StreamProxy:
    """Misses at :data:`CHECKPOINT_FA_PER_HOUR` on validation: clip-long windows of validation
    negative audio stand for a stream's chances to fire, validation keyword clips for its words."""

    def __init__(self, negatives: np.ndarray, clips: np.ndarray, labels: np.ndarray, background: list[int],
                 rate: int):  # fmt: skip
        spoken = ~np.isin(labels, background)
        self.negatives, self.clips, self.labels = negatives, clips[spoken], labels[spoken]
        self.background = background
        self.hours = negatives.size / rate / 3600

    @classmethod
    def of(cls, folder, clips, labels, background: list[int], rate: int, clip_samples: int, seed: int):
        """Validation clips against :data:`VALIDATION_HOURS` of the folder's validation hours."""
        windows = negative_bank(folder, "validation", rate, VALIDATION_HOURS, clip_samples / rate, seed)
        return cls(windows, clips, labels, background, rate)

    def score(self, model: keras.Model) -> dict:
        """The miss rate at the threshold the negative windows allow, and that threshold."""
        allowed = int(CHECKPOINT_FA_PER_HOUR * self.hours)
        fired = np.sort(keyword_scores(model, self.negatives, self.background))[::-1]
        threshold = float(fired[allowed]) if allowed < len(fired) else 0.0
        probs = tf.nn.softmax(model.predict(self.clips, batch_size=64, verbose=0)).numpy()
        hit = (probs.argmax(axis=1) == self.labels) & (probs.max(axis=1) > threshold)
        return {"val_miss_at_fa": float(1 - hit.mean()), "val_stream_threshold": threshold}

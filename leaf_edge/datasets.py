"""The data a run trains and is judged on: its splits read, batched and augmented, and summarised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from leaf_edge.data.augment import add_context_words, augment_batch, cut_keywords, mixup
from leaf_edge.data.folders import DataError, DatasetIndex, LoadedSplit, load_split
from leaf_edge.negative_training import mix_in_negatives
from leaf_edge.runs import TrainConfig

if TYPE_CHECKING:
    from leaf_edge.recipe import WordLabels

# An epoch is at least this many steps: on a small set one pass is a handful of steps, too few
# for the per-epoch validation, checkpoint and learning-rate warm-up to mean anything.
MIN_STEPS_PER_EPOCH = 50


def load_data(config: TrainConfig, index: DatasetIndex, log=print):
    """Read the indexed data set's splits (and a held-out engine's), reporting unreadable files."""
    spec = config.spec
    splits = {s: load_split(index, s, spec.sample_rate, spec.clip_samples, config.seed) for s in index.files}
    for name, split in splits.items():
        if split.report():
            log(f"{name}: {split.report()}")
    if len(splits["train"].labels) < config.batch_size or not len(splits["validation"].labels):
        raise DataError(
            f"{config.data}: too little data ({len(splits['train'].labels)} training clips, "
            f"{len(splits['validation'].labels)} validation clips)"
        )
    log(
        f"labels: {', '.join(index.labels)}; clips: "
        + ", ".join(f"{s} {len(v.labels)}" for s, v in splits.items())
    )
    return splits


def steps_per_epoch(training_clips: int, batch_size: int) -> int:
    """One pass over the training split, but at least :data:`MIN_STEPS_PER_EPOCH` steps."""
    return max(training_clips // batch_size, MIN_STEPS_PER_EPOCH)


def training_dataset(
    split: LoadedSplit,
    config: TrainConfig,
    rooms,
    noise_bank,
    n_labels: int,
    alpha: float = 0.0,
    negatives: tuple | None = None,
    words: WordLabels | None = None,
) -> tf.data.Dataset:
    """Shuffled, batched, augmented on the fly, with one-hot targets (blended by mixup where it
    is on); repeats forever (steps per epoch are fixed). ``negatives`` (bank, hard-negative pool,
    silence label) replaces a share of every batch by windows of negative audio; ``words`` (the
    labels they need) turns on keyword fragments and context words where the recipe asks."""
    dataset = tf.data.Dataset.from_tensor_slices((split.waves, split.labels))
    dataset = dataset.shuffle(len(split.labels), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat().batch(config.batch_size, drop_remainder=True)

    def augment(waves, labels):
        rate, said = config.spec.sample_rate, labels
        if words is not None and config.augment.fragment_prob:
            waves, labels = cut_keywords(waves, labels, words.keywords, words.unknown, config.augment, rate)
        if words is not None and config.augment.context_prob:  # neighbours: unknown words, never fragments
            waves = add_context_words(waves, said, words.unknown, words.silence, config.augment, rate)
        if negatives is not None:
            waves, labels = mix_in_negatives(waves, labels, *negatives)
        waves = augment_batch(waves, config.augment, config.spec.sample_rate, rooms, noise_bank)
        targets = tf.one_hot(labels, n_labels)
        if alpha:
            waves, targets = mixup(waves, targets, alpha)
        return waves, targets

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2).with_options(options)


def evaluation_dataset(split: LoadedSplit, batch_size: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((split.waves, split.labels)).batch(batch_size)


def predictions(model: keras.Model, split: LoadedSplit, batch_size: int) -> np.ndarray:
    """The model's top class for every clip of a split."""
    logits = model.predict(evaluation_dataset(split, batch_size), verbose=0)
    return np.argmax(logits, axis=1)


def generator_summary(root: Path) -> dict:
    """A generated data set's speakers, seed and accent share (its ``dataset.json``), for the
    model's metadata."""
    generated = Path(root) / "dataset.json"
    if not generated.exists():
        return {}
    info = json.loads(generated.read_text())
    config = info.get("config", {})
    return {
        "generated": {
            "speakers": info.get("speakers"),
            "seed": config.get("seed"),
            "accent_share": config.get("accent_share", 0.0),
        }
    }


def data_summary(index: DatasetIndex, splits: dict[str, LoadedSplit]) -> dict:
    """What metrics.json (and the model's metadata) says of the data: labels, clips per split and
    label, unreadable files, and a generated set's speakers and seed."""
    return {
        "root": str(index.root),
        "labels": index.labels,
        "clips": {
            s: dict(
                zip(index.labels, np.bincount(v.labels, minlength=len(index.labels)).tolist(), strict=True)
            )
            for s, v in splits.items()
        },
        "unreadable": {s: len(v.problems) for s, v in splits.items()},
        **generator_summary(index.root),
    }

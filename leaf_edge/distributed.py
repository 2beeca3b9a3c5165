"""The training loop across hosts (MultiWorkerMirroredStrategy configured by TF_CONFIG).

Keras 3.15's ``fit`` cannot run under MultiWorkerMirroredStrategy: it reduces a per-replica
batch and then scalar metrics with ``axis=0`` across workers and fails (keras-team/keras#20585).
Across hosts the same model, optimizer, loss, data pipeline and epoch bookkeeping
(:class:`leaf_edge.checkpoints.EpochLog`) therefore run in this explicit loop; on one host ``fit``
is used, with or without MirroredStrategy.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from device.atomic import write_json


def strategy_for(distribute: bool) -> tf.distribute.Strategy:
    """The default strategy, or with ``distribute`` MirroredStrategy (MultiWorker under TF_CONFIG)."""
    if not distribute:
        return tf.distribute.get_strategy()
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (the chief, or worker 0 without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def fit_across_workers(model, strategy, train_data, steps, epochs, workdir: Path, epoch_log, log):
    """Train ``model`` (compiled in ``strategy.scope()``) for ``epochs``, resuming from backup/."""
    backup = workdir / "backup"
    backup.mkdir(exist_ok=True)
    weights, state = backup / "latest.weights.h5", backup / "epoch.json"
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)
    start = 0
    if state.exists():
        model.load_weights(weights)
        start = json.loads(state.read_text())["epoch"]
        log(f"resuming after epoch {start}")
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True, reduction=None)  # one-hot targets
    global_batch = train_data.element_spec[0].shape[0]
    iterator = iter(strategy.experimental_distribute_dataset(train_data))

    @tf.function
    def train_step(batch):
        def replica_step(waves, labels):
            with tf.GradientTape() as tape:
                logits = model(waves, training=True)
                loss = tf.nn.compute_average_loss(loss_fn(labels, logits), global_batch_size=global_batch)
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply(gradients, model.trainable_variables)
            correct = tf.reduce_sum(
                tf.cast(tf.argmax(logits, axis=1) == tf.argmax(labels, axis=1), tf.float32)
            )
            return loss, correct

        loss, correct = strategy.run(replica_step, args=batch)
        return strategy.reduce("SUM", loss, axis=None), strategy.reduce("SUM", correct, axis=None)

    epoch_log.set_model(model)
    for epoch in range(start, epochs):
        epoch_log.on_epoch_begin(epoch)
        started = time.monotonic()
        losses, corrects = zip(*(train_step(next(iterator)) for _ in range(steps)), strict=True)
        logs = {"loss": float(np.mean(losses)), "accuracy": float(np.sum(corrects) / (steps * global_batch))}
        epoch_log.on_epoch_end(epoch, logs)  # adds the validation metrics
        model.save_weights(weights)
        write_json(state, {"epoch": epoch + 1})
        log(f"epoch {epoch + 1}/{epochs} - {time.monotonic() - started:.0f}s - "
            + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))  # fmt: skip

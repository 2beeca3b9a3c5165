"""Training: a folder data set -> RUN/ (:mod:`leaf_edge.runs`) with the trained model, metrics
and logs; resumable.

Kill a run at any point and start the same command again: it continues from the last
finished epoch. The jobs around the loop live beside it: the data (:mod:`leaf_edge.datasets`),
the recipe's audio sources (:mod:`leaf_edge.recipe`), the strategy (:mod:`leaf_edge.distributed`),
the epoch bookkeeping (:mod:`leaf_edge.checkpoints`) and the final model (:mod:`leaf_edge.final_model`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import keras

from device.contract import BACKGROUND_LABELS, SILENCE, UNKNOWN, task_of
from leaf_edge.checkpoints import BACKUP_DIR, EpochLog, KillSafeBackup
from leaf_edge.classifiers import auto_classifier
from leaf_edge.datasets import data_summary, evaluation_dataset, load_data, steps_per_epoch, training_dataset
from leaf_edge.distributed import fit_across_workers, is_chief, is_multi_worker, strategy_for
from leaf_edge.final_model import finish
from leaf_edge.frontends import make_frontend
from leaf_edge.model import build_model, load_model, model_frontend
from leaf_edge.negative_training import HardNegativeMiner, StreamProxy, hard_negative_pool
from leaf_edge.recipe import (
    augmentation_sources,
    check_negative_options,
    keep_conversion_inputs,
    negative_audio,
    settle_speed,
    spec_augment_layer,
    word_labels,
)
from leaf_edge.run_files import CONVERSION_FILE
from leaf_edge.runs import TrainConfig, prepare_run, run_lock
from leaf_edge.warm_start import has_begun, load_source, settle_classifier, warm_start


def _compile(model: keras.Model, config: TrainConfig, steps_per_epoch: int) -> None:
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        warmup_target=config.learning_rate,
        warmup_steps=steps_per_epoch,
        decay_steps=max(1, steps_per_epoch * (config.epochs - 1)),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),  # one-hot (or mixed) targets
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )


def train(config: TrainConfig, run: str | os.PathLike, verbose: int | None = None, log=print) -> dict:
    """Train (or resume, or extend with more epochs) a run; returns the final metrics.

    ``verbose``: Keras' progress output; by default a bar on a terminal, a line per epoch in logs.
    """
    run = Path(run)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    # the strategy first: multi-worker collectives must exist before any op runs
    strategy = strategy_for(config.distribute)
    keras.utils.set_random_seed(config.seed)
    chief = is_chief(strategy)
    # Workers other than the chief train in step but keep their files to themselves.
    workdir = run if chief else Path(tempfile.mkdtemp(prefix="leaf-edge-worker-"))
    index = config.index()  # before the run folder exists: bad data or options leave nothing behind
    config = settle_speed(config, index)
    check_negative_options(config, index)
    words = word_labels(config, index)
    # checked before the run folder exists; a run that has begun resumes without it
    source = load_source(config) if config.init_from and not has_begun(run) else None
    config = settle_classifier(config, run, source)
    resuming = prepare_run(workdir, config)
    with run_lock(workdir):  # a second `train` on this folder refuses while this one runs
        previous = workdir / "metrics.json"
        metrics = json.loads(previous.read_text()) if previous.exists() else {"history": []}
        # the last epoch logged, not the count: a kill while an epoch was logged can lose its row
        done = metrics["history"][-1]["epoch"] if metrics["history"] else 0
        if resuming and (run / "model.keras").exists() and done >= config.epochs:
            log(f"{run} is already trained; metrics in {run / 'metrics.json'}")
            if chief and not (run / CONVERSION_FILE).exists():  # a run trained before they were kept
                keep_conversion_inputs(run, config, index, load_data(config, index, log), log)
            return metrics

        spec = config.spec
        splits = load_data(config, index, log)
        bank = negative_audio(config, log)
        rooms, noise_bank = augmentation_sources(config, index, log, bank)
        clips = len(splits["train"].labels)
        steps = steps_per_epoch(clips, config.batch_size)
        classifier = auto_classifier(clips) if config.classifier == "auto" else config.classifier
        alpha = config.augment.mixup
        background = [i for i, label in enumerate(index.labels) if label in BACKGROUND_LABELS]
        pool, mined = (
            (None, 0) if bank is None else hard_negative_pool(workdir, bank, spec.clip_samples, config.seed)
        )
        negatives = None if bank is None else (noise_bank, pool, index.labels.index(SILENCE))
        train_data = training_dataset(
            splits["train"], config, rooms, noise_bank, len(index.labels), alpha, negatives, words
        )
        why = f"chosen for {clips} training clips" if config.classifier == "auto" else "as set"
        log(
            f"{classifier} ({why}), {steps} steps an epoch "
            f"({steps * config.batch_size / clips:.1f} passes over the training clips)"
            + (f", mixup alpha {alpha:g}" if alpha else "")
        )
        augment = config.augment
        if augment.speed_prob:
            (low, high), files = augment.speed_range, len(index.files["train"])
            log(f"speed and pitch changed {low:g}-{high:g}x on {augment.speed_prob:.0%} of the clips "
                f"({task_of(index.labels)}, {files} training files; --speed-range changes it)")  # fmt: skip
        if augment.fragment_prob:
            low, high = augment.fragment_share
            log(f"keyword fragments: {augment.fragment_prob:.0%} of the keyword clips cut to the head or "
                f"tail of their word ({low:.0%}-{high:.0%} of it) and called {UNKNOWN}")  # fmt: skip
        if augment.context_prob:
            (low, high), share = augment.context_gap_ms, augment.context_prob
            log(f"context words: an unknown word {low:g}-{high:g} ms before the word of {share:.0%} of the "
                f"clips, and one after it of {share:.0%}")  # fmt: skip

        with strategy.scope():
            model = build_model(
                frontend=make_frontend(config.frontend, spec, config.gabor),
                classifier=classifier,
                labels=index.labels,
                spec_augment=spec_augment_layer(config),
            )
            if source is not None:
                warm_start(model, source, config.init_from, log)
            model_frontend(model).trainable = not config.freeze_frontend
            _compile(model, config, steps)
        initial_epoch = 0
        if done and (workdir / "last.keras").exists() and not (workdir / BACKUP_DIR).exists():
            # A finished run given more epochs (its backup/ went at the end): go on from its last
            # epoch, at the same schedule step. Once an extra epoch is done, backup/ resumes a kill.
            model.set_weights(load_model(workdir / "last.keras").get_weights())
            model.optimizer.iterations.assign(done * steps)
            initial_epoch = done
            log(f"extending the finished run from epoch {done} to {config.epochs}")

        metrics["classifier"] = classifier
        metrics["steps_per_epoch"] = steps
        metrics["data"] = data_summary(index, splits)
        validation = evaluation_dataset(splits["validation"], config.batch_size)
        multi_worker = is_multi_worker(strategy)
        # Across hosts every worker would have to re-estimate in step; there the moving averages stay.
        bn_batches = None if multi_worker else iter(train_data)
        proxy = None
        if bank is not None:
            validation_split = splits["validation"]
            proxy = StreamProxy.of(config.negatives, validation_split.waves, validation_split.labels,
                                   background, spec.sample_rate, spec.clip_samples, config.seed)  # fmt: skip
        epoch_log = EpochLog(workdir, metrics, chief, validation, bn_batches, log, proxy)
        if multi_worker:
            fit_across_workers(model, strategy, train_data, steps, config.epochs, workdir, epoch_log, log)
        else:
            miner = None
            if bank is not None:  # after EpochLog: it mines with re-estimated BatchNorm
                miner = HardNegativeMiner(
                    bank, pool, mined, background, config.epochs, workdir, chief, config.seed, done, log
                )
            callbacks = [
                # backup/ first: metrics.json names an epoch only once its backup is whole. A kill
                # while an epoch's files are written leaves the backup ahead of metrics.json, and
                # EpochLog writes that epoch's files at the rerun (see checkpoints).
                KillSafeBackup(workdir),
                epoch_log,  # before TensorBoard: it fills in the validation metrics
                *([miner] if miner else []),
                keras.callbacks.TensorBoard(str(workdir / "logs"), write_graph=False),
            ]
            model.fit(
                train_data,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                callbacks=callbacks,
                shuffle=False,  # the tf.data pipeline shuffles
                verbose=verbose,
            )
        if not chief:
            shutil.rmtree(workdir, ignore_errors=True)
            return metrics
        finished = finish(run, config, splits, train_data, metrics, log, proxy)
        keep_conversion_inputs(run, config, index, splits, log)
        return finished

"""Training: a folder data set -> RUN/ with the best model, metrics and logs; resumable.

RUN/ holds::

    config.json     the exact configuration (a rerun with other options is refused, except
                    more --epochs: that extends a run, finished or not)
    backup/         the last finished epoch (weights, optimizer, epoch), for resuming
    best.keras      the best epoch by validation accuracy, saved atomically
    last.keras      the last finished epoch, saved atomically
    model.keras     best.keras with BatchNorm statistics re-estimated: the trained model
    metrics.json    per-epoch history, final accuracies, data set summary
    conversion.npz  calibration sets and validation/test clips: the run converts without its
                    data set (leaf_edge.run_files)
    logs/           TensorBoard logs

Kill a run at any point and start the same command again: it continues from the last
finished epoch.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from device.atomic import write_json
from device.contract import BACKGROUND_LABELS, SILENCE, AudioSpec
from leaf_edge.checkpoints import EpochLog
from leaf_edge.classifiers import auto_classifier
from leaf_edge.data.augment import AugmentConfig, augment_batch, make_rooms, mixup
from leaf_edge.data.folders import (
    HELD_OUT,
    DataError,
    DatasetIndex,
    LoadedSplit,
    hold_out_engine,
    index_folder,
    load_split,
    read_audio,
)
from leaf_edge.data.words import BACKGROUND_NOISE
from leaf_edge.distributed import fit_across_workers, is_multi_worker
from leaf_edge.frontends import make_frontend
from leaf_edge.guards import dominant_class_warning
from leaf_edge.layers import SpecAugment
from leaf_edge.model import build_model, load_model, model_frontend, reestimate_batchnorm, save_model
from leaf_edge.negative_training import (
    BANK_HOURS,
    BANK_SECONDS,
    HardNegativeMiner,
    StreamProxy,
    check_negative_folder,
    hard_negative_pool,
    mix_in_negatives,
    negative_bank,
)
from leaf_edge.run_files import (
    CALIBRATION_CLIPS,
    CALIBRATION_DRAWS,
    CONVERSION_FILE,
    budget,
    write_conversion_inputs,
)

BN_REESTIMATION_BATCHES = 50
# An epoch is at least this many steps: on a small set one pass is a handful of steps, too few
# for the per-epoch validation, checkpoint and learning-rate warm-up to mean anything.
MIN_STEPS_PER_EPOCH = 50


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces."""

    data: str
    frontend: str = "leaf"
    gabor: str = "exact"
    classifier: str = "auto"  # efficientnet-b0, efficientnet-small, or auto (by training-set size)
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    keywords: tuple[str, ...] | None = None
    held_out_engine: str | None = None  # train without this engine's clips, test on them
    split_by: str = "auto"  # lists, speaker, file (see leaf_edge.data.folders.index_folder)
    validation_share: float = 0.1
    test_share: float = 0.1
    test_data: str | None = None  # a separate folder of test clips
    background: str | None = None  # a folder of recordings, or "noise": a _silence_ class from it
    negatives: str | None = None  # a `leaf-edge data negatives` folder (leaf_edge.negative_training)
    checkpoint_by: str = "accuracy"  # or "stream": misses at a false-accept rate (needs negatives)
    freeze_frontend: bool = False  # keep the frontend at its (mel-like) initialisation
    spec: AudioSpec = field(default_factory=AudioSpec)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    distribute: bool = False

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        values = dict(values)
        values["spec"] = AudioSpec(**values["spec"])
        augment = {k: tuple(v) if isinstance(v, list) else v for k, v in values["augment"].items()}
        values["augment"] = AugmentConfig(**augment)
        if values.get("keywords") is not None:
            values["keywords"] = tuple(values["keywords"])
        return cls(**values)

    def index(self, data: str | os.PathLike | None = None) -> DatasetIndex:
        """A data set (by default the run's) as this run sees it: its keywords, and the held-out
        engine's clips moved to their own split."""
        index = index_folder(
            data or self.data, self.keywords, self.split_by, self.validation_share, self.test_share,
            self.test_data if data is None or Path(data).resolve() == Path(self.data) else None,
            self.background,
        )  # fmt: skip
        return hold_out_engine(index, self.held_out_engine) if self.held_out_engine else index


def prepare_run(run: Path, config: TrainConfig) -> bool:
    """Create RUN/ or check it belongs to this configuration. True when resuming."""
    config_path = run / "config.json"
    if config_path.exists():
        previous = TrainConfig.from_dict(json.loads(config_path.read_text())).to_dict()
        changed = sorted(k for k in previous if previous[k] != config.to_dict().get(k))
        if changed == ["epochs"] and config.epochs > previous["epochs"]:
            write_json(config_path, config.to_dict())  # more epochs: the run goes on
            return True
        if changed:
            raise DataError(
                f"{run} was started with other options ({', '.join(changed)} differ); "
                "rerun with the same options to resume, or choose another --out"
            )
        return True
    if run.exists() and any(run.iterdir()):
        raise DataError(f"{run} exists, is not empty and is not a leaf-edge run")
    run.mkdir(parents=True, exist_ok=True)
    write_json(config_path, config.to_dict())
    return False


def _strategy(config: TrainConfig) -> tf.distribute.Strategy:
    if not config.distribute:
        return tf.distribute.get_strategy()
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy()


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def training_dataset(
    split: LoadedSplit,
    config: TrainConfig,
    rooms,
    noise_bank,
    n_labels: int,
    alpha: float = 0.0,
    negatives: tuple | None = None,
) -> tf.data.Dataset:
    """Shuffled, batched, augmented on the fly, with one-hot targets (blended by mixup where it
    is on); repeats forever (steps per epoch are fixed). ``negatives`` (bank, hard-negative pool,
    silence label) replaces a share of every batch by windows of negative audio."""
    dataset = tf.data.Dataset.from_tensor_slices((split.waves, split.labels))
    dataset = dataset.shuffle(len(split.labels), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat().batch(config.batch_size, drop_remainder=True)

    def augment(waves, labels):
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


def augmentation_sources(
    config: TrainConfig, index, log=None, negative_bank: np.ndarray | None = None
) -> tuple[tf.Tensor | None, tf.Tensor | None]:
    """The recipe's room impulse responses and background-noise bank (None where off or absent).
    With a bank of negative audio, the noise bank is that bank plus the background noise cut to
    its stretches' length, noise augmentation or not: the _silence_ windows come from it."""
    spec, augment = config.spec, config.augment
    rooms = None
    if augment.room_prob:
        rooms = tf.constant(make_rooms(augment.rooms, spec.sample_rate, config.seed))
    if not augment.noise_prob and negative_bank is None:
        return rooms, None
    noises = [read_audio(path, spec.sample_rate) for path in index.background]
    noises = [n for n in noises if len(n) >= spec.clip_samples]
    if negative_bank is not None:
        length = negative_bank.shape[1]
        cut = [n[: len(n) // length * length].reshape(-1, length) for n in noises if len(n) >= length]
        return rooms, tf.constant(np.concatenate([negative_bank, *cut]))
    if not noises:
        if log:
            log(
                f"warning: noise augmentation is on but {index.root} has no {BACKGROUND_NOISE}/ files "
                "at least a clip long (nor does --background give any): training goes on without noise"
            )
        return rooms, None
    length = min(len(n) for n in noises)
    return rooms, tf.constant(np.stack([n[:length] for n in noises]))


def recipe_calibrations(config: TrainConfig, train: LoadedSplit, rooms, noise_bank, draws: int, count: int):
    """``draws`` sets of ``count`` training clips as training saw them (the run's own augmentation
    recipe; draw ``d`` is seeded with the run's seed + ``d``, so every set is the same every time).

    int8 ranges fitted to clean clips alone clip the louder, noisier and reverberant inputs a
    microphone brings; measured on the shipped run: pink noise at 0 dB 74 -> 80 %, music 65 -> 69 %,
    clean within calibration spread.
    """
    for draw in range(draws):
        seed = config.seed + draw
        pick = np.random.default_rng(seed).permutation(len(train.waves))[:count]
        tf.random.set_seed(seed)
        clips = tf.constant(train.waves[pick])
        yield augment_batch(clips, config.augment, config.spec.sample_rate, rooms, noise_bank).numpy()


def keep_conversion_inputs(run: Path, config: TrainConfig, index: DatasetIndex, splits, log=print) -> None:
    """``RUN/conversion.npz`` (:mod:`leaf_edge.run_files`): the calibration sets and the validation
    and test clips, so that the run converts without its data set."""
    sizes = {name: len(splits[name].labels) for name in ("validation", "test")}
    per_draw, kept = budget(config.spec.clip_samples, CALIBRATION_DRAWS, CALIBRATION_CLIPS, sizes)
    rooms, noise_bank = augmentation_sources(config, index)
    draws = recipe_calibrations(config, splits["train"], rooms, noise_bank, CALIBRATION_DRAWS, per_draw)
    calibration = np.stack(list(draws))
    tested = {name: (splits[name].waves, splits[name].labels) for name in sizes}
    path = write_conversion_inputs(run, calibration, tested, config.seed)
    log(
        f"kept for conversion in {path}: {CALIBRATION_DRAWS} calibration sets of {calibration.shape[1]} "
        "clips, " + ", ".join(f"{kept[n]} of {sizes[n]} {n} clips" for n in sizes)
    )


def generator_summary(root: Path) -> dict:
    """A generated data set's speakers and seed (its ``dataset.json``), for the model's metadata."""
    generated = Path(root) / "dataset.json"
    if not generated.exists():
        return {}
    info = json.loads(generated.read_text())
    return {"generated": {"speakers": info.get("speakers"), "seed": info.get("config", {}).get("seed")}}


def check_negative_options(config: TrainConfig, index: DatasetIndex) -> None:
    """Refuse ``--negatives``/``--checkpoint-by`` combinations that cannot work, before RUN/ exists."""
    if config.negatives is None and config.checkpoint_by == "stream":
        raise DataError("--checkpoint-by stream needs --negatives DIR (its validation hours)")
    if config.negatives is not None and SILENCE not in index.labels:
        raise DataError(f"--negatives needs a {SILENCE} class to label them: give --background too")
    if config.negatives is not None and config.distribute:
        raise DataError("--negatives does not run with --distribute yet")
    if config.negatives is not None:
        check_negative_folder(config.negatives)


def negative_audio(config: TrainConfig, log=print) -> np.ndarray | None:
    """The bank of negative training audio ``--negatives`` gives (None without it)."""
    if config.negatives is None:
        return None
    spec = config.spec
    seconds = max(BANK_SECONDS, 2 * spec.clip_seconds)  # stretches hold a clip at any offset
    bank = negative_bank(config.negatives, "train", spec.sample_rate, BANK_HOURS, seconds, config.seed)
    log(
        f"negative audio: {bank.size / spec.sample_rate / 3600:.2f} h of {config.negatives}'s training "
        f"hours as background noise and as {SILENCE} windows, with hard negatives mined every few epochs"
    )
    return bank


def _spec_augment(config: TrainConfig) -> SpecAugment | None:
    """The training-only feature layer: masking and/or the formant warp, or None when both are off."""
    augment, spec = config.augment, config.spec
    if not augment.spec_augment and not augment.warp:
        return None
    masks = 2 if augment.spec_augment else 0
    return SpecAugment(freq_masks=masks, time_masks=masks, warp=augment.warp,
                       min_freq=spec.min_freq, max_freq=spec.max_freq)  # fmt: skip


def steps_per_epoch(training_clips: int, batch_size: int) -> int:
    """One pass over the training split, but at least :data:`MIN_STEPS_PER_EPOCH` steps."""
    return max(training_clips // batch_size, MIN_STEPS_PER_EPOCH)


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


def train(config: TrainConfig, run: str | os.PathLike, verbose: int | None = None, log=print) -> dict:
    """Train (or resume, or extend with more epochs) a run; returns the final metrics.

    ``verbose``: Keras' progress output; by default a bar on a terminal, a line per epoch in logs.
    """
    run = Path(run)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    strategy = _strategy(config)  # first: multi-worker collectives must exist before any op runs
    keras.utils.set_random_seed(config.seed)
    chief = _is_chief(strategy)
    # Workers other than the chief train in step but keep their files to themselves.
    workdir = run if chief else Path(tempfile.mkdtemp(prefix="leaf-edge-worker-"))
    index = config.index()  # before the run folder exists: bad data or options leave nothing behind
    check_negative_options(config, index)
    resuming = prepare_run(workdir, config)
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
        splits["train"], config, rooms, noise_bank, len(index.labels), alpha, negatives
    )
    why = f"chosen for {clips} training clips" if config.classifier == "auto" else "as asked"
    log(
        f"{classifier} ({why}), {steps} steps an epoch "
        f"({steps * config.batch_size / clips:.1f} passes over the training clips)"
        + (f", mixup alpha {alpha:g}" if alpha else "")
    )

    with strategy.scope():
        model = build_model(
            frontend=make_frontend(config.frontend, spec, config.gabor),
            classifier=classifier,
            labels=index.labels,
            spec_augment=_spec_augment(config),
        )
        model_frontend(model).trainable = not config.freeze_frontend
        _compile(model, config, steps)
    initial_epoch = 0
    if done and (workdir / "last.keras").exists() and not (workdir / "backup").exists():
        # A finished run given more epochs (its backup/ went at the end): go on from its last
        # epoch, at the same schedule step. Once an extra epoch is done, backup/ resumes a kill.
        model.set_weights(load_model(workdir / "last.keras").get_weights())
        model.optimizer.iterations.assign(done * steps)
        initial_epoch = done
        log(f"extending the finished run from epoch {done} to {config.epochs}")

    metrics["classifier"] = classifier
    metrics["steps_per_epoch"] = steps
    metrics["data"] = {
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
        callbacks = [
            # backup/ first: metrics.json names an epoch only once its backup is whole, so a kill
            # never leaves a half-written backup behind a finished epoch
            keras.callbacks.BackupAndRestore(str(workdir / "backup"), double_checkpoint=True),
            epoch_log,  # before TensorBoard: it fills in the validation metrics
            *(
                [
                    HardNegativeMiner(
                        bank, pool, mined, background, config.epochs, workdir, chief, config.seed, done, log
                    )
                ]
                if bank is not None
                else []
            ),  # after EpochLog: it mines with re-estimated BatchNorm  # fmt: skip
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


def predictions(model: keras.Model, split: LoadedSplit, batch_size: int) -> np.ndarray:
    """The model's top class for every clip of a split."""
    logits = model.predict(evaluation_dataset(split, batch_size), verbose=0)
    return np.argmax(logits, axis=1)


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
            else "best validation accuracy"
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

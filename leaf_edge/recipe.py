"""What a run's augmentation recipe draws from (rooms, background noise, negative audio), and
the calibration sets drawn through it that the run keeps for conversion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from device.contract import SILENCE, UNKNOWN, task_of
from leaf_edge.classifiers import SMALL_SET_CLIPS
from leaf_edge.data.augment import SMALL_SET_SPEED, SPEECH_SPEED, augment_batch, make_rooms
from leaf_edge.data.folders import DataError, DatasetIndex, LoadedSplit, read_audio
from leaf_edge.data.words import BACKGROUND_NOISE
from leaf_edge.layers import SpecAugment
from leaf_edge.negative_training import BANK_HOURS, BANK_SECONDS, check_negative_folder, negative_bank
from leaf_edge.run_files import CALIBRATION_CLIPS, CALIBRATION_DRAWS, budget, write_conversion_inputs
from leaf_edge.runs import TrainConfig


def default_speed(task: str, training_files: int) -> tuple[tuple[float, float], float]:
    """The speed augmentation's range and share of clips for a task and training-set size:
    :data:`SMALL_SET_SPEED` for fewer than :data:`SMALL_SET_CLIPS` clips of sounds other than
    keywords, else :data:`SPEECH_SPEED`."""
    return SMALL_SET_SPEED if task != "keywords" and training_files < SMALL_SET_CLIPS else SPEECH_SPEED


def settle_speed(config: TrainConfig, index: DatasetIndex) -> TrainConfig:
    """``config`` with the speed range and share that the command line left open (None) set
    by :func:`default_speed` for the data set's task and training files."""
    augment = config.augment
    speed_range, speed_prob = default_speed(task_of(index.labels), len(index.files["train"]))
    settled = dataclasses.replace(
        augment,
        speed_range=speed_range if augment.speed_range is None else augment.speed_range,
        speed_prob=speed_prob if augment.speed_prob is None else augment.speed_prob,
    )
    return dataclasses.replace(config, augment=settled)


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


@dataclasses.dataclass(frozen=True)
class WordLabels:
    """The label numbers that word augmentations (context words, keyword fragments) need."""

    unknown: int
    silence: int  # -1: the data set has no _silence_ class
    keywords: tuple[int, ...]


def word_labels(config: TrainConfig, index: DatasetIndex) -> WordLabels | None:
    """The labels for ``--context-words`` and ``--keyword-fragments``; None when both are off. A
    data set without an ``_unknown_`` class has no words to put around the clips' and nothing to
    call a fragment: a one-line error."""
    options = {
        "--context-words": config.augment.context_prob,
        "--keyword-fragments": config.augment.fragment_prob,
    }
    asked = [name for name, prob in options.items() if prob]
    if not asked:
        return None
    if UNKNOWN not in index.labels:
        raise DataError(f"{' and '.join(asked)}: the data set needs an {UNKNOWN} class, the words they use")
    keywords = tuple(i for i, label in enumerate(index.labels) if label not in (UNKNOWN, SILENCE))
    silence = index.labels.index(SILENCE) if SILENCE in index.labels else -1
    return WordLabels(index.labels.index(UNKNOWN), silence, keywords)


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


def spec_augment_layer(config: TrainConfig) -> SpecAugment | None:
    """The training-only feature layer: masking and/or the formant warp, or None when both are off."""
    augment, spec = config.augment, config.spec
    if not augment.spec_augment and not augment.warp:
        return None
    masks = 2 if augment.spec_augment else 0
    return SpecAugment(freq_masks=masks, time_masks=masks, warp=augment.warp,
                       min_freq=spec.min_freq, max_freq=spec.max_freq)  # fmt: skip

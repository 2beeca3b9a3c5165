"""Negative audio in training: _silence_ windows, hard-negative mining, the stream proxy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import soundfile as sf
import tensorflow as tf

from leaf_edge.negative_training import (
    HARD_NEGATIVES_FILE,
    HardNegativeMiner,
    StreamProxy,
    hard_negative_pool,
    mix_in_negatives,
    negative_bank,
)
from tests.test_train import run_cli

RATE = 16000


def negative_folder(root: Path, recordings: dict[str, list[np.ndarray]], rate: int = RATE) -> Path:
    """A folder laid out as `leaf-edge data negatives` writes it: FLAC files and a manifest."""
    rows = []
    for split, waves in recordings.items():
        for i, wave in enumerate(waves):
            path = Path(split) / f"rec-{i}.flac"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, wave, rate)
            rows.append({"path": str(path), "split": split, "seconds": len(wave) / rate})
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "seconds"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def loudness_model(length: int) -> keras.Model:
    """Labels [keyword, _silence_, _unknown_]: the keyword's logit grows with the window's power,
    so loud windows fire and quiet ones do not."""
    audio = keras.Input((length,))
    power = keras.layers.Lambda(lambda x: tf.reduce_mean(tf.square(x), axis=1, keepdims=True))(audio)
    logits = keras.layers.Lambda(lambda p: tf.concat([1000.0 * p - 5.0, 0 * p, 0 * p], axis=1))(power)
    return keras.Model(audio, logits)


def test_a_share_of_the_batch_becomes_negative_windows_labelled_silence():
    waves = tf.zeros([64, 100])
    labels = tf.zeros([64], tf.int32)
    bank = tf.fill([5, 400], 0.1)
    pool = tf.fill([7, 100], -0.2)
    mixed, relabelled = mix_in_negatives(waves, labels, bank, pool, silence=3, share=1.0)
    levels = {round(float(v), 3) for v in mixed.numpy()[:, 0]}
    assert levels == {0.1, -0.2}  # both the bank and the hard-negative pool are drawn from
    assert np.all(np.ptp(mixed.numpy(), axis=1) == 0)  # every window comes whole from one row
    assert np.all(relabelled.numpy() == 3)
    kept, same = mix_in_negatives(waves, labels, bank, pool, silence=3, share=0.0)
    assert np.array_equal(kept, waves) and np.array_equal(same, labels)


def test_the_bank_draws_stretches_from_every_file_the_same_way_each_time(tmp_path):
    files = [np.full(RATE * 40, level, np.float32) for level in (0.1, 0.2, 0.3)]
    folder = negative_folder(tmp_path / "neg", {"train": files, "validation": [files[0][: RATE * 4]]})
    bank = negative_bank(folder, "train", RATE, hours=60 / 3600, seconds=2.0, seed=0)
    assert bank.shape[1] == 2 * RATE and 10 <= len(bank) <= 50  # about a minute of the two
    assert {round(float(v), 3) for v in bank[:, 0]} == {0.1, 0.2, 0.3}
    assert np.array_equal(bank, negative_bank(folder, "train", RATE, 60 / 3600, 2.0, seed=0))
    assert len(negative_bank(folder, "validation", RATE, 1.0, 1.0, seed=0)) == 4


def test_mining_fills_the_pool_with_the_windows_the_model_fires_on(tmp_path):
    length = 100
    rng = np.random.default_rng(0)
    bank = np.concatenate([np.full((40, 400), 0.5), np.full((360, 400), 0.001)]).astype(np.float32)
    bank *= rng.choice([-1, 1], bank.shape)
    pool = tf.Variable(np.zeros((32, length), np.float32))
    lines = []
    miner = HardNegativeMiner(bank, pool, 0, background=[1, 2], epochs=30, run=tmp_path, write=True, seed=0,
                              log=lines.append)  # fmt: skip
    miner.set_model(loudness_model(length))
    assert [e for e in range(1, 31) if miner.due(e)] == [10, 15, 20, 25]
    miner.on_epoch_end(3)  # not due: nothing changes
    assert not np.any(pool.numpy()) and not lines
    miner.on_epoch_end(9)  # epoch 10
    assert np.allclose(np.abs(pool.numpy()), 0.5)  # 10 % of the windows are loud: all 32 kept are
    saved = np.load(tmp_path / HARD_NEGATIVES_FILE)
    assert np.array_equal(saved["windows"], pool.numpy()) and saved["epoch"] == 10
    assert "hard negatives after epoch 10:" in lines[0] and "the 32 highest" in lines[0]

    # resumed after epoch 16 from a pool mined after epoch 10: the mining due after 15 is redone
    resumed, mined = hard_negative_pool(tmp_path, bank, length, seed=0)
    assert mined == 10 and np.array_equal(resumed.numpy(), pool.numpy())
    again = HardNegativeMiner(bank, resumed, mined, [1, 2], 30, tmp_path, True, 0, done=16, log=lines.append)
    again.set_model(loudness_model(length))
    again.on_train_begin()
    assert np.load(tmp_path / HARD_NEGATIVES_FILE)["epoch"] == 15 and "after epoch 15" in lines[-1]
    again.on_train_begin()  # nothing missing now
    assert len(lines) == 2


def test_a_mined_pool_reaches_the_batches_being_trained_on():
    from leaf_edge.data.augment import AugmentConfig
    from leaf_edge.data.folders import LoadedSplit
    from leaf_edge.datasets import training_dataset
    from leaf_edge.runs import TrainConfig

    split = LoadedSplit(np.zeros((64, RATE), np.float32), np.zeros(64, np.int32), [], [None] * 64)
    config = TrainConfig(data="unused", batch_size=32, augment=AugmentConfig.off())
    bank = tf.constant(np.full((4, 2 * RATE), 0.25, np.float32))
    pool, _ = hard_negative_pool(Path("/nonexistent"), np.full((4, 2 * RATE), -0.25, np.float32), RATE, 0)
    batches = iter(training_dataset(split, config, None, bank, 3, negatives=(bank, pool, 1)))
    levels = {round(float(w[0]), 2) for waves, _ in (next(batches) for _ in range(4)) for w in waves.numpy()}
    assert levels == {0.0, 0.25, -0.25}
    pool.assign(np.full(pool.shape, 0.5, np.float32))  # a mining
    for _ in range(4):  # what tf.data had prefetched
        next(batches)
    levels = {round(float(w[0]), 2) for waves, _ in (next(batches) for _ in range(4)) for w in waves.numpy()}
    assert levels == {0.0, 0.25, 0.5}


def test_the_stream_proxy_misses_what_a_hand_count_misses():
    rate, length = 100, 100  # one-second windows at 100 Hz: 900 windows are a quarter of an hour
    negatives = np.full((900, length), 0.001, np.float32)
    negatives[:3] = np.array([0.09, 0.08, 0.07])[:, None]  # 3 windows fire, 1 is allowed at 4 an hour
    clips = np.array([0.2, 0.085, 0.075, 0.05, 0.3], np.float32)[:, None] * np.ones(length, np.float32)
    labels = np.array([0, 0, 0, 0, 1])  # the last is a _silence_ clip: not a word to detect
    proxy = StreamProxy(negatives, clips, labels, background=[1, 2], rate=rate)
    scores = proxy.score(loudness_model(length))
    model_probs = tf.nn.softmax([[1000 * 0.08**2 - 5, 0, 0]]).numpy()[0, 0]
    assert np.isclose(scores["val_stream_threshold"], model_probs)
    assert scores["val_miss_at_fa"] == 0.5  # 0.085 and 0.2 score above the threshold, 0.075 and 0.05 not


def test_training_with_negatives_mines_scores_and_keeps_the_stream_best(tiny_keywords, tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(RATE * 20) / RATE
    music = (0.2 * np.sin(2 * np.pi * 440 * t * (1 + 0.1 * np.sin(t)))).astype(np.float32)
    noise = (0.05 * rng.standard_normal(RATE * 20)).astype(np.float32)
    folder = negative_folder(tmp_path / "neg", {"train": [music, noise], "validation": [noise[: RATE * 10]]})
    run = tmp_path / "run"
    args = ["train", tiny_keywords, "--out", run, "--frontend", "mel", "--batch-size", "8", "--no-rooms",
            "--no-noise", "--epochs", "2", "--negatives", folder, "--checkpoint-by", "stream"]  # fmt: skip
    result = run_cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "negative audio: 0.01 h" in result.stdout and "hard negatives after epoch 1:" in result.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(0 <= h["val_miss_at_fa"] <= 1 for h in metrics["history"])
    assert metrics["final"]["best_epoch"] == metrics["best_stream"]["epoch"]
    assert "fewest validation misses" in result.stdout
    assert (run / "best-stream.keras").exists() and np.load(run / HARD_NEGATIVES_FILE)["windows"].shape == (
        1024,
        RATE,
    )


def test_negative_options_that_cannot_work_are_one_line_errors(tiny_keywords, tmp_path):
    result = run_cli("train", tiny_keywords, "--out", tmp_path / "a", "--checkpoint-by", "stream")
    assert result.returncode == 1 and "needs --negatives" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "a").exists()
    unsplit = tmp_path / "recordings"
    unsplit.mkdir()
    sf.write(unsplit / "rain.flac", np.zeros(RATE * 5, np.float32), RATE)
    result = run_cli("train", tiny_keywords, "--out", tmp_path / "b", "--negatives", unsplit)
    assert result.returncode == 1 and "no manifest.csv with a split column" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "b").exists()

"""Augmentation on batches of waveforms and on features."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from leaf_edge.data.augment import (
    AugmentConfig,
    add_babble,
    add_context_words,
    add_noise,
    augment_batch,
    cut_keywords,
    equalise,
    make_rooms,
    mixup,
    reverberate,
    speech_bounds,
    speed_and_shift,
)
from leaf_edge.data.folders import DatasetIndex
from leaf_edge.layers import SpecAugment
from leaf_edge.recipe import WordLabels, settle_speed
from leaf_edge.runs import TrainConfig

RATE = 16000


def tones(batch=8):
    t = np.arange(RATE) / RATE
    envelope = np.exp(-(((t - 0.5) / 0.1) ** 2))
    return tf.constant(np.stack([0.5 * envelope * np.sin(2 * np.pi * 500 * t)] * batch), tf.float32)


def test_everything_off_is_the_identity():
    x = tones()
    np.testing.assert_allclose(augment_batch(x, AugmentConfig.off(), RATE).numpy(), x.numpy(), atol=1e-6)


def test_speed_and_shift_move_the_sound_and_change_its_pitch():
    x = tones(64)
    config = dataclasses.replace(AugmentConfig(), speed_prob=1.0, speed_range=(1.1, 1.1), shift_ms=0)
    faster = speed_and_shift(x, config, RATE).numpy()
    spectrum = np.abs(np.fft.rfft(faster[0]))
    assert abs(np.fft.rfftfreq(RATE, 1 / RATE)[spectrum.argmax()] - 550) < 5
    config = dataclasses.replace(AugmentConfig(), speed_prob=0.0, shift_ms=100)
    centres = [np.argmax(np.abs(w)) for w in speed_and_shift(x, config, RATE).numpy()]
    assert max(centres) - min(centres) > 400 and all(abs(c - 8000) <= 1700 for c in centres)


def test_rooms_are_causal_and_start_with_the_direct_path():
    rooms = make_rooms(6, RATE, seed=1)
    assert rooms.shape == (6, RATE // 2)
    assert np.all(rooms[:, 0] == 1.0) and np.isfinite(rooms).all()
    assert np.all(np.abs(rooms[:, 1:]).max(axis=1) < 1.0)
    x = tones()
    wet = reverberate(x, tf.constant(rooms), prob=1.0).numpy()
    assert wet.shape == x.shape
    np.testing.assert_allclose(np.abs(wet).max(axis=1), np.abs(x.numpy()).max(axis=1), rtol=1e-5)
    assert np.all(np.abs(wet - x.numpy()).max(axis=1) > 1e-3)


def test_noise_is_mixed_at_the_asked_snr():
    x = tones(200)
    bank = tf.constant(np.random.default_rng(0).normal(0, 0.3, (3, 3 * RATE)), tf.float32)
    config = dataclasses.replace(AugmentConfig(), noise_prob=1.0, snr_db=(10.0, 10.0))
    noisy = add_noise(x, bank, config).numpy()
    noise = noisy - x.numpy()
    snr = 10 * np.log10(np.mean(x.numpy() ** 2, axis=1) / np.mean(noise**2, axis=1))
    np.testing.assert_allclose(snr, 10.0, atol=0.1)


def test_the_equaliser_is_smooth_bounded_and_keeps_time():
    tf.random.set_seed(0)
    noise = tf.constant(np.random.default_rng(0).normal(0, 0.1, (16, RATE)), tf.float32)
    config = dataclasses.replace(AugmentConfig(), eq_prob=1.0, eq_db=10.0)
    out = equalise(noise, config, RATE).numpy()
    edges = np.geomspace(100, 7900, 41).astype(int)  # 1 Hz bins: 40 bands of 0.16 octave

    def band_power(x):
        power = np.abs(np.fft.rfft(x, axis=1)) ** 2
        return np.stack(
            [power[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=1
        )

    gain_db = 10 * np.log10(band_power(out) / band_power(noise.numpy()))
    assert np.abs(gain_db).max() < 10.5 and np.abs(gain_db).max(axis=1).mean() > 2.0
    assert np.abs(np.diff(gain_db, axis=1)).max() < 3.0  # a smooth curve, not a random comb
    assert len({round(float(row[20]), 1) for row in gain_db}) >= 12  # each clip its own curve
    click = np.zeros((1, RATE), np.float32)
    click[0, RATE // 2] = 1.0
    response = equalise(tf.constant(click), config, RATE).numpy()[0]
    assert np.argmax(np.abs(response)) == RATE // 2  # zero phase: nothing moves in time
    off = equalise(noise, dataclasses.replace(config, eq_prob=0.0), RATE).numpy()
    np.testing.assert_allclose(off, noise.numpy(), atol=1e-5)


def test_full_augmentation_stays_in_range_and_varies():
    x = tones(32)
    bank = tf.constant(np.random.default_rng(0).normal(0, 0.3, (2, 2 * RATE)), tf.float32)
    out = augment_batch(x, AugmentConfig(), RATE, tf.constant(make_rooms(4, RATE, 0)), bank).numpy()
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
    assert len({round(float(np.abs(w).max()), 4) for w in out}) > 20


def test_spec_augment_masks_only_in_training():
    layer = SpecAugment(freq_masks=2, freq_width=5, time_masks=2, time_width=10)
    features = tf.random.uniform([16, 100, 40], 1.0, 2.0)
    np.testing.assert_array_equal(layer(features, training=False).numpy(), features.numpy())
    masked = layer(features, training=True).numpy()
    changed = masked != features.numpy()
    assert changed.any()
    assert changed.mean() < 0.5


def test_every_seed_gets_its_rooms():
    """Seed 1 once drew an RT60 too short for its room size and failed the whole training run."""
    rooms = make_rooms(AugmentConfig().rooms, RATE, seed=1)
    assert rooms.shape[0] == AugmentConfig().rooms and np.all(rooms[:, 0] == 1.0)


def test_formant_warp_moves_the_spectral_envelope_within_its_range():
    """A peak in one channel moves, per example, by a factor within 1 +- warp, in Hz."""
    warp, channels, peak = 0.15, 40, 20
    layer = SpecAugment(freq_masks=0, time_masks=0, warp=warp, min_freq=60.0, max_freq=7800.0)
    features = np.zeros([256, 3, channels], np.float32)
    features[:, :, peak] = 1.0
    tf.random.set_seed(0)
    out = layer(tf.constant(features), training=True).numpy()[:, 0]
    assert out.shape == (256, channels)
    # Channel centres from TF's own mel matrix on a 1 Hz grid, independent of the layer's formula.
    mel = tf.signal.linear_to_mel_weight_matrix(channels, 8001, 16000, 60.0, 7800.0).numpy()
    centres = mel.argmax(axis=0).astype(float)
    moved = np.interp(out @ np.arange(channels) / out.sum(axis=1), np.arange(channels), centres)
    ratio = moved / centres[peak]
    assert ratio.min() > 1 - warp - 0.02 and ratio.max() < 1 + warp + 0.02
    assert ratio.min() < 1 - warp / 2 and ratio.max() > 1 + warp / 2  # examples differ
    np.testing.assert_array_equal(layer(tf.constant(features), training=False).numpy(), features)


def test_babble_mixes_other_clips_of_the_batch_at_the_snr():
    """Each clip gets three other clips of the batch (here: tones) 10 dB below it, never itself;
    a silent clip gets none, and a probability of 0 changes nothing."""
    t = np.arange(RATE) / RATE
    freqs = 300 + 100 * np.arange(8)
    waves = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in freqs]).astype(np.float32)
    waves[7] = 0.0
    config = dataclasses.replace(AugmentConfig(), babble_prob=1.0, babble_snr_db=(10.0, 10.0))
    out = add_babble(tf.constant(waves), config).numpy()
    spectrum = np.abs(np.fft.rfft(out - waves, axis=1)) ** 2  # 1 Hz bins: the babble alone
    for i in range(7):
        talkers = set(np.flatnonzero(spectrum[i] > 0.1 * spectrum[i].max()))
        partners = {(i - k) % 8 for k in (1, 2, 3)} - {7}  # tf.roll by 1, 2, 3 along the batch
        assert talkers == {int(freqs[j]) for j in partners}
        babble_db = 10 * np.log10(np.mean((out[i] - waves[i]) ** 2) / np.mean(waves[i] ** 2))
        assert -10.5 < babble_db < -9.5
    np.testing.assert_array_equal(out[7], 0.0)
    off = add_babble(tf.constant(waves), dataclasses.replace(config, babble_prob=0.0)).numpy()
    np.testing.assert_array_equal(off, waves)


def test_context_words_put_unknown_words_round_each_word_and_leave_it_whole():
    """Keyword clips (label 0: 0.5 over 400-600 ms) and unknown-word clips (label 2: 0.3 over
    300-450 ms) at 1 kHz: a keyword clip gets an unknown word's speech ending 50-200 ms before its
    own and one starting 50-200 ms after, 0-6 dB quieter, cut at the clip's edge; every clip's own
    word stays as it was; a _silence_ clip (label 1) and a batch without unknown words get none."""
    rate, length = 1000, 1000
    waves = np.zeros((6, length), np.float32)
    waves[:3, 400:600] = 0.5
    waves[3:5, 300:450] = 0.3
    waves[5] = 0.01 * np.random.default_rng(0).standard_normal(length)
    labels = tf.constant([0, 0, 0, 2, 2, 1])
    config = dataclasses.replace(AugmentConfig(), context_prob=1.0)
    out = add_context_words(tf.constant(waves), labels, 2, 1, config, rate).numpy()
    for i, (start, end) in enumerate([(400, 600)] * 3 + [(300, 450)] * 2):
        np.testing.assert_array_equal(out[i, start:end], waves[i, start:end])
        assert np.all(out[i, start - 50 : start] == 0) and np.all(out[i, end : end + 50] == 0)
        before, after = out[i, : start - 50], out[i, end + 50 :]
        if i >= 3:
            continue  # an unknown word may draw itself, and then gets nothing on that side
        for side in (before, after):
            heard = side[side != 0]
            assert len(heard) > 0 and np.all((heard >= 0.3 * 10 ** (-6 / 20) - 1e-6) & (heard <= 0.3 + 1e-6))
        assert np.flatnonzero(before)[-1] >= start - 200 and np.flatnonzero(after)[0] < 150  # from end + 50
    np.testing.assert_array_equal(out[5], waves[5])
    none = add_context_words(tf.constant(waves), tf.constant([0, 0, 0, 3, 3, 1]), 2, 1, config, rate)
    np.testing.assert_array_equal(none.numpy(), waves)


def test_speech_bounds_find_a_word_in_a_noisy_recording():
    """A word (0.5 over 400-600 ms) found to the 10 ms frame, alone, under noise 20 dB below it
    (which is within the 35 dB of the loudest frame), and nothing in a silent clip."""
    rate = 1000
    waves = np.zeros((3, rate), np.float32)
    waves[:2, 400:600] = 0.5
    waves[1] += 0.05 * np.random.default_rng(0).uniform(-1, 1, rate).astype(np.float32)
    start, end = (b.numpy() for b in speech_bounds(tf.constant(waves), rate))
    assert list(start[:2]) == [400, 400] and list(end[:2]) == [600, 600]
    assert start[2] >= end[2]


def test_keyword_fragments_keep_a_head_or_tail_and_are_unknown():
    """With fragment_prob 1 every keyword clip (labels 0 and 1: 0.5 over 400-600 ms at 1 kHz)
    keeps one piece of its word, 20-45 % of it from its start or to its end, silence elsewhere,
    and is labelled unknown (2); other clips stay as they were."""
    rate = 1000
    waves = np.zeros((8, rate), np.float32)
    waves[:, 400:600] = 0.5 * np.linspace(1, 2, 200)  # a ramp: where a piece came from shows
    labels = tf.constant([0, 1, 0, 1, 0, 1, 2, 3])
    config = dataclasses.replace(AugmentConfig(), fragment_prob=1.0)
    out, relabelled = cut_keywords(tf.constant(waves), labels, (0, 1), 2, config, rate)
    out = out.numpy()
    assert list(relabelled.numpy()) == [2] * 7 + [3]
    for clip, original in zip(out[:6], waves[:6], strict=True):
        kept = np.flatnonzero(clip)
        assert 40 <= len(kept) <= 90 and np.all(np.diff(kept) == 1)  # one piece, 20-45 % of 200
        assert kept[0] == 400 or kept[-1] == 599  # the word's head or tail
        np.testing.assert_array_equal(clip[kept], original[kept])
    np.testing.assert_array_equal(out[6:], waves[6:])
    off = cut_keywords(tf.constant(waves), labels, (0, 1), 2, AugmentConfig(), rate)
    np.testing.assert_array_equal(off[0].numpy(), waves)
    np.testing.assert_array_equal(off[1].numpy(), labels.numpy())


def test_word_augmentations_reach_the_training_batches():
    """``train --context-words --keyword-fragments``: through the tf.data pipeline (graph mode)
    about half the clips' words get a neighbour on each side, and some keyword clips (label 0)
    are cut to a fragment and trained as unknown (2); without ``words`` neither happens."""
    from leaf_edge.data.folders import LoadedSplit
    from leaf_edge.datasets import training_dataset

    waves = np.zeros((64, RATE), np.float32)
    waves[:, 6000:10000] = 0.5  # 0.25 s of "speech" in each clip
    labels = (np.arange(64) % 3).astype(np.int64)
    split = LoadedSplit(waves, labels, [], [None] * 64)

    def batch(words, **changes):
        augment = dataclasses.replace(AugmentConfig.off(), **changes)
        config = TrainConfig(data="unused", batch_size=32, augment=augment, seed=0)
        clips, targets = next(iter(training_dataset(split, config, None, None, 3, words=words)))
        return np.count_nonzero(clips.numpy(), axis=1), targets.numpy().argmax(axis=1)

    words = WordLabels(unknown=2, silence=1, keywords=(0,))
    spoken, _ = batch(words, context_prob=0.5)
    assert 4 <= (spoken > 4000).sum() <= 28
    spoken, trained_as = batch(words, fragment_prob=0.5)
    fragments = spoken < 4000 * 0.46  # at most 45 % of the word kept
    assert fragments.sum() >= 1 and np.all(trained_as[fragments] == 2)  # about 5 of 11; none: p < 0.001
    spoken, _ = batch(None, context_prob=0.5, fragment_prob=0.5)
    assert np.all(spoken == 4000)


def test_mixup_blends_clips_and_targets_with_the_same_weight():
    waves = tf.constant(np.eye(8, 16, dtype=np.float32))  # clip k is a click at sample k
    targets = tf.one_hot(tf.range(8) % 4, 4)
    mixed, blended = (t.numpy() for t in mixup(waves, targets, alpha=0.4, seed=3))
    np.testing.assert_allclose(blended.sum(axis=1), 1.0, atol=1e-6)
    for k in range(8):
        own = mixed[k, k]  # the clip's own click keeps its weight, at least a half
        assert 0.5 <= own <= 1.0
        partner = int(np.argmax(np.where(np.arange(16) == k, -1, mixed[k]))) if own < 1 else k
        expected = np.zeros(4)
        expected[k % 4] += own
        expected[partner % 4] += 1 - own
        np.testing.assert_allclose(blended[k], expected, atol=1e-5)


def test_the_speed_range_left_open_is_speech_rates_except_for_small_sets_of_other_sounds(tmp_path):
    left = TrainConfig(
        data="x", augment=dataclasses.replace(AugmentConfig(), speed_range=None, speed_prob=None)
    )

    def settled(labels, training_files, config=left):
        index = DatasetIndex(tmp_path, labels, {"train": [(tmp_path / "a.wav", 0)] * training_files})
        return settle_speed(config, index).augment

    keywords = settled(["_silence_", "_unknown_", "yes"], 100)
    assert (keywords.speed_range, keywords.speed_prob) == ((0.9, 1.1), 0.5)
    small = settled(["bass", "flute"], 264)
    assert (small.speed_range, small.speed_prob) == ((0.7, 1.4), 0.8)
    large = settled(["bass", "flute"], 5271)
    assert (large.speed_range, large.speed_prob) == ((0.9, 1.1), 0.5)
    given = dataclasses.replace(
        left, augment=dataclasses.replace(left.augment, speed_range=(0.8, 1.25), speed_prob=0.0)
    )
    assert settled(["bass", "flute"], 264, given) == given.augment

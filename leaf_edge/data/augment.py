"""Augmentation on the fly, in the tf.data pipeline, on batches of waveforms.

Each epoch sees fresh variations of the same clean clips: optionally keyword fragments (the
head or tail of a keyword, as unknown) and neighbouring words (another clip's unknown word just
before or after the clip's own, as in running speech), speed and time
shift (one resampling), optionally a random equaliser (timbre), a simulated room (impulse responses made
once with pyroomacoustics, applied by FFT convolution), optionally babble (other clips of the
batch, as competing talkers), background noise at a random SNR, and gain. Each is switchable.
SpecAugment-style masking and the formant warp act on features, inside the model
(:class:`leaf_edge.layers.SpecAugment`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    """What to vary per training example; a probability of 0 switches a kind off."""

    speed_prob: float | None = 0.5  # None: the data's (leaf_edge.recipe.default_speed), settled at the start
    speed_range: tuple[float, float] | None = (0.9, 1.1)
    shift_ms: float = 100.0
    room_prob: float = 0.5
    rooms: int = 200
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (5.0, 30.0)
    gain_db: tuple[float, float] = (-15.0, 6.0)
    spec_augment: bool = True
    eq_prob: float = 0.0  # off in the default recipe (see README: unseen engines)
    eq_db: float = 10.0
    warp: float = 0.0  # formant warp on features, within 1 +- warp (SpecAugment); off by default
    babble_prob: float = 0.0  # other talkers (clips of the batch) behind the clip; off by default
    babble_snr_db: tuple[float, float] = (3.0, 20.0)
    mixup: float = 0.0  # Beta(a, a) blend of two clips and labels; 0: off
    context_prob: float = 0.0  # an unknown word just before the clip's word, and after it, each this often
    context_gap_ms: tuple[float, float] = (50.0, 200.0)  # between the words
    fragment_prob: float = 0.0  # keyword clips cut to the head or tail of their word, as unknown
    fragment_share: tuple[float, float] = (0.2, 0.45)  # of the word's speech a fragment keeps

    @classmethod
    def off(cls) -> AugmentConfig:
        return cls(
            speed_prob=0, shift_ms=0, room_prob=0, noise_prob=0, gain_db=(0, 0), spec_augment=False, mixup=0.0
        )


# Speed (and so pitch) factors and the share of clips changed. Speech keeps its rate within +-10 %,
# and so does a large set of any sound (its clips bring their own variety: on the built-in
# instrument set, 5,271 training clips, the wider range below scored 78.1 % on the unseen font
# against 79.8 %). A small set of other sounds (instruments, machines, birds) gets 0.7-1.4x, about
# -6..+6 semitones, on 80 % of the clips: on the 440-clip instrument set that took test accuracy
# from 47 to 60-63 % and the unseen font from 49 to 63 % (README: small sets).
SPEECH_SPEED = ((0.9, 1.1), 0.5)
SMALL_SET_SPEED = ((0.7, 1.4), 0.8)


def mixup(waves, targets, alpha: float, seed=None):
    """Blend each clip with another of the batch, and its one-hot target alike (mixup, Zhang et
    al. 2018): the weight of the clip itself is max(l, 1 - l) for l ~ Beta(alpha, alpha)."""
    batch = tf.shape(waves)[0]
    a = tf.random.gamma([batch], alpha, seed=seed)
    b = tf.random.gamma([batch], alpha, seed=seed)
    weight = tf.maximum(a / (a + b), b / (a + b))
    partner = tf.random.shuffle(tf.range(batch), seed=seed)
    mixed = weight[:, None] * waves + (1 - weight[:, None]) * tf.gather(waves, partner)
    blended = weight[:, None] * targets + (1 - weight[:, None]) * tf.gather(targets, partner)
    return mixed, blended


def make_rooms(count: int, sample_rate: int, seed: int, seconds: float = 0.5) -> np.ndarray:
    """``[count, seconds * rate]`` room impulse responses, direct path first and equal to 1."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    length = int(seconds * sample_rate)
    responses = np.zeros((count, length), np.float32)
    for i in range(count):
        while True:  # a large room cannot be as dry as a short RT60 needs: draw again
            size = rng.uniform([3.0, 3.0, 2.4], [10.0, 8.0, 4.0])
            rt60 = rng.uniform(0.15, 0.8)
            with contextlib.suppress(ValueError):
                absorption, max_order = pra.inverse_sabine(rt60, size)
                break
        room = pra.ShoeBox(
            size, fs=sample_rate, materials=pra.Material(absorption), max_order=min(max_order, 12)
        )
        room.add_source(rng.uniform(0.5, size - 0.5))
        room.add_microphone(rng.uniform(0.5, size - 0.5))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], np.float64)
        direct = int(np.argmax(np.abs(rir)))
        rir = rir[direct:] / rir[direct]
        responses[i, : min(length, len(rir))] = rir[:length]
    return responses


def _uniform(batch, low, high):
    return tf.random.uniform([batch], low, high)


def _chance(batch, prob):
    return tf.random.uniform([batch]) < prob


def speed_and_shift(waves, config: AugmentConfig, sample_rate: int):
    """Resample around the centre by a random factor and shift in time (zeros fill in)."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    factor = tf.where(_chance(batch, config.speed_prob), _uniform(batch, *config.speed_range), 1.0)
    max_shift = config.shift_ms * sample_rate / 1000
    shift = _uniform(batch, -max_shift, max_shift) if max_shift else tf.zeros([batch])
    centre = (length - 1) / 2
    t = tf.range(length, dtype=tf.float32)[tf.newaxis, :]
    position = centre + (t - centre) * factor[:, tf.newaxis] - shift[:, tf.newaxis]
    lower = tf.floor(position)
    fraction = position - lower
    lower = tf.cast(lower, tf.int32)

    def sample(index):
        inside = (index >= 0) & (index < length)
        values = tf.gather(waves, tf.clip_by_value(index, 0, length - 1), batch_dims=1)
        return tf.where(inside, values, 0.0)

    return sample(lower) * (1 - fraction) + sample(lower + 1) * fraction


EQ_TERMS = 4  # cosines over log frequency: features an octave or wider
EQ_BAND = (60.0, 8000.0)  # the log-frequency axis; flat beyond


def equalise(waves, config: AugmentConfig, sample_rate: int):
    """A random smooth gain curve over log frequency, within +-``eq_db``, on a share of the batch.

    Voices, synthesis engines and microphones differ in timbre (spectral envelope) more than
    one engine's speakers show; this varies it. Zero phase, applied by FFT with the clip
    zero-padded to twice its length so that nothing wraps around.
    """
    batch, length = tf.shape(waves)[0], waves.shape[1]
    size = 2 * length
    freqs = np.fft.rfftfreq(size, 1 / sample_rate)
    low, high = EQ_BAND
    position = np.log(np.clip(freqs, low, high) / low) / np.log(high / low)  # 0..1
    k = np.arange(1, EQ_TERMS + 1)[:, np.newaxis]
    cosines = tf.constant(np.pi * k * position[np.newaxis, :], tf.float32)  # [K, F]
    amplitude = tf.random.uniform([batch, EQ_TERMS, 1], -config.eq_db / EQ_TERMS, config.eq_db / EQ_TERMS)
    phase = tf.random.uniform([batch, EQ_TERMS, 1], 0.0, 2 * np.pi)
    gain_db = tf.reduce_sum(amplitude * tf.cos(cosines[tf.newaxis] + phase), axis=1)  # [B, F]
    gain_db = tf.where(_chance(batch, config.eq_prob)[:, tf.newaxis], gain_db, 0.0)
    gain = tf.complex(10 ** (gain_db / 20), 0.0)
    return tf.signal.irfft(tf.signal.rfft(waves, [size]) * gain, [size])[:, :length]


def reverberate(waves, rooms: tf.Tensor, prob: float):
    """Convolve a random share of the batch with random room responses (FFT, causal)."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    size = 1 << int(np.ceil(np.log2(length + rooms.shape[1])))
    choice = tf.random.uniform([batch], 0, rooms.shape[0], dtype=tf.int32)
    impulse = tf.one_hot(0, rooms.shape[1])[tf.newaxis, :]
    responses = tf.where(_chance(batch, prob)[:, tf.newaxis], tf.gather(rooms, choice), impulse)
    wet = tf.signal.irfft(tf.signal.rfft(waves, [size]) * tf.signal.rfft(responses, [size]), [size])[
        :, :length
    ]
    # Keep the level of the dry clip so that gain stays the only loudness change.
    dry_peak = tf.reduce_max(tf.abs(waves), axis=1, keepdims=True)
    wet_peak = tf.reduce_max(tf.abs(wet), axis=1, keepdims=True)
    return wet * tf.math.divide_no_nan(dry_peak, wet_peak)


def random_windows(bank, count, length: int):
    """``count`` windows of ``length`` samples, each from a random row of ``bank`` [rows, samples]
    at a random offset."""
    which = tf.random.uniform([count], 0, tf.shape(bank)[0], dtype=tf.int32)
    start = tf.random.uniform([count], 0, tf.shape(bank)[1] - length + 1, dtype=tf.int32)
    index = start[:, tf.newaxis] + tf.range(length)[tf.newaxis, :]
    return tf.gather(tf.gather(bank, which), index, batch_dims=1)


def add_noise(waves, noise_bank: tf.Tensor, config: AugmentConfig):
    """Mix a random stretch of background noise at a random SNR into a share of the batch."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    noise = random_windows(noise_bank, batch, length)
    signal_rms = tf.sqrt(tf.reduce_mean(tf.square(waves), axis=1) + 1e-10)
    noise_rms = tf.sqrt(tf.reduce_mean(tf.square(noise), axis=1) + 1e-10)
    snr = _uniform(batch, *config.snr_db)
    scale = signal_rms / noise_rms * 10 ** (-snr / 20)
    # Near-silent clips get noise at an absolute level instead (-60 to -20 dBFS).
    quiet = signal_rms < 1e-3
    scale = tf.where(quiet, 10 ** (_uniform(batch, -60.0, -20.0) / 20) / noise_rms, scale)
    scale = tf.where(_chance(batch, config.noise_prob), scale, 0.0)
    return waves + noise * scale[:, tf.newaxis]


CONTEXT_SPEECH_DB = -35.0  # a clip's speech: the 10 ms frames whose peak is within this of its loudest...
CONTEXT_NOISE_DB = 10.0  # ...and this far above its noise floor (the peak of its quietest tenth of frames)
SPEECH_FRAME_MS = 10.0


def speech_bounds(waves, sample_rate: int):
    """First and one past the last sample of each clip's speech, to the frame; a silent clip
    gives (frames * frame, 0). The noise floor keeps a recording with noise all through from
    counting as speech all through."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    frame = int(sample_rate * SPEECH_FRAME_MS / 1000)
    frames = length // frame
    peaks = tf.reduce_max(tf.abs(tf.reshape(waves[:, : frames * frame], [batch, frames, frame])), axis=2)
    floor = tf.sort(peaks, axis=1)[:, frames // 10 : frames // 10 + 1] * 10 ** (CONTEXT_NOISE_DB / 20)
    loud = peaks >= tf.reduce_max(peaks, axis=1, keepdims=True) * 10 ** (CONTEXT_SPEECH_DB / 20)
    loud &= (peaks > floor) & (peaks > 0)
    index = tf.range(frames)[tf.newaxis, :]
    first = tf.reduce_min(tf.where(loud, index, frames), axis=1) * frame
    last = (tf.reduce_max(tf.where(loud, index, -1), axis=1) + 1) * frame
    return first, last


def add_context_words(waves, labels, carrier: int, bare: int, config: AugmentConfig, sample_rate: int):
    """Running speech around a clip's word: the speech of another clip of the batch labelled
    ``carrier`` (an unknown word) placed before the word, and another's after it, each with
    ``context_prob``, a gap of ``context_gap_ms`` between the words; cut where it runs past the
    clip's edge (a word fragment). Labels stay: the clip's word is still the whole word in it.
    Clips labelled ``bare`` (``_silence_``; -1: none) and clips of no speech get none."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    start, end = speech_bounds(waves, sample_rate)
    carriers = tf.cast(tf.where(tf.equal(labels, carrier))[:, 0], tf.int32)
    t = tf.range(length)[tf.newaxis, :]
    for before in (True, False):
        count = tf.size(carriers)
        draw = tf.random.uniform([batch], 0, tf.maximum(count, 1), tf.int32)
        own = count + tf.range(batch)  # no carrier in the batch: each clip picks itself, and gets none
        pick = tf.gather(tf.concat([carriers, tf.range(batch)], 0), tf.where(count > 0, draw, own))
        other_start, other_end = tf.gather(start, pick), tf.gather(end, pick)
        gap = tf.cast(_uniform(batch, *config.context_gap_ms) * sample_rate / 1000, tf.int32)
        offset = start - gap - other_end if before else end + gap - other_start  # other's t -> clip's t
        source = t - offset[:, tf.newaxis]
        inside = (source >= other_start[:, tf.newaxis]) & (source < other_end[:, tf.newaxis])
        words = tf.gather(tf.gather(waves, pick), tf.clip_by_value(source, 0, length - 1), batch_dims=1)
        chosen = (
            _chance(batch, config.context_prob) & (pick != tf.range(batch)) & (labels != bare) & (start < end)
        )
        gain = 10 ** (_uniform(batch, -6.0, 0.0) / 20) * tf.cast(chosen, tf.float32)
        waves = waves + tf.where(inside, words, 0.0) * gain[:, tf.newaxis]
    return waves


def cut_keywords(waves, labels, keywords, unknown: int, config: AugmentConfig, sample_rate: int):
    """Cut a share (``fragment_prob``) of the clips labelled one of ``keywords`` down to the head
    or the tail of their word (``fragment_share`` of its speech, the rest silenced) and label them
    ``unknown``: what a window sliding onto or off a keyword holds, which must not fire."""
    batch, length = tf.shape(waves)[0], waves.shape[1]
    start, end = speech_bounds(waves, sample_rate)
    is_keyword = tf.reduce_any(tf.equal(labels[:, tf.newaxis], tf.constant(keywords, labels.dtype)), axis=1)
    chosen = _chance(batch, config.fragment_prob) & is_keyword & (start < end)
    kept = tf.cast(_uniform(batch, *config.fragment_share) * tf.cast(end - start, tf.float32), tf.int32)
    head = _chance(batch, 0.5)
    low, high = tf.where(head, start, end - kept), tf.where(head, start + kept, end)
    t = tf.range(length)[tf.newaxis, :]
    silenced = chosen[:, tf.newaxis] & ((t < low[:, tf.newaxis]) | (t >= high[:, tf.newaxis]))
    return tf.where(silenced, 0.0, waves), tf.where(chosen, tf.cast(unknown, labels.dtype), labels)


BABBLE_TALKERS = 3


def add_babble(waves, config: AugmentConfig):
    """Mix ``BABBLE_TALKERS`` other clips of the batch, each circularly shifted by a random time,
    at a random SNR below the clip, into a share of the batch: competing talkers.

    The SNR is against the clip's own power, so a ``_silence_`` clip (quiet noise) gets babble
    well below its noise, never a keyword it would have to ignore. Near-silent clips get none.
    """
    batch, length = tf.shape(waves)[0], waves.shape[1]
    t = tf.range(length)[tf.newaxis, :]
    mix = tf.zeros_like(waves)
    for talker in range(1, BABBLE_TALKERS + 1):
        other = tf.roll(waves, shift=talker, axis=0)  # another clip of the batch, never the clip
        start = tf.random.uniform([batch, 1], 0, length, dtype=tf.int32)
        mix += tf.gather(other, (t + start) % length, batch_dims=1)
    signal_rms = tf.sqrt(tf.reduce_mean(tf.square(waves), axis=1))
    mix_rms = tf.sqrt(tf.reduce_mean(tf.square(mix), axis=1))
    scale = tf.math.divide_no_nan(signal_rms, mix_rms) * 10 ** (-_uniform(batch, *config.babble_snr_db) / 20)
    audible = (signal_rms >= 1e-3) & (mix_rms >= 1e-3)
    scale = tf.where(_chance(batch, config.babble_prob) & audible, scale, 0.0)
    return waves + mix * scale[:, tf.newaxis]


def augment_batch(waves, config: AugmentConfig, sample_rate: int, rooms=None, noise_bank=None):
    """All waveform augmentations, in the order a recording would see them."""
    if config.speed_prob or config.shift_ms:
        waves = speed_and_shift(waves, config, sample_rate)
    if config.eq_prob:
        waves = equalise(waves, config, sample_rate)
    if rooms is not None and config.room_prob:
        waves = reverberate(waves, rooms, config.room_prob)
    if config.babble_prob:
        waves = add_babble(waves, config)
    if noise_bank is not None and config.noise_prob:
        waves = add_noise(waves, noise_bank, config)
    if config.gain_db != (0, 0):
        gain = 10 ** (_uniform(tf.shape(waves)[0], *config.gain_db) / 20)
        waves = waves * gain[:, tf.newaxis]
    return tf.clip_by_value(waves, -1.0, 1.0)

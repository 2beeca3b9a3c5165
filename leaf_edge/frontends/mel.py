"""The fixed mel-filterbank frontend that LEAF is compared with (reference MelFilterbanks)."""

from __future__ import annotations

import keras
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.frontends.compression import log_compression


@keras.saving.register_keras_serializable(package="leaf_edge")
class MelFilterbanks(keras.layers.Layer):
    """Log mel energies: ``[B, T]`` -> ``[B, ceil(T/S), n]``.

    STFT with a periodic Hann window of W taps, hop S, ``n_fft`` points and end padding;
    power spectrum; HTK mel matrix over [min_freq, max_freq]; ``log(x + 1e-5)``.
    Frames start at ``S * i`` (not centred), W//2 - pad_left samples before LEAF's.
    """

    def __init__(self, spec: AudioSpec | None = None, n_fft: int = 512, name: str = "mel", **kw):
        super().__init__(name=name, **kw)
        self.spec = spec or AudioSpec()
        self.n_fft = n_fft
        with tf.init_scope():
            self.mel_matrix = tf.signal.linear_to_mel_weight_matrix(
                num_mel_bins=self.spec.n_filters,
                num_spectrogram_bins=n_fft // 2 + 1,
                sample_rate=self.spec.sample_rate,
                lower_edge_hertz=self.spec.min_freq,
                upper_edge_hertz=self.spec.max_freq,
            ).numpy()

    def call(self, waveform):
        if len(waveform.shape) == 3:
            waveform = waveform[:, :, 0]
        stft = tf.signal.stft(
            waveform,
            frame_length=self.spec.window_size,
            frame_step=self.spec.stride,
            fft_length=self.n_fft,
            pad_end=True,
        )
        power = tf.square(tf.math.real(stft)) + tf.square(tf.math.imag(stft))
        return log_compression(tf.matmul(power, self.mel_matrix))

    def get_config(self) -> dict:
        return {**super().get_config(), "spec": self.spec.to_dict(), "n_fft": self.n_fft}

    @classmethod
    def from_config(cls, config):
        return cls(spec=AudioSpec(**config.pop("spec")), **config)

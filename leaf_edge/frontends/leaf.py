"""LEAF as Keras 3 layers: Gabor filterbank -> squared modulus -> Gaussian pooling -> floor
-> sPCEN (or log). Thin wrappers that own the learnable parameters; the forward pass is
:mod:`leaf_functions`' (the same functions the converter's window and streaming models run on
frozen weights), its maths in :mod:`gabor`, :mod:`pooling`, :mod:`grouped` and :mod:`compression`.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from device.contract import AudioSpec
from leaf_edge.frontends import compression, gabor, grouped, pooling
from leaf_edge.frontends.leaf_functions import LeafWeights, compressed, window_pooled

GABOR_MODES = ("exact", "grouped")
PCEN_WEIGHTS = ("alpha", "delta", "root", "smooth")

register = keras.saving.register_keras_serializable(package="leaf_edge")


@register
class GaborConstraint(keras.constraints.Constraint):
    """Keeps ``[mu, sigma]`` in range after each optimizer step (as the reference does)."""

    def __init__(self, window_size: int):
        self.window_size = window_size

    def __call__(self, params):
        return gabor.constrain_gabor_params(params, self.window_size)

    def get_config(self) -> dict:
        return {"window_size": self.window_size}


@register
class GaborConv1D(keras.layers.Layer):
    """The complex Gabor filterbank's weights (the reference's name and shape).

    Weight ``kernel`` ``(n, 2)`` holds ``[mu, sigma]`` per filter, mel-initialised.
    """

    def __init__(self, spec: AudioSpec | None = None, name: str = "tfbanks_complex_conv", **kw):
        super().__init__(name=name, **kw)
        self.spec = spec or AudioSpec()

    def build(self, input_shape):
        spec = self.spec
        with tf.init_scope():  # eager, even when first built inside a tf.function
            init = gabor.mel_init_params(
                spec.n_filters, spec.sample_rate, spec.min_freq, spec.max_freq
            ).numpy()
        self.kernel = self.add_weight(
            name="kernel",
            shape=(spec.n_filters, 2),
            initializer=keras.initializers.Constant(init),
            constraint=GaborConstraint(spec.window_size),
        )

    def constrained_kernel(self) -> tf.Tensor:
        return gabor.constrain_gabor_params(self.kernel, self.spec.window_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "spec": self.spec.to_dict()}

    @classmethod
    def from_config(cls, config):
        return cls(spec=AudioSpec(**config.pop("spec")), **config)


@register
class GaussianLowpass(keras.layers.Layer):
    """The per-channel Gaussian pooling's weights (the reference's name and shape).

    Weight ``kernel`` ``(1, 1, n, 1)`` holds the relative width of each channel's window,
    initialised to 0.4.
    """

    def __init__(
        self,
        spec: AudioSpec | None = None,
        width_init: float = 0.4,
        name: str = "learnable_pooling",
        **kw,
    ):
        super().__init__(name=name, **kw)
        self.spec = spec or AudioSpec()
        self.width_init = width_init

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, 1, self.spec.n_filters, 1),
            initializer=keras.initializers.Constant(self.width_init),
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "spec": self.spec.to_dict(), "width_init": self.width_init}

    @classmethod
    def from_config(cls, config):
        return cls(spec=AudioSpec(**config.pop("spec")), **config)


@register
class PCEN(keras.layers.Layer):
    """The learnable per-channel energy normalisation's (sPCEN's) weights.

    Weights ``alpha``, ``delta``, ``root``, ``smooth``, each ``(n,)``.
    """

    def __init__(
        self,
        alpha: float = 0.96,
        delta: float = 2.0,
        root: float = 2.0,
        smooth: float = 0.04,
        eps: float = compression.PCEN_EPS,
        name: str = "PCEN",
        **kw,
    ):
        super().__init__(name=name, **kw)
        self.init_values = {"alpha": alpha, "delta": delta, "root": root, "smooth": smooth}
        self.eps = eps

    def build(self, input_shape):
        channels = input_shape[-1]
        for weight_name, value in self.init_values.items():
            weight = self.add_weight(
                name=weight_name, shape=(channels,), initializer=keras.initializers.Constant(value)
            )
            setattr(self, weight_name, weight)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.init_values, "eps": self.eps}


@register
class Leaf(keras.layers.Layer):
    """The LEAF frontend: ``[B, T]`` waveform in [-1, 1] -> ``[B, ceil(T/S), n]`` features.

    Learnable parameters (7 per filter, 280 for 40 filters), named and shaped as in the
    reference implementation:

    ========================  =============  =============================================
    variable                  shape          meaning
    ========================  =============  =============================================
    ``leaf.gabor.kernel``     ``(n, 2)``     ``[mu, sigma]``: centre (rad/sample), std (samples)
    ``leaf.pooling.kernel``   ``(1,1,n,1)``  Gaussian pooling width, relative to the window
    ``leaf.pcen.alpha``       ``(n,)``       gain-normalisation exponent
    ``leaf.pcen.delta``       ``(n,)``       bias added before root compression
    ``leaf.pcen.root``        ``(n,)``       root of the compression
    ``leaf.pcen.smooth``      ``(n,)``       smoothing coefficient of the moving average
    ========================  =============  =============================================

    To set them, build the layer and assign values, e.g.::

        leaf = Leaf(AudioSpec(n_filters=40))
        leaf.build((None, 16000))
        leaf.gabor.kernel.assign(np.stack([mu, sigma], axis=1))
        leaf.pcen.alpha.assign(np.full(40, 0.9, np.float32))

    or load a reference checkpoint's arrays by their reference names with
    :meth:`assign_reference_weights` (``"kernel:0"``, ``"PCEN/EMA/smooth:0"``, ...).

    ``compression`` is ``"pcen"`` (default) or ``"log"`` (``log(x + 1e-5)``, no PCEN weights).
    ``gabor`` is ``"exact"`` (default: the reference's stride-1 convolution) or ``"grouped"``
    (:mod:`grouped`: each group of filters at its own decimated rate, planned once from the
    initial parameters; same parameters, about 18x fewer multiply-adds).
    """

    REFERENCE_NAMES = {
        "kernel": ("gabor", "kernel"),
        "learnable_pooling/kernel": ("pooling", "kernel"),
        "PCEN/alpha": ("pcen", "alpha"),
        "PCEN/delta": ("pcen", "delta"),
        "PCEN/root": ("pcen", "root"),
        "PCEN/EMA/smooth": ("pcen", "smooth"),
    }

    def __init__(
        self,
        spec: AudioSpec | None = None,
        compression: str = "pcen",
        pcen_init: Mapping[str, float] | None = None,
        pooling_init: float = 0.4,
        gabor: str = "exact",
        name: str = "leaf",
        **kw,
    ):
        super().__init__(name=name, **kw)
        if compression not in ("pcen", "log"):
            raise ValueError(f"compression must be 'pcen' or 'log', not {compression!r}")
        if gabor not in GABOR_MODES:
            raise ValueError(f"gabor must be one of {', '.join(GABOR_MODES)}, not {gabor!r}")
        self.gabor_mode = gabor
        self.spec = spec or AudioSpec()
        self.compression = compression
        self.pcen_init = dict(pcen_init or {})
        self.pooling_init = pooling_init
        self.gabor = GaborConv1D(self.spec)
        self.pooling = GaussianLowpass(self.spec, width_init=pooling_init)
        self.pcen = PCEN(**self.pcen_init) if compression == "pcen" else None

    def build(self, input_shape):
        length = input_shape[1]
        self.gabor.build(input_shape)
        self.pooling.build((input_shape[0], length, self.spec.n_filters))
        if self.pcen is not None:
            self.pcen.build((input_shape[0], None, self.spec.n_filters))
        with tf.init_scope():  # the plan is numbers, even when built inside a tf.function
            self.bands = self.band_plan() if self.gabor_mode == "grouped" else None

    def band_plan(self) -> tuple[grouped.Band, ...]:
        """The grouped evaluation's bands for the current Gabor and pooling widths."""
        sigmas = self.gabor.constrained_kernel().numpy()[:, 1]
        widths = pooling.clipped_widths(self.pooling.kernel, self.spec.window_size).numpy()
        size = self.spec.window_size
        return grouped.plan_bands(sigmas, grouped.pool_sigmas(widths, size), size, self.spec.stride)

    def weights_now(self, gabor: str | None = None, frozen: bool = False) -> LeafWeights:
        """The weights as :mod:`leaf_functions` takes them: the variables (training), or with
        ``frozen`` their values as arrays (what the converter folds into constants), evaluated
        ``gabor`` way (by default as trained; a model trained exact and evaluated grouped is
        planned from its learned widths)."""
        bands = None
        if (gabor or self.gabor_mode) == "grouped":
            bands = self.bands if self.bands is not None else self.band_plan()
        pcen = None if self.pcen is None else {k: getattr(self.pcen, k) for k in PCEN_WEIGHTS}
        params, widths, eps = self.gabor.constrained_kernel(), self.pooling.kernel, compression.PCEN_EPS
        if self.pcen is not None:
            eps = self.pcen.eps
        if frozen:
            params, widths = np.asarray(params), np.asarray(widths)
            pcen = None if pcen is None else {k: np.asarray(v) for k, v in pcen.items()}
        return LeafWeights(self.spec, params, widths, pcen, eps, bands, frozen)

    def energies(self, waveform, weights: LeafWeights | None = None):
        """Pooled, floored filterbank energies ``[B, frames, n]`` (the input of compression)."""
        if len(waveform.shape) == 3:
            waveform = waveform[:, :, 0]
        return window_pooled(waveform, weights or self.weights_now())

    def call(self, waveform):
        weights = self.weights_now()
        return compressed(self.energies(waveform, weights), weights)

    def assign_reference_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        """Load arrays named as in the reference checkpoint (``":0"`` suffixes optional)."""
        for ref_name, value in weights.items():
            key = ref_name.removesuffix(":0")
            if key not in self.REFERENCE_NAMES:
                raise KeyError(f"unknown reference weight {ref_name!r}")
            layer_name, weight_name = self.REFERENCE_NAMES[key]
            layer = getattr(self, layer_name)
            if layer is None:
                raise KeyError(f"{ref_name!r} needs compression='pcen'")
            getattr(layer, weight_name).assign(np.asarray(value, np.float32))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "spec": self.spec.to_dict(),
            "compression": self.compression,
            "pcen_init": self.pcen_init,
            "pooling_init": self.pooling_init,
            "gabor": self.gabor_mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(spec=AudioSpec(**config.pop("spec")), **config)

"""Audio frontends: waveform ``[B, T]`` -> features ``[B, frames, n_filters]``.

``make_frontend("leaf" | "leaf-log" | "mel", spec)`` builds one by name.
"""

from __future__ import annotations

from leaf_edge.frontends.leaf import Leaf
from leaf_edge.frontends.mel import MelFilterbanks

FRONTENDS = ("leaf", "leaf-log", "mel")


def make_frontend(name: str, spec=None, gabor: str = "exact"):
    """A fresh frontend layer by name (each call builds new, unshared parameters).

    ``gabor`` (``exact`` or ``grouped``) picks how LEAF evaluates its filterbank.
    """
    if name == "leaf":
        return Leaf(spec, gabor=gabor)
    if name == "leaf-log":
        return Leaf(spec, compression="log", gabor=gabor)
    if name == "mel":
        if gabor != "exact":
            raise ValueError("--gabor grouped needs a LEAF frontend")
        return MelFilterbanks(spec)
    raise ValueError(f"unknown frontend {name!r}; choose one of {', '.join(FRONTENDS)}")

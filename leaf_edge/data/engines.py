"""Text-to-speech engines from Debian's main archive, driven through their command lines.

A :class:`Voice` is one engine voice with fixed settings (speed, pitch...); ``render`` turns
words into waveforms at the engine's own sample rate. All three engines are free software
(espeak-ng: GPL-3; flite: BSD-like; festival and its CMU/OGI diphone voices: free, see
models/MODEL_CARD.md), so a model trained on their speech may be shipped.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from device.contract import LeafEdgeError

ESPEAK_ACCENTS = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc",
)  # fmt: skip
ESPEAK_SKIPPED_VARIANTS = {"whisper", "whisperf", "croak", "Demonic"}  # not speech-like
FLITE_VOICES = ("awb", "rms", "slt", "kal16")  # kal is 8 kHz only, awb_time says only times
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone")
# Accents: voices of other languages saying the English words with their own sounds and
# letter-to-sound rules. festival's voices in Debian main (package, licence), but the slt HTS
# voice, which bench/unseen_voice.py keeps unseen; Debian's Indic NSK voices do not load (their
# phone sets are missing from the packages).
FESTIVAL_ACCENT_VOICES = {
    "lp_diphone": "festvox-italp16k",  # Italian, female; GPL-2+
    "pc_diphone": "festvox-itapc16k",  # Italian, male; GPL-2+
    "czech_dita": "festvox-czech-dita",  # Czech, female; GPL-3+
    "czech_krb": "festvox-czech-krb",  # Czech, a child; GPL-3+
    "czech_machac": "festvox-czech-machac",  # Czech, male; GPL-3+
    "czech_ph": "festvox-czech-ph",  # Czech, male; GPL-2+
    "msu_ru_nsh_clunits": "festvox-ru",  # Russian, male (unit selection); BSD-like, GPL-3
    "suo_fi_lj_diphone": "festvox-suopuhe-lj",  # Finnish, female; LGPL-2+
    "hy_fi_mv_diphone": "festvox-suopuhe-mv",  # Finnish, male; LGPL-2+
    "upc_ca_ona_hts": "festvox-ca-ona-hts",  # Catalan, female (HTS); BSD-3-clause, LGPL-2.1+
}
# espeak-ng's languages written in Latin script (the others switch to English for English text).
ESPEAK_ACCENT_LANGUAGES = ("de", "fr", "es", "it", "nl", "pl", "pt", "sv", "fi", "cs", "hu", "tr", "sw", "id")
ENGINES = ("espeak-ng", "flite", "festival")
APT_PACKAGES = {
    "espeak-ng": ["espeak-ng"],
    "flite": ["flite"],
    "festival": [
        "festival", "festlex-cmu", "festlex-poslex", "festvox-kallpc16k", "festvox-kdlpc16k",
        *FESTIVAL_ACCENT_VOICES.values(),
    ],
}  # fmt: skip


class EngineMissing(LeafEdgeError):
    """A text-to-speech engine is not installed."""


@dataclass(frozen=True)
class Voice:
    """One engine voice with fixed settings; ``settings`` are engine-specific numbers."""

    engine: str
    name: str
    settings: dict = field(default_factory=dict, hash=False)

    def render(self, words: list[str]) -> list[tuple[np.ndarray, int]]:
        """Synthesise each word; returns (mono float32 waveform, sample rate) per word."""
        require_engine(self.engine)
        with tempfile.TemporaryDirectory(prefix="leaf-edge-tts-") as tmp:
            paths = [Path(tmp) / f"{i}.wav" for i in range(len(words))]
            if self.engine == "festival":
                _festival(self.name, self.settings, words, paths)
            else:
                for word, path in zip(words, paths, strict=True):
                    command = (_espeak if self.engine == "espeak-ng" else _flite)(
                        self.name, self.settings, word, path
                    )
                    subprocess.run(command, check=True, capture_output=True, timeout=60)
            return [_read(path) for path in paths]


def require_engine(engine: str) -> None:
    """Raise :class:`EngineMissing`, saying what to install, if ``engine`` is not on the PATH."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if shutil.which(engine) is None:
        packages = " ".join(APT_PACKAGES[engine])
        raise EngineMissing(f"{engine} is not installed (apt-get install {packages})")


def require_accent_voices() -> None:
    """Raise :class:`EngineMissing`, naming the packages, if festival lacks an accent voice."""
    require_engine("festival")
    try:
        listing = subprocess.run(
            ["festival", "--pipe"], input="(print (voice.list))", check=True, capture_output=True, text=True,
            timeout=60,
        ).stdout  # fmt: skip
    except subprocess.SubprocessError as error:
        raise EngineMissing(f"festival could not list its voices ({error})") from None
    installed = set(listing.replace("(", " ").replace(")", " ").split())
    missing = [package for name, package in FESTIVAL_ACCENT_VOICES.items() if name not in installed]
    if missing:
        raise EngineMissing(
            f"festival's accent voices are not all installed (apt-get install {' '.join(missing)})"
        )


def _read(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists() or path.stat().st_size <= 44:
        return np.zeros(0, np.float32), 16000
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), rate


def _espeak(name: str, settings: dict, word: str, path: Path) -> list[str]:
    speed, pitch = settings["speed_wpm"], settings["pitch"]
    return ["espeak-ng", "-v", name, "-s", str(speed), "-p", str(pitch), "-a", "50", "-w", str(path), word]


def _flite(name: str, settings: dict, word: str, path: Path) -> list[str]:
    return [
        "flite", "-voice", name,
        "--setf", f"duration_stretch={settings['duration_stretch']:.3f}",
        "--setf", f"int_f0_target_mean={settings['f0_mean']:.1f}",
        "-t", word, "-o", str(path),
    ]  # fmt: skip


def _festival(name: str, settings: dict, words: list[str], paths: list[Path]) -> None:
    """One festival process renders all of a speaker's words (one process per clip is 15x slower)."""
    lines = [f"(voice_{name})", f"(Parameter.set 'Duration_Stretch {settings['duration_stretch']:.3f})"]
    for word, path in zip(words, paths, strict=True):
        lines.append(f'(set! utt (Utterance Text "{word}"))')
        lines.append("(utt.synth utt)")
        lines.append(f'(utt.save.wave utt "{path}" \'riff)')
    script = paths[0].parent / "speaker.scm"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True, timeout=300)


@functools.cache
def espeak_variants() -> tuple[str, ...]:
    """espeak-ng's voice variants (``+m1``, ``+klatt``...) installed here, minus non-speech ones."""
    listing = subprocess.run(
        ["espeak-ng", "--voices=variant"], check=True, capture_output=True, text=True
    ).stdout
    names = {line.split()[-1].rsplit("/", 1)[-1] for line in listing.splitlines()[1:] if line.strip()}
    return tuple(sorted(names - ESPEAK_SKIPPED_VARIANTS))


def sample_voice(engine: str, rng: np.random.Generator, accented: bool = False) -> Voice:
    """A random speaker of ``engine``: voice, accent, speed and pitch drawn from ``rng``;
    ``accented``: a voice of another language (espeak-ng and festival; flite has English voices only)."""
    if engine == "espeak-ng":
        accents = ESPEAK_ACCENT_LANGUAGES if accented else ESPEAK_ACCENTS
        accent = accents[rng.integers(len(accents))]
        variants = espeak_variants()
        variant = variants[rng.integers(len(variants))]
        settings = {"speed_wpm": int(rng.integers(120, 210)), "pitch": int(rng.integers(20, 80))}
        return Voice(engine, f"{accent}+{variant}", settings)
    if engine == "flite":
        settings = {
            "duration_stretch": float(rng.uniform(0.8, 1.3)),
            "f0_mean": float(rng.uniform(80, 220)),
        }
        return Voice(engine, FLITE_VOICES[rng.integers(len(FLITE_VOICES))], settings)
    if engine == "festival":
        settings = {"duration_stretch": float(rng.uniform(0.8, 1.3))}
        voices = tuple(FESTIVAL_ACCENT_VOICES) if accented else FESTIVAL_VOICES
        return Voice(engine, voices[rng.integers(len(voices))], settings)
    raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")

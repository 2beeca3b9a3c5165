"""A trained run -> one verified .tflite file (the pipeline behind ``leaf-edge convert``)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from converter.export import CALIBRATED_MODES, convert
from converter.fold import inference_model
from converter.verify import verify
from leaf_edge.atomic import atomic_path
from leaf_edge.data.folders import (
    AUDIO_SUFFIXES,
    AudioError,
    DataError,
    fit_length,
    index_folder,
    load_split,
    read_audio,
)
from leaf_edge.runs import load_run

CALIBRATION_CLIPS = 200


def calibration_clips(folder: Path, sample_rate: int, clip_samples: int, limit: int = CALIBRATION_CLIPS):
    """Up to ``limit`` clips from every readable audio file under ``folder`` (any layout)."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    step = max(1, len(paths) // limit)
    clips = []
    for path in paths[::step][:limit]:
        try:
            clips.append(fit_length(read_audio(path, sample_rate), clip_samples))
        except AudioError:
            continue
    if not clips:
        raise DataError(f"no readable audio files under {folder} for calibration")
    return np.stack(clips)


def convert_run(
    run: Path, output: Path, mode: str = "none", calibration: Path | None = None, log=print
) -> dict:
    """Fold, convert, verify on the run's test split, then write ``output`` atomically."""
    model, config = load_run(run)
    spec = config.spec
    index = index_folder(config.data, config.keywords) if Path(config.data).is_dir() else None
    clips = None
    if mode in CALIBRATED_MODES:
        if calibration is not None:
            clips = calibration_clips(calibration, spec.sample_rate, spec.clip_samples)
        elif index is not None:
            train = load_split(index, "train", spec.sample_rate, spec.clip_samples, config.seed)
            pick = np.random.default_rng(config.seed).permutation(len(train.waves))[:CALIBRATION_CLIPS]
            clips = train.waves[pick]
        else:
            raise DataError(
                f"--quantize {mode} needs calibration audio: the run's data ({config.data}) is gone; "
                "pass --calibration DIR"
            )
    log(f"folding the {type(model.layers[1]).__name__} frontend into constants")
    inference = inference_model(model)
    log(f"converting ({mode}" + (f", calibrating on {len(clips)} clips)" if clips is not None else ")"))
    tflite = convert(inference, mode, (lambda: (c[np.newaxis] for c in clips)) if clips is not None else None)
    if index is not None:
        test = load_split(index, "test", spec.sample_rate, spec.clip_samples, config.seed)
        waves, labels = test.waves, test.labels
    else:
        waves, labels = np.zeros((0, spec.clip_samples), np.float32), np.zeros(0, int)
    log(f"verifying on {len(waves)} test clips with LiteRT")
    keras_scores = (
        keras.ops.softmax(model.predict(waves, batch_size=64, verbose=0)).numpy() if len(waves) else None
    )
    report = {"mode": mode, **verify(tflite, keras_scores, waves, labels)}
    with atomic_path(output) as tmp:
        tmp.write_bytes(tflite)
    report["output"] = str(output)
    return report

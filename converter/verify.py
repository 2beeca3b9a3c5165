"""Check a converted model against its Keras original, with the runtime the device uses.

LiteRT (ai-edge-litert) runs the .tflite bytes; the report gives size, operators by type and
dtype, the ops left in float, accuracy next to Keras', top-1 agreement, the largest score
difference, single-thread latency, and how the default XNNPACK delegate covers the graph.
"""

from __future__ import annotations

import numpy as np

from device.bench import median_ms
from device.ops import op_summary, read_ops
from device.runtime import ModelRunner, xnnpack_coverage
from device.streaming import StreamRunner, paused_recording
from leaf_edge.guards import dominant_class_warning

BOOKKEEPING_OPS = {"QUANTIZE", "DEQUANTIZE"}


def scores(model: bytes, waves: np.ndarray, threads: int = 1) -> np.ndarray:
    """Float scores ``[N, labels]`` for waveforms ``[N, clip_samples]``, one invoke per clip."""
    return ModelRunner(model, threads).scores(waves)


def latency_ms(model: bytes, clip_samples: int, threads: int = 1, repeats: int = 30) -> float:
    """Median wall time of one invoke on a 1-clip input."""
    runner = ModelRunner(model, threads)
    silence = np.zeros(clip_samples, np.float32)
    return median_ms(lambda: runner.invoke(silence), repeats)


def verify(model: bytes, keras_scores: np.ndarray, waves: np.ndarray, labels: np.ndarray, names=()) -> dict:
    """The verification report of a converted model on labelled clips (``names``: the labels' names,
    for the warning about a model that predicts one class for most clips)."""
    ops = read_ops(model)
    quantized = any(op.output_type in ("INT8", "INT16") for op in ops)
    report = {
        "size_bytes": len(model),
        "ops": op_summary(ops),
        "float_ops": sorted(
            {op.name for op in ops if op.output_type == "FLOAT32" and op.name not in BOOKKEEPING_OPS}
        )
        if quantized
        else "all (not quantized)",
        "latency_ms_1_thread": round(latency_ms(model, waves.shape[1]), 2),
        "xnnpack": xnnpack_coverage(model),
    }
    if len(waves):
        tflite_scores = scores(model, waves)
        report.update(
            {
                "clips": int(len(waves)),
                "accuracy_tflite": float(np.mean(tflite_scores.argmax(1) == labels)),
                "accuracy_keras": float(np.mean(keras_scores.argmax(1) == labels)),
                "top1_agreement": float(np.mean(tflite_scores.argmax(1) == keras_scores.argmax(1))),
                "max_score_difference": float(np.abs(tflite_scores - keras_scores).max()),
                "collapse_warning": dominant_class_warning(
                    tflite_scores.argmax(1), labels, list(names), "the converted model"
                ),
            }
        )
    return report


MAX_POINTS_LOST = 1.0  # a quantized file losing more accuracy than this is worth a warning
MIN_CALIBRATION_AGREEMENT = 0.95


def conversion_warnings(report: dict) -> list[str]:
    """What a user should know about a conversion report, each with what to do about it."""
    warnings = []
    if report.get("collapse_warning"):
        warnings.append(report["collapse_warning"])
    if "accuracy_tflite" in report:
        lost = 100 * (report["accuracy_keras"] - report["accuracy_tflite"])
        if lost > MAX_POINTS_LOST:
            warnings.append(
                f"warning: {report['mode']} loses {lost:.1f} accuracy points on the test clips "
                f"({100 * report['accuracy_keras']:.1f} % float, {100 * report['accuracy_tflite']:.1f} % "
                f"{report['mode']}); try --quantize int16x8 or none, or more --calibration-draws"
            )
    agreement = report.get("calibration", {}).get("agreement")
    if agreement and max(agreement) < MIN_CALIBRATION_AGREEMENT:
        warnings.append(
            f"warning: the calibration draws agree with the float model on {min(agreement):.0%}-"
            f"{max(agreement):.0%} of validation clips (ranges drawn from few clips vary): try more "
            "--calibration-draws, a --calibration folder of typical audio, or --quantize int16x8"
        )
    return warnings


def verify_streaming(
    stream: bytes, waves: np.ndarray, labels: np.ndarray, window_model: bytes, delay: int
) -> dict:
    """The streaming model on the test clips played as one recording with pauses
    (:func:`device.streaming.paused_recording`), its label at the hop whose window is each clip
    against the clip's label and the window model's; latency per hop; XNNPACK cover.

    Unlike the window model, the stream carries PCEN's average and the filters' context across
    the pauses, as it does live.
    """
    runner = StreamRunner(stream)
    report = {
        "size_bytes": len(stream),
        "latency_ms_per_hop_1_thread": round(
            median_ms(lambda: runner.step(np.zeros(runner.hop_samples, np.float32))), 3
        ),
        "xnnpack": xnnpack_coverage(stream),
    }
    if not len(waves):
        return report
    audio, period = paused_recording(waves, runner.hop_samples, delay)
    runner.reset()
    streamed = []
    for start in range(0, len(audio), period):
        for hop in audio[start : start + period].reshape(-1, runner.hop_samples):
            last = runner.step(hop)
        streamed.append(last)
    streamed = np.array(streamed).argmax(1)
    report.update(
        {
            "clips": int(len(waves)),
            "pause_samples": period - waves.shape[1] - delay,
            "accuracy": float(np.mean(streamed == labels)),
            "top1_agreement_with_window": float(np.mean(streamed == scores(window_model, waves).argmax(1))),
        }
    )
    return report

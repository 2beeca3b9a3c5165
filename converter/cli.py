"""``leaf-edge convert``: a trained run -> a verified, builtins-only .tflite file."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import click

from converter import IO_TYPES, MODES
from device.cli import to_json
from device.contract import TASKS
from device.errors import user_errors
from leaf_edge.run_files import CALIBRATION_DRAWS


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quantize", type=click.Choice(MODES), default="none", show_default=True)
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Audio folder for int8/int16x8 calibration (default: the run's training split).",
)
@click.option(
    "--calibration-draws",
    type=click.IntRange(min=1),
    default=CALIBRATION_DRAWS,
    show_default=True,
    help="Without --calibration: convert with this many sets of 200 training clips and keep the "
    "one whose top-1 agrees most with the float model on the validation split.",
)
@click.option(
    "--io",
    "io_type",
    type=click.Choice(IO_TYPES),
    default="float32",
    show_default=True,
    help="int8: int8 scores output (needs --quantize int8); the waveform input stays float32.",
)
@click.option(
    "--gabor",
    type=click.Choice(["exact", "grouped"]),
    help="Evaluate LEAF's filterbank exactly or grouped at decimated rates (default: as trained).",
)
@click.option(
    "--stream-hop",
    type=float,
    help="Hop in seconds of the streaming model put inside a LEAF model's file (default: the task's).",
)
@click.option(
    "--task",
    type=click.Choice(TASKS),
    help="Detection defaults stored in the file: keywords (0.25 s hop), events (a quarter clip), "
    "scenes (half a clip, longer smoothing). Default: keywords if the model has _unknown_, else events.",
)
@click.option("--no-streaming", is_flag=True, help="Do not add a streaming model.")
@click.option("--name", help="Model name in the metadata (default: frontend-classifier).")
@click.option("--description", help="Model description in the metadata (default: derived from the run).")
@click.option("--model-version", default="1", show_default=True, help="Model version in the metadata.")
@click.option(
    "--licence", "--license", "licence", default="", help="Licence in the metadata, e.g. Apache-2.0."
)
@click.option("--author", default="", help="Author in the metadata.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@user_errors
def convert(
    run: Path,
    output: Path,
    quantize: str,
    calibration: Path | None,
    calibration_draws: int,
    io_type: str,
    gabor: str | None,
    stream_hop: float | None,
    task: str | None,
    no_streaming: bool,
    name: str | None,
    description: str | None,
    model_version: str,
    licence: str,
    author: str,
    force: bool,
    as_json: bool,
) -> None:
    """Fold RUN's model into TFLite builtins, quantize it, verify it and write OUTPUT.

    OUTPUT carries standard TFLite metadata (MediaPipe's AudioClassifier reads it), its labels
    and a leaf-edge entry; `leaf-edge inspect OUTPUT` shows them. OUTPUT appears only when
    everything succeeded (it is written to a temporary file first).

    \b
    Example:
      leaf-edge convert runs/leaf -o keywords.tflite --quantize int8
    """
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force to overwrite it")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise click.ClickException(f"cannot write to {folder}/")
    if io_type == "int8" and quantize != "int8":
        raise click.ClickException("--io int8 needs --quantize int8")
    from converter.convert import convert_run

    describe = {
        "name": name,
        "description": description,
        "version": model_version,
        "licence": licence,
        "author": author,
    }
    report = convert_run(
        run,
        output,
        quantize,
        calibration,
        describe,
        io_type,
        log=(lambda *_: None) if as_json else click.echo,
        gabor=gabor,
        streaming=not no_streaming,
        stream_hop=stream_hop,
        task=task,
        calibration_draws=calibration_draws,
    )
    if as_json:
        click.echo(to_json(report, indent=2))
        return
    click.echo(f"wrote {output} ({report['size_bytes'] / 1e6:.2f} MB, {quantize})")
    if "accuracy_tflite" in report:
        click.echo(
            f"test accuracy {report['accuracy_tflite']:.4f} (Keras {report['accuracy_keras']:.4f}) on "
            f"{report['clips']} clips; top-1 agreement {report['top1_agreement']:.4f}; "
            f"max score difference {report['max_score_difference']:.2e}"
        )
    if "calibration" in report:
        chosen = report["calibration"]
        click.echo(
            f"calibration: draw {chosen['chosen']} of {chosen['draws']} "
            f"(top-1 agreement with the float model on validation {max(chosen['agreement']):.4f})"
        )
    click.echo(f"latency {report['latency_ms_1_thread']:.1f} ms per window on 1 thread")
    coverage = report["xnnpack"]
    outside = ", ".join(f"{op} x{n}" for op, n in Counter(coverage["ops_outside"]).items()) or "none"
    click.echo(f"XNNPACK: {coverage['partitions']} partition(s); ops outside it: {outside}")
    stream = report.get("streaming")
    if stream:
        line = f"streaming model inside: hop {stream['hop_samples']} samples, "
        line += f"{stream['size_bytes'] / 1e6:.2f} MB, {stream['latency_ms_per_hop_1_thread']:.2f} ms per hop"
        if "accuracy" in stream:
            line += (
                f"; test clips with pauses: accuracy {stream['accuracy']:.4f}, "
                f"agreement with the window model {stream['top1_agreement_with_window']:.4f}"
            )
        click.echo(line)
    click.echo("ops: " + ", ".join(f"{name} x{count}" for name, count in report["ops"].items()))
    for warning in report["warnings"]:
        click.echo(warning)
    if isinstance(report["float_ops"], list):
        click.echo("left in float: " + (", ".join(report["float_ops"]) or "none"))

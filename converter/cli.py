"""``leaf-edge convert``: a trained run -> a verified, builtins-only .tflite file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from converter import MODES
from leaf_edge.cli import user_errors


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quantize", type=click.Choice(MODES), default="none", show_default=True)
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Audio folder for int8/int16x8 calibration (default: the run's training split).",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification report as JSON.")
@user_errors
def convert(
    run: Path, output: Path, quantize: str, calibration: Path | None, force: bool, as_json: bool
) -> None:
    """Fold RUN's model into TFLite builtins, quantize it, verify it and write OUTPUT.

    OUTPUT appears only when everything succeeded (it is written to a temporary file first).

    \b
    Example:
      leaf-edge convert runs/leaf -o keywords.tflite --quantize int8
    """
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force to overwrite it")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise click.ClickException(f"cannot write to {folder}/")
    from converter.convert import convert_run

    report = convert_run(run, output, quantize, calibration, log=(lambda *_: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"wrote {output} ({report['size_bytes'] / 1e6:.2f} MB, {quantize})")
    if "accuracy_tflite" in report:
        click.echo(
            f"test accuracy {report['accuracy_tflite']:.4f} (Keras {report['accuracy_keras']:.4f}) on "
            f"{report['clips']} clips; top-1 agreement {report['top1_agreement']:.4f}; "
            f"max score difference {report['max_score_difference']:.2e}"
        )
    click.echo(f"latency {report['latency_ms_1_thread']:.1f} ms per window on 1 thread")
    click.echo("ops: " + ", ".join(f"{name} x{count}" for name, count in report["ops"].items()))
    if isinstance(report["float_ops"], list):
        click.echo("left in float: " + (", ".join(report["float_ops"]) or "none"))

"""Device-side commands. Only LiteRT, numpy and audio libraries: never TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import click

from device.models import DEFAULT_MODEL
from leaf_edge.cli import user_errors


@click.command()
def demo() -> None:
    """Classify a bundled recording with the shipped default keyword model.

    \b
    Example:
      leaf-edge demo
    """
    if not DEFAULT_MODEL.exists():
        click.echo(
            f"No model ships yet: {DEFAULT_MODEL.name} is not in {DEFAULT_MODEL.parent}/.\n"
            "You can train and convert your own today (README: 'Train your own', 'Convert');\n"
            "the shipped model and the on-device runner come next."
        )
        return
    raise click.ClickException(f"{DEFAULT_MODEL} exists but this version cannot run it yet")


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@user_errors
def inspect(model: Path, as_json: bool) -> None:
    """Show what MODEL (.tflite) carries: metadata, labels, leaf-edge settings, ops, size.

    Reads the file itself (flatbuffers), without TensorFlow.

    \b
    Example:
      leaf-edge inspect models/keywords-leaf.tflite
    """
    from device.inspect import describe, format_description

    info = describe(model)
    click.echo(json.dumps(info, indent=2) if as_json else format_description(info))

"""Device-side commands. Only LiteRT, numpy and audio libraries: never TensorFlow."""

from __future__ import annotations

import click

from device.models import DEFAULT_MODEL


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

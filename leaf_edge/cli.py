"""The ``leaf-edge`` command: one click group whose subcommands load lazily.

Subcommands live next to the code they drive (``device.cli``, later ``converter.cli``...).
Loading them lazily keeps ``leaf-edge --help`` instant and lets a device-only install
(no TensorFlow) run the device commands.
"""

from __future__ import annotations

import importlib

import click

from leaf_edge import __version__

# name -> "module:attribute" of a click command
COMMANDS = {
    "data": "leaf_edge.commands:data",
    "train": "leaf_edge.commands:train",
    "evaluate": "leaf_edge.commands:evaluate",
    "calibrate": "leaf_edge.commands:calibrate",
    "convert": "converter.cli:convert",
    "demo": "device.cli:demo",
    "classify": "device.cli:classify",
    "inspect": "device.cli:inspect",
    "listen": "device.cli:listen",
    "bench": "device.cli:bench",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leaf-edge")
def main() -> None:
    """Train LEAF audio classifiers, fold them into TFLite and run them on a Raspberry Pi."""


if __name__ == "__main__":
    main()

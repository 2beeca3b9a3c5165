"""The ``leaf-edge`` entry point, and the rule that the device side never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from click.testing import CliRunner

from leaf_edge.cli import COMMANDS, main


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_demo_runs_and_says_what_is_missing():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "No model ships yet" in result.output


def test_unknown_command_is_a_one_line_error():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code != 0
    assert "No such command" in result.output and "Traceback" not in result.output


def test_device_side_and_cli_never_import_tensorflow():
    """A Pi has only the runtime: importing device code must not pull TensorFlow in."""
    probe = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import device, leaf_edge.cli
        for info in pkgutil.walk_packages(device.__path__, "device."):
            importlib.import_module(info.name)
        for name in leaf_edge.cli.COMMANDS.values():
            if name.startswith("device."):
                importlib.import_module(name.split(":")[0])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"tensorflow", "keras"})
        print(heavy)
        sys.exit(1 if heavy else 0)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

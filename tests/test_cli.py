"""The ``leaf-edge`` entry point, and the rule that the device side never imports TensorFlow."""

from __future__ import annotations

from click.testing import CliRunner

from leaf_edge.cli import COMMANDS, main


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_unknown_command_is_a_one_line_error():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code != 0
    assert "No such command" in result.output and "Traceback" not in result.output

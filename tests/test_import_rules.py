"""The flow's rules, read from what Python actually imports: conversion never needs training.

(The device side's rule, no TensorFlow and no other package of the project, is checked in
tests/device/test_no_tensorflow.py, in an environment without TensorFlow.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

TRAINING_MODULES = (
    "leaf_edge.train", "leaf_edge.runs", "leaf_edge.datasets", "leaf_edge.recipe", "leaf_edge.final_model",
    "leaf_edge.data", "leaf_edge.evaluate",
)  # fmt: skip


def test_the_converter_imports_no_training_data_or_evaluation_module():
    """A run converts from its folder alone: importing the converter (its CLI and pipeline) loads
    no module that reads data sets, trains or evaluates."""
    probe = textwrap.dedent(f"""
        import sys
        import converter.cli, converter.convert
        print(sorted(m for m in sys.modules if m.startswith({TRAINING_MODULES!r})))
    """)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"

"""A Pi has only the runtime: the device side must work without TensorFlow.

Everything in tests/device/ also runs in a device-only environment (`make test-device`:
`pip install '.[device]'`, no TensorFlow), which proves it for the commands as a whole.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


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


def test_device_code_imports_only_the_device_package_of_the_project():
    """The import rule, read from the source: device/ stands on itself, never on the training
    (leaf_edge) or conversion (converter) packages, so that a Pi needs neither."""
    import ast
    from pathlib import Path

    import device

    crossing = []
    for path in sorted(Path(device.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            crossing += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"leaf_edge", "converter"}]
    assert crossing == []

"""The code base stays ruff-clean (the same check as ``make lint``)."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([ruff, "check", str(root)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""`leaf-edge demo` (what `make demo` runs) on the shipped model and the bundled recording."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

SPOKEN_KEYWORDS = ["yes", "left", "stop", "up", "no", "right", "go", "down", "off"]  # + "okay", "then"


def test_demo_shows_the_keywords_of_the_bundled_recording(keyword_model, tmp_path):
    picture = tmp_path / "demo.png"
    result = subprocess.run(
        [sys.executable, "-m", "leaf_edge.cli", "demo", "--picture", str(picture), "--listen-seconds", "0"],
        capture_output=True, text=True, timeout=300, env={"PULSE_SERVER": "unix:/nonexistent", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = re.findall(r"^\s+[\d.]+ s\s+(\S+)\s+([\d.]+)\s+#+$", result.stdout, re.MULTILINE)
    assert [label for label, _ in rows] == SPOKEN_KEYWORDS, result.stdout
    assert "microphone" in result.stdout and "leaf-edge listen" in result.stdout
    if importlib.util.find_spec("matplotlib"):
        assert picture.stat().st_size > 20_000
    else:
        assert "picture    skipped" in result.stdout


def test_a_detection_is_drawn_over_the_loud_part_of_its_deciding_window():
    """The picture's band for a detection covers its word, not the whole window before the event."""
    import numpy as np

    from device.demo import word_span

    loudness = np.full(300, -60.0)  # 3 s of 10 ms frames, quiet
    loudness[130:170] = -12.0  # a word at 1.3-1.7 s
    loudness[40:60] = -10.0  # an earlier word, outside the deciding window
    start, end = word_span(loudness, 0.01, end=2.0, window_seconds=1.0)
    assert (round(start, 2), round(end, 2)) == (1.3, 1.7)

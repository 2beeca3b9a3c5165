"""Atomic writes and scratch folders: what a kill -9 leaves behind goes at the next write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from device.atomic import atomic_path, scratch_folder, write_json

GONE = 999_999_999  # above any pid_max: no such process


def test_a_killed_writers_temporary_file_goes_at_the_next_write(tmp_path):
    dead = tmp_path / f".best-{GONE}-abcd1234.keras"  # what kill -9 during a save left
    alive = tmp_path / f".best-{os.getpid()}-efgh5678.keras"  # a save in progress
    other = tmp_path / f".metrics-{GONE}-abcd1234.json"  # another target's: left to its own writes
    for path in (dead, alive, other):
        path.write_bytes(b"")
    with atomic_path(tmp_path / "best.keras") as tmp:
        tmp.write_bytes(b"model")
    assert (tmp_path / "best.keras").read_bytes() == b"model"
    assert not dead.exists() and alive.exists() and other.exists()
    write_json(tmp_path / "metrics.json", {"epoch": 1})
    assert not other.exists()


def test_a_killed_conversions_scratch_folder_goes_at_the_next_conversion():
    left = Path(tempfile.gettempdir()) / f"leaf-edge-export-{GONE}-abcd1234"
    (left / "variables").mkdir(parents=True, exist_ok=True)
    with scratch_folder("export") as folder:
        assert not left.exists() and Path(folder).is_dir()
        assert Path(folder).name.startswith(f"leaf-edge-export-{os.getpid()}-")
    assert not Path(folder).exists()


def test_a_folder_can_be_cleared_of_every_killed_writers_file(tmp_path):
    """What a resumed training run does first: any target's temporary files of ended processes."""
    from device.atomic import remove_leftovers

    names = [f".best-{GONE}-abcd1234.keras", f".metrics-{GONE}-x_y1z2w3.json",
             f".last-{os.getpid()}-abcd1234.keras", ".gitignore", "best.keras"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_bytes(b"")
    remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])

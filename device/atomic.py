"""Atomic file output: write to a temporary file beside the target, then rename over it.

An interrupted or failed write never leaves a half-written file under the target's name. A kill
-9 can still leave the temporary file (or a scratch folder) behind: their names carry the
writer's process id, and the next write of the same kind removes those of processes gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_leftovers(folder: Path, prefix: str | None = None) -> None:
    """Remove ``folder``'s entries named ``{prefix}{pid}-...`` whose process has ended; without a
    prefix, every temporary file :func:`atomic_path` left there."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-" if prefix else r"\..+-(\d+)-[a-z0-9_]{8}")
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = pattern.match(entry.name)
        if match and not _running(int(match.group(1))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (same folder, same suffix); on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.stem}-"
    remove_leftovers(path.parent, prefix)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{prefix}{os.getpid()}-", suffix=path.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_folder(kind: str) -> Iterator[str]:
    """A temporary folder ``leaf-edge-{kind}-{pid}-*`` in the system's temporary directory,
    removed after use; those of killed processes go at the next one's start."""
    prefix = f"leaf-edge-{kind}-"
    remove_leftovers(Path(tempfile.gettempdir()), prefix)
    folder = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_json(path: str | os.PathLike, data) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")

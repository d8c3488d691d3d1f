"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A build killed half way leaves at most a ``.*.tmp`` file (removed by ``doit prune``, and in a
tag's folder by that tag's next render job: ``Store.remove_temporaries``), never a
half-written file under a published name. Readers (serve.py, nginx) see the old or the new file.
"""

import os
import shutil
import threading
from pathlib import Path

TEMP_MARK = ".tmp-"


def temp_name(path: Path, per_thread: bool = False) -> Path:
    """Where a write of ``path`` is prepared before its rename: ``.{name}.tmp-{pid}`` in the
    same folder (``-{thread id}`` added with ``per_thread``, for paths that threads of one
    process may write at once: the catalog edits)."""
    suffix = f"-{threading.get_ident()}" if per_thread else ""
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}{suffix}")


def is_temporary(name: str) -> bool:
    """Whether the file name ``name`` is one ``temp_name`` makes (a killed writer's leftover
    when no writer is running)."""
    return name.startswith(".") and TEMP_MARK in name


def atomic_write_bytes(path: Path, data: bytes) -> int:
    """Write ``data`` to ``path`` atomically, creating parent folders. Returns the byte count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(path)
    try:
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return len(data)


def write_if_changed(path: Path, data: bytes) -> bool:
    """``atomic_write_bytes`` unless ``path`` already holds exactly ``data`` (an incremental
    build then leaves unchanged JSON objects alone: same mtime, nothing for a CDN to re-upload).
    Returns whether it wrote."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write_bytes(path, data)
    return True


def atomic_link(source: str | Path, path: str | Path) -> bool:
    """Publish ``source``'s bytes at ``path`` atomically: a hard link when the file system allows
    it (no extra space), else a copy. Both are plain files to a static host. Does nothing (and
    returns False) when ``path`` is already that file, or when ``source`` does not exist."""
    try:
        if os.path.samefile(source, path):
            return False
    except FileNotFoundError:
        if not os.path.exists(source):
            return False
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(path)
    temp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, temp)
        except OSError:
            shutil.copyfile(source, temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True

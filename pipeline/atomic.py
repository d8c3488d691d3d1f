"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A build killed half way leaves at most a ``.*.tmp`` file (removed by ``doit prune``), never a
half-written file under a published name. Readers (serve.py, nginx) see the old or the new file.
"""

import os
import shutil
from pathlib import Path

TEMP_MARK = ".tmp-"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> int:
    """Write ``data`` to ``path`` atomically, creating parent folders. Returns the byte count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return len(data)


def atomic_link(source: Path, path: Path) -> None:
    """Publish ``source``'s bytes at ``path`` atomically: a hard link when the file system allows
    it (no extra space), else a copy. Both are plain files to a static host."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
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

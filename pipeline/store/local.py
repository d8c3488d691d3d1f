"""``LocalStore``: the ``Store`` protocol on a local (or shared) folder.

Writes go through ``atomic.atomic_write_bytes`` (temp file in the same folder, then
``os.replace``); there is no fsync, so the guarantee is against a killed process, not a power
cut. Paths are checked with ``layout.resolve_inside``: nothing is read or written outside the
root.
"""

import os
from pathlib import Path
from typing import Iterator

from pipeline.model import layout
from pipeline.store.atomic import atomic_link, atomic_write_bytes, is_temporary


class LocalStore:
    """A folder as a ``Store``; ``root`` is created on the first write, not before."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.location!r})"

    def path(self, relpath: str) -> Path:
        """The absolute path of ``relpath``; ``ValueError`` if it would leave the root."""
        path = layout.resolve_inside(self.root, relpath)
        if path is None:
            raise ValueError(f"not a path inside the store: {relpath!r}")
        return path

    def put(self, relpath: str, data: bytes) -> int:
        return atomic_write_bytes(self.path(relpath), data)

    def exists(self, relpath: str) -> bool:
        # f-string + os.path: a no-op build asks this for every file of every tag
        return os.path.exists(f"{self.location}/{relpath}")

    def read(self, relpath: str) -> bytes:
        return self.path(relpath).read_bytes()

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root
        for folder, _dirs, files in os.walk(base):
            for name in files:
                rel = Path(folder, name).relative_to(base).as_posix()
                if rel.startswith(prefix):
                    yield rel

    def delete(self, relpath: str) -> bool:
        try:
            self.path(relpath).unlink()
        except FileNotFoundError:
            return False
        return True

    def remove_temporaries(self, folder: str) -> int:
        """Delete the temporary files (``atomic.is_temporary``: ``.{name}.tmp-{pid}``) directly in
        ``folder``; returns how many. Safe for a tag's folder at the start of its render job:
        one job renders a tag at a time (doit: one task per tag; Dask: one future per tag,
        re-run only after its worker is gone), so a temporary there is a killed writer's (a
        SIGKILLed Dask worker or doit process cannot remove its own)."""
        removed = 0
        try:
            names = os.listdir(self.path(folder))
        except (FileNotFoundError, NotADirectoryError):
            return 0
        for name in names:
            if is_temporary(name):
                try:
                    os.unlink(os.path.join(self.path(folder), name))
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def link(self, source: str, relpath: str) -> bool:
        """Publish the bytes already at ``source`` also at ``relpath`` (a hard link, else a
        copy; see ``atomic.atomic_link``). Returns whether anything changed."""
        return atomic_link(self.path(source), self.path(relpath))

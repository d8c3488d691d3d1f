"""Where the build's files go: the ``Store`` protocol and ``open_store``.

A store holds bytes under POSIX paths relative to the output root (``model.layout`` builds
every such path). Renders produce ``(relpath, bytes)`` pairs (``imaging.render``) and a store
writes them; nothing in the render path opens a file under ``output/`` itself. Today's store is
a local folder (``LocalStore``: temp file + ``os.replace``, so a killed build leaves no
half-written file under a published name); ``s3.S3Store`` (``output=s3://bucket/prefix``) implements the same
five methods on a bucket. ``open_store(location)`` turns the ``output=`` doit variable into a store, so a
worker process (or another machine) reopens the same store from a picklable string.
"""

from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """Bytes at relative POSIX paths (``images/{tag}/640x960-q90.jpg``).

    ``location``: the string ``open_store`` reopens this store from (a folder path or URL).
    """

    location: str

    def put(self, relpath: str, data: bytes) -> int:
        """Publish ``data`` at ``relpath`` atomically (readers see the old bytes or the new,
        never a part); create what is needed above it. Returns ``len(data)``."""
        ...

    def exists(self, relpath: str) -> bool:
        """Whether an object is published at ``relpath``."""
        ...

    def read(self, relpath: str) -> bytes:
        """The bytes at ``relpath``; raises ``FileNotFoundError`` when there are none."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Relative paths of every object whose path starts with ``prefix``, in no set order."""
        ...

    def delete(self, relpath: str) -> bool:
        """Remove ``relpath``; returns whether it was there."""
        ...

    def remove_temporaries(self, folder: str) -> int:
        """Delete what a killed writer left in ``folder`` (temporary files, never a published
        path); returns how many. A render job calls it for its tag's folder before writing."""
        ...


_REMOTE: dict[str, Store] = {}


def open_store(location: str | Path) -> Store:
    """The store for ``location``: a local folder path (``LocalStore``) or
    ``s3://bucket/prefix[?endpoint=URL]`` (``s3.S3Store``; one instance per location and
    process, so its listing is made once). Raises ``ValueError`` for a URL scheme no store
    implements."""
    text = str(location)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        if scheme != "s3":
            raise ValueError(f"output={text}: no store for {scheme}:// (known: a local folder, s3://)")
        if text not in _REMOTE:
            from pipeline.store.s3 import S3Store
            _REMOTE[text] = S3Store(text)
        return _REMOTE[text]
    from pipeline.store.local import LocalStore
    return LocalStore(text)


def as_store(store: "Store | str | Path") -> Store:
    """``store`` itself when it is a ``Store``, else ``open_store(store)``."""
    return store if isinstance(store, Store) else open_store(store)

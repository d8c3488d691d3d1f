"""The read models of a build: ``ServeIndex`` (serve.py) and ``Index`` (the nginx generator).

- ``ServeIndex``: ``output/index.sqlite`` (``outputs.sqlindex``) opened read-only; every lookup
  is one indexed query of O(1) rows, nothing is loaded at start. serve.py's app
  (``app.IndexHolder``) keeps one per index file and opens the new file when the build renames
  one over it (``changed``): picking up a rebuild costs one ``open``, whatever the library size.
- ``Index``: the whole ``manifest.json`` (``outputs.manifest``) loaded into dicts, for readers
  that walk every image and owner (``hosting.nginx`` builds its tables from it).

Both answer ``owner`` the same way (tests/test_index.py checks them against each other).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

from pipeline.model import layout
from pipeline.model.formats import FORMATS
from pipeline.model.ids import NAMED_COLLECTIONS, canonical_guid, name_key
from pipeline.outputs import manifest as manifest_file
from pipeline.outputs import sqlindex
from pipeline.outputs.manifest import ImageEntry
from pipeline.serve.request import NotFound

#: Parsed image records kept per ``ServeIndex`` (many owners share an image; a record is ~30
#: derivatives, so this bounds the memory at a few MB).
IMAGE_CACHE = 2048


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class ServeIndex:
    """``output/index.sqlite`` opened read-only (``sqlindex.open_index``), answered one query
    per lookup.

    ``path``: the index file; ``stamp``: (device, inode, mtime ns, size) of the file opened;
    ``mtime_ns``: its modification time (the build time ``/health`` reports);
    ``negotiate_format``, ``image_count`` and ``owner_counts`` (kind → count) from its ``meta``.
    One connection per ``ServeIndex`` (per worker process), shared by the worker's threads under
    a lock: it holds the file it opened, so one ``ServeIndex`` answers from one build even while
    a rebuild renames a new file over it. Raises ``FileNotFoundError`` when the file is missing
    and ``sqlindex.IndexFileError`` (a ``ValueError``) naming the file when it is unreadable or
    of another version.
    """

    def __init__(self, output: Path):
        self.output = Path(output)
        self.path = self.output / layout.INDEX
        try:
            st = os.stat(self.path)          # before opening: a rename after it is seen as a change
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path} not found: build first (doit)") from None
        self.stamp = _stamp(st)
        self.mtime_ns = st.st_mtime_ns
        self.connection = sqlindex.open_index(self.path)
        self._lock = threading.Lock()
        try:
            meta = dict(self.connection.execute("SELECT key, value FROM meta"))
            self.negotiate_format = meta.get("negotiate_format") == "1"
            self.image_count = int(meta.get("images", 0))
            self.owner_counts = {"Items": int(meta.get("items", 0)), "Users": int(meta.get("users", 0))}
        except (sqlite3.Error, ValueError) as exc:
            self.connection.close()
            raise sqlindex.IndexFileError(f"{self.path}: bad meta table ({exc}): rebuild (doit)") from None
        self._image = lru_cache(maxsize=IMAGE_CACHE)(self._read_image)

    def changed(self) -> bool:
        """Whether ``index.sqlite`` is now another file than the one opened (a rebuild renamed a
        new one over it) or is gone: one ``stat``."""
        try:
            return _stamp(os.stat(self.path)) != self.stamp
        except OSError:
            return True

    def _one(self, sql: str, params: tuple):
        with self._lock:
            try:
                return self.connection.execute(sql, params).fetchone()
            except sqlite3.DatabaseError as exc:   # the file was damaged under us
                raise sqlindex.IndexFileError(f"{self.path}: {exc}: rebuild (doit)") from None

    def owner(self, kind: str, owner_id: str) -> tuple[str, dict[str, list[str]]]:
        """(catalog id, {ImageType: [tag…]}) of an owner named by its published GUID, its
        catalog id (exactly, else case-insensitively) or, for a named-image collection, its
        name: as ``Index.owner``. At most three queries of one row each. Raises ``NotFound``."""
        if kind in NAMED_COLLECTIONS:
            row = self._one("SELECT o.id, o.slots FROM names n JOIN owners o ON o.kind = 'Items' AND o.id = n.id "
                            "WHERE n.collection = ? AND n.name_key = ?", (kind, name_key(owner_id)))
            if row is None:
                raise NotFound(f"no such {NAMED_COLLECTIONS[kind]}: {owner_id}")
            return row[0], json.loads(row[1])
        row = None
        guid = canonical_guid(owner_id)
        if guid is not None:
            row = self._one("SELECT o.id, o.slots FROM guids g JOIN owners o ON o.kind = g.kind AND o.id = g.id "
                            "WHERE g.kind = ? AND g.guid = ?", (kind, guid))
        if row is None:
            row = self._one("SELECT id, slots FROM owners WHERE kind = ? AND id = ?", (kind, owner_id))
        if row is None:
            row = self._one("SELECT o.id, o.slots FROM lower_ids l JOIN owners o ON o.kind = l.kind AND o.id = l.id "
                            "WHERE l.kind = ? AND l.lower_id = ?", (kind, owner_id.lower()))
        if row is None:
            raise NotFound(f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")
        return row[0], json.loads(row[1])

    def image(self, tag: str) -> ImageEntry:
        """The ``ImageEntry`` of ``tag`` (one query; the last ``IMAGE_CACHE`` kept parsed).
        Raises ``NotFound``, and ``ManifestError`` naming the file for a malformed record."""
        return self._image(tag)

    def _read_image(self, tag: str) -> ImageEntry:
        row = self._one("SELECT image FROM images WHERE tag = ?", (tag,))
        if row is None:
            raise NotFound(f"no image {tag}")
        return manifest_file.parse_image(tag, json.loads(row[0]), str(self.path))

    def store_mime(self, file: str) -> str | None:
        """The MIME type of a content-named file (``images/{tag}/{name}``: a derivative or an
        ART19 media asset), None when the build published no such file. One query."""
        row = self._one("SELECT mime FROM store WHERE file = ?", (file,))
        return row[0] if row else None

    def art19(self, collection: str, resource_id: str) -> dict | None:
        """The JSON:API resource ``resource_id`` of ``collection`` (``images`` or
        ``media_assets``), None when absent. One query."""
        row = self._one("SELECT resource FROM art19 WHERE collection = ? AND id = ?", (collection, resource_id))
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self.connection.close()


class Index:
    """``manifest.json`` of ``output`` loaded into memory (for readers of every entry:
    ``hosting.nginx``; serve.py uses ``ServeIndex``).

    ``images``: ``ImageEntry`` by tag; ``owners``: kind → id → {ImageType: [tag…]};
    ``negotiate_format``; ``art19``: ``{"images": {id: resource}, "media_assets": {id:
    resource}}``; ``store``: content-named file → MIME type; ``lower_ids``: kind → lowercase id →
    id; ``manifest``: the file's path and ``mtime_ns`` its modification time when read.
    Raises ``FileNotFoundError`` without a manifest and ``ManifestError`` for a bad one.
    """

    def __init__(self, output: Path):
        self.output = Path(output)
        self.manifest = self.output / layout.MANIFEST
        data, self.mtime_ns = manifest_file.read_stamped(self.output)
        self.data = data
        self.images: dict[str, ImageEntry] = data.images
        self.owners: dict[str, dict[str, dict[str, list[str]]]] = data.owners
        self.negotiate_format: bool = data.negotiate_format
        assets = data.podcast.media_assets
        self.art19 = {"images": data.podcast.images,
                      "media_assets": {i: a.resource for i, a in assets.items()}}
        self.store = {d.file: FORMATS[d.format].mime for image in self.images.values() for d in image.derivatives}
        self.store.update({a.file: a.resource["attributes"]["content_type"] for a in assets.values()})
        self.lower_ids = {kind: {i.lower(): i for i in ids} for kind, ids in self.owners.items()}
        self.guids: dict[str, dict[str, str]] = data.ids     # kind → published GUID → catalog id
        self.names: dict[str, dict[str, str]] = data.names   # Artists … → name key → catalog id

    def owner(self, kind: str, owner_id: str) -> tuple[str, dict[str, list[str]]]:
        """(catalog id, {ImageType: [tag…]}) of an owner named by its published GUID
        (``ids.canonical_guid``: 32 hex digits or dashed, any case) or by its catalog id
        (exactly, else case-insensitively); for a named-image collection (``Artists`` …,
        ``ids.NAMED_COLLECTIONS``) ``owner_id`` is the name, matched by ``ids.name_key``.
        Raises ``NotFound``."""
        if kind in NAMED_COLLECTIONS:    # /Artists/{name}/Images/…: the item of that name
            found = self.names.get(kind, {}).get(name_key(owner_id))
            if found is None:
                raise NotFound(f"no such {NAMED_COLLECTIONS[kind]}: {owner_id}")
            return found, self.owners["Items"][found]
        owners = self.owners.get(kind, {})
        guid = canonical_guid(owner_id)
        if guid is not None and guid in self.guids.get(kind, {}):
            owner_id = self.guids[kind][guid]
        if owner_id not in owners:
            owner_id = self.lower_ids.get(kind, {}).get(owner_id.lower(), owner_id)
        if owner_id not in owners:
            raise NotFound(f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")
        return owner_id, owners[owner_id]

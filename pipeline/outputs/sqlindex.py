"""``index.sqlite``: serve.py's read model of a build, an SQLite file keyed for its lookups.

``manifest.json`` (``outputs.manifest``) stays the build's typed record (prune, report, nginx,
``doit publish``); this file holds the same facts in tables so that serve.py answers a request
with a few indexed look-ups instead of holding the whole manifest in memory: start-up opens
the file, a request reads O(1) rows, a rebuild is picked up by opening the new file (issue 12
item 4). Written by the ``objects`` step (``write``) after every object it names and before
``manifest.json``: built in a temporary file (``.index.sqlite.tmp-PID``) and renamed over the
old one, so a reader has the old or the new file, never a partial one; a reader that opened the
old file keeps reading it (the open file survives the rename) until it reopens.

Only the standard library's ``sqlite3``, ``pipeline.model`` and ``outputs.manifest`` (for the
image records' JSON shape and checks) are imported: the serve side may import this module.

Tables (``INDEX_VERSION`` 1; every table ``WITHOUT ROWID``, keyed by its lookup)::

    meta(key PRIMARY KEY, value)            "version" (INDEX_VERSION), "negotiate_format" (0/1),
                                            "manifest_sha256" (of the manifest.json bytes it
                                            mirrors), "images", "items", "users" (counts)
    owners(kind, id, slots)                 kind "Items"|"Users"; slots: JSON {ImageType: [tag…]}
    lower_ids(kind, lower_id, id)           id.lower() → id (the last owner of that spelling)
    guids(kind, guid, id)                   published GUID (32 lowercase hex) → catalog id
    names(collection, name_key, id)         Artists … → ids.name_key(name) → item id
    images(tag, image)                      image: JSON as manifest.json's images.<tag>
                                            (type, source, width, height, format, quality,
                                            derivatives with their files)
    store(file, mime)                       content-named file (derivative, media asset) → MIME
    art19(collection, id, resource)         "images"|"media_assets" → JSON:API resource (JSON)

Errors: ``open_index`` raises ``FileNotFoundError`` ("… not found: build first (doit)") when the
file is missing and ``IndexFileError`` (a ``ValueError``) naming the file when it is not an
SQLite file, not a serve index, or of another ``INDEX_VERSION`` (rebuild with this code).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from pipeline.model import layout
from pipeline.model.formats import FORMATS
from pipeline.store.atomic import temp_name

#: The schema this code writes and reads. Bump it when a table changes incompatibly.
INDEX_VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE owners (kind TEXT, id TEXT, slots TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE TABLE lower_ids (kind TEXT, lower_id TEXT, id TEXT NOT NULL, PRIMARY KEY (kind, lower_id)) WITHOUT ROWID;
CREATE TABLE guids (kind TEXT, guid TEXT, id TEXT NOT NULL, PRIMARY KEY (kind, guid)) WITHOUT ROWID;
CREATE TABLE names (collection TEXT, name_key TEXT, id TEXT NOT NULL, PRIMARY KEY (collection, name_key)) WITHOUT ROWID;
CREATE TABLE images (tag TEXT PRIMARY KEY, image TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE store (file TEXT PRIMARY KEY, mime TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE art19 (collection TEXT, id TEXT, resource TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;
"""


class IndexFileError(ValueError):
    """``index.sqlite`` is not an SQLite file, not a serve index, or of another version. The
    message names the file and says what to do (rebuild)."""


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def written_digest(output: str | Path) -> str | None:
    """The ``manifest_sha256`` of the index now in ``output`` when it is of this
    ``INDEX_VERSION``, else None (missing, unreadable, older)."""
    try:
        connection = open_index(Path(output) / layout.INDEX)
    except (OSError, ValueError):
        return None
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'manifest_sha256'").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def write(output: str | Path, value: dict, digest: str) -> bool:
    """Write ``output/index.sqlite`` from ``value``, a manifest's JSON value
    (``Manifest.to_json()``, the shape in ``outputs.manifest``'s doc), unless the index there
    already mirrors the manifest bytes of SHA-256 ``digest``. Built in a temporary file in the
    same folder, then renamed over the old index (atomic). Returns whether it wrote.

    Call it after every file the manifest names is in place and before ``manifest.json``."""
    output = Path(output)
    if written_digest(output) == digest:
        return False
    path = output / layout.INDEX
    temp = temp_name(path)
    temp.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(temp)
        try:
            connection.execute("PRAGMA journal_mode = OFF")   # a temporary file: no rollback needed
            connection.execute("PRAGMA synchronous = OFF")
            connection.executescript(SCHEMA)
            _fill(connection, value, digest)
            connection.commit()
        finally:
            connection.close()
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def _fill(connection: sqlite3.Connection, value: dict, digest: str) -> None:
    owners = value["owners"]
    images = value["images"]
    podcast = value.get("podcast", {})
    meta = {"version": INDEX_VERSION, "negotiate_format": int(bool(value.get("negotiate_format"))),
            "manifest_sha256": digest, "images": len(images),
            "items": len(owners.get("Items", {})), "users": len(owners.get("Users", {}))}
    connection.executemany("INSERT INTO meta VALUES (?, ?)", ((k, str(v)) for k, v in meta.items()))
    connection.executemany("INSERT INTO owners VALUES (?, ?, ?)",
                           ((kind, owner_id, _json(slots)) for kind, by_id in owners.items()
                            for owner_id, slots in by_id.items()))
    connection.executemany("INSERT OR REPLACE INTO lower_ids VALUES (?, ?, ?)",   # the last one wins
                           ((kind, owner_id.lower(), owner_id) for kind, by_id in owners.items()
                            for owner_id in by_id))
    connection.executemany("INSERT INTO guids VALUES (?, ?, ?)",
                           ((kind, guid, owner_id) for kind, by_guid in value.get("ids", {}).items()
                            for guid, owner_id in by_guid.items()))
    connection.executemany("INSERT INTO names VALUES (?, ?, ?)",
                           ((collection, key, item_id) for collection, by_key in value.get("names", {}).items()
                            for key, item_id in by_key.items()))
    connection.executemany("INSERT INTO images VALUES (?, ?)", ((tag, _json(image)) for tag, image in images.items()))
    store = {d["file"]: FORMATS[d["format"]].mime for image in images.values() for d in image["derivatives"]}
    assets = podcast.get("media_assets", {})
    store.update({a["file"]: a["resource"]["attributes"]["content_type"] for a in assets.values()})
    connection.executemany("INSERT INTO store VALUES (?, ?)", store.items())
    connection.executemany("INSERT INTO art19 VALUES (?, ?, ?)",
                           [("images", i, _json(r)) for i, r in podcast.get("images", {}).items()]
                           + [("media_assets", i, _json(a["resource"])) for i, a in assets.items()])


def from_manifest(output: str | Path) -> bool:
    """(Re)write ``output/index.sqlite`` from the ``manifest.json`` there (read and checked by
    ``outputs.manifest``): for an output built before the index existed, and for tests.
    Returns whether it wrote. Raises as ``manifest.read``."""
    import hashlib
    from pipeline.outputs import manifest as manifest_file
    data = (Path(output) / layout.MANIFEST).read_bytes()
    value = manifest_file.read(output).to_json()
    return write(output, value, hashlib.sha256(data).hexdigest())


def open_index(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to the index file ``path`` (URI ``mode=ro&immutable=1``: the build
    never changes a published index in place, it renames a new one over it, so SQLite needs no
    locks; the connection keeps reading the file it opened), its version checked. Usable from
    any thread (``check_same_thread=False``; the caller serialises its use). Raises
    ``FileNotFoundError`` and ``IndexFileError`` (module doc)."""
    path = Path(path).absolute()
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: build first (doit)")
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise IndexFileError(f"{path}: cannot open: {exc}") from None
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError as exc:   # not a database, no meta table, a damaged file
        connection.close()
        raise IndexFileError(f"{path}: not a serve index ({exc}): rebuild (doit)") from None
    if row is None or row[0] != str(INDEX_VERSION):
        connection.close()
        found = "no version" if row is None else f"version {row[0]}"
        raise IndexFileError(f"{path}: {found}, this code reads version {INDEX_VERSION}: rebuild (doit) "
                             f"with this code")
    return connection

"""pipeline.outputs.sqlindex: the serve index file (issue 12 item 4): what it holds, that it is
written atomically and only when the manifest changed, and that a bad file is a clear error."""

import hashlib
import json
import os
import sqlite3

import pytest

from pipeline.model import layout
from pipeline.outputs import manifest, sqlindex
from pipeline.outputs.sqlindex import INDEX_VERSION, IndexFileError, open_index

GUID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TAG = "0123456789abcdef0123456789abcdef"


def value(owner_ids=("Nature-Series", "ep1"), negotiate=False) -> dict:
    """A small manifest value (as ``Manifest.to_json()``), checked by ``manifest.parse``."""
    image = {"type": "Primary", "source": "media/a.jpg", "width": 96, "height": 64, "format": "Jpg",
             "quality": 90, "derivatives": [
                 {"file": f"images/{TAG}/64x43-q80.webp", "width": 64, "height": 43, "format": "Webp",
                  "quality": 80, "original": False, "keeps_aspect": True, "bytes": 10},
                 {"file": f"images/{TAG}/original.jpg", "width": 96, "height": 64, "format": "Jpg",
                  "quality": None, "original": True, "keeps_aspect": True, "bytes": 20}]}
    asset = {"resource": {"id": "m1", "type": "media_assets",
                          "attributes": {"content_type": "image/png", "attachment_id": "i1"}},
             "file": f"images/{TAG}/square.png"}
    v = {"version": 1, "negotiate_format": negotiate, "images": {TAG: image},
         "owners": {"Items": {i: {"Primary": [TAG]} for i in owner_ids}, "Users": {"alice": {}}},
         "podcast": {"images": {"i1": {"id": "i1", "type": "images", "attributes": {"bucket_type": "Series"}}},
                     "media_assets": {"m1": asset}, "feeds": {}},
         "failed": [], "ids": {"Items": {GUID: owner_ids[0]}, "Users": {"0" * 31 + "1": "alice"}},
         "names": {}}
    return manifest.parse(v).to_json()


def write(output, v) -> bool:
    return sqlindex.write(output, v, hashlib.sha256(manifest.dumps(v)).hexdigest())


def test_tables_hold_the_manifest_keyed_for_lookups(tmp_path):
    v = value()
    assert write(tmp_path, v)
    db = open_index(tmp_path / layout.INDEX)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    assert meta == {"version": str(INDEX_VERSION), "negotiate_format": "0", "images": "1", "items": "2",
                    "users": "1", "manifest_sha256": hashlib.sha256(manifest.dumps(v)).hexdigest()}
    assert json.loads(db.execute("SELECT slots FROM owners WHERE kind='Items' AND id='ep1'").fetchone()[0]) \
        == {"Primary": [TAG]}
    assert db.execute("SELECT id FROM lower_ids WHERE kind='Items' AND lower_id='nature-series'").fetchone() \
        == ("Nature-Series",)
    assert db.execute("SELECT id FROM guids WHERE kind='Items' AND guid=?", (GUID,)).fetchone() == ("Nature-Series",)
    stored = json.loads(db.execute("SELECT image FROM images WHERE tag=?", (TAG,)).fetchone()[0])
    assert manifest.parse_image(TAG, stored, "x") == manifest.parse(v).images[TAG]
    assert dict(db.execute("SELECT file, mime FROM store")) == {
        f"images/{TAG}/64x43-q80.webp": "image/webp", f"images/{TAG}/original.jpg": "image/jpeg",
        f"images/{TAG}/square.png": "image/png"}
    assert json.loads(db.execute("SELECT resource FROM art19 WHERE collection='media_assets' AND id='m1'")
                      .fetchone()[0])["attributes"]["attachment_id"] == "i1"


def test_the_connection_is_read_only(tmp_path):
    write(tmp_path, value())
    db = open_index(tmp_path / layout.INDEX)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM owners")


def test_written_only_when_the_manifest_changed_and_by_rename(tmp_path):
    path = tmp_path / layout.INDEX
    assert write(tmp_path, value())
    first = os.stat(path)
    assert not write(tmp_path, value())                  # same manifest bytes: left alone
    assert os.stat(path).st_ino == first.st_ino
    assert write(tmp_path, value(negotiate=True))         # changed: a new file renamed over it
    assert os.stat(path).st_ino != first.st_ino
    assert dict(open_index(path).execute("SELECT key, value FROM meta"))["negotiate_format"] == "1"
    assert [p.name for p in tmp_path.iterdir()] == [layout.INDEX]   # no temporary left


def test_same_manifest_gives_the_same_bytes(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write(tmp_path / name, value())
    assert (tmp_path / "a" / layout.INDEX).read_bytes() == (tmp_path / "b" / layout.INDEX).read_bytes()


def test_a_failed_write_leaves_the_old_index_and_no_temporary(tmp_path):
    write(tmp_path, value())
    before = (tmp_path / layout.INDEX).read_bytes()
    bad = value()
    bad["images"][TAG]["derivatives"][0]["format"] = "Nope"   # no such format: KeyError half way
    with pytest.raises(KeyError):
        sqlindex.write(tmp_path, bad, "other")
    assert (tmp_path / layout.INDEX).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [layout.INDEX]


def test_from_manifest_mirrors_the_manifest_file(tmp_path):
    (tmp_path / layout.MANIFEST).write_bytes(manifest.dumps(value()))
    assert sqlindex.from_manifest(tmp_path)
    assert sqlindex.written_digest(tmp_path) == hashlib.sha256((tmp_path / layout.MANIFEST).read_bytes()).hexdigest()
    assert not sqlindex.from_manifest(tmp_path)


def test_missing_index_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / layout.INDEX} not found: build first"):
        open_index(tmp_path / layout.INDEX)


@pytest.mark.parametrize("kind", ["garbage", "empty", "other database", "no version", "old version",
                                  "truncated"])
def test_a_bad_index_is_an_error_naming_the_file(tmp_path, kind):
    path = tmp_path / layout.INDEX
    if kind == "garbage":
        path.write_bytes(b"not a database at all, but long enough to have a header" * 100)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        write(tmp_path, value())
        path.write_bytes(path.read_bytes()[:200])
    else:
        db = sqlite3.connect(path)
        if kind == "other database":
            db.execute("CREATE TABLE t (x)")
        else:
            db.executescript(sqlindex.SCHEMA)
            if kind == "old version":
                db.execute("INSERT INTO meta VALUES ('version', '0')")
        db.commit()
        db.close()
    with pytest.raises(IndexFileError, match=str(path)) as info:
        open_index(path)
    assert "rebuild (doit)" in str(info.value)
    if kind == "old version":
        assert f"version 0, this code reads version {INDEX_VERSION}" in str(info.value)

"""pipeline.serve.index: ``ServeIndex`` (serve.py's SQLite reader) against ``Index`` (the
manifest reader), the queries a request costs, the pick-up of a rebuild, and bad index files
(issue 12 item 4). Query counts come from SQLite's trace callback, never from timings."""

import hashlib
import json
import os
import sqlite3
import threading
import tracemalloc

import pytest
from werkzeug.test import Client

from conftest import run_doit
from pipeline.model import layout
from pipeline.outputs import manifest, sqlindex
from pipeline.serve import index as index_module
from pipeline.serve.app import App, IndexHolder
from pipeline.serve.index import Index, ServeIndex
from pipeline.serve.ops import WaitingApp
from pipeline.serve.request import NotFound
from test_build import make_library, tag_of

GUID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def dashed(guid: str) -> str:
    return f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"


def write_both(output, v: dict) -> None:
    """manifest.json and index.sqlite of the manifest value ``v``."""
    data = manifest.dumps(manifest.parse(v).to_json())
    (output / layout.MANIFEST).write_bytes(data)
    sqlindex.write(output, manifest.parse(v).to_json(), hashlib.sha256(data).hexdigest())


def owners_value(n: int, tag: str = "0" * 32) -> dict:
    """A manifest value of ``n`` items (``item000000`` …), each with one Primary image ``tag``."""
    image = {"type": "Primary", "source": "a.jpg", "width": 96, "height": 64, "format": "Jpg", "quality": 90,
             "derivatives": [{"file": f"images/{tag}/original.jpg", "width": 96, "height": 64, "format": "Jpg",
                              "quality": None, "original": True, "keeps_aspect": True, "bytes": 1}]}
    items = {f"item{i:06d}": {"Primary": [tag]} for i in range(n)}
    return {"version": 1, "images": {tag: image}, "owners": {"Items": items, "Users": {}},
            "ids": {"Items": {hashlib.md5(k.encode()).hexdigest(): k for k in items}}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    catalog = make_library(root, n=2)
    output = root / "out"
    run_doit(catalog, output, check=True)
    return root, catalog, output


def traced(index: ServeIndex) -> list[str]:
    statements: list[str] = []
    index.connection.set_trace_callback(statements.append)
    return statements


# --- same answers as the manifest reader -----------------------------------------------------

def test_owner_lookups_match_the_manifest_reader(tmp_path):
    write_both(tmp_path, {
        "version": 1, "images": {}, "owners": {"Items": {"Nature-Series": {}, "Queen": {}}, "Users": {"alice": {}}},
        "ids": {"Items": {GUID: "Nature-Series"}, "Users": {"0" * 31 + "1": "alice"}},
        "names": {"Artists": {"queen": "Queen"}}})
    full, served = Index(tmp_path), ServeIndex(tmp_path)
    for kind, spelling in [("Items", GUID), ("Items", GUID.upper()), ("Items", dashed(GUID)),
                           ("Items", "Nature-Series"), ("Items", "nature-SERIES"), ("Users", dashed("0" * 31 + "1")),
                           ("Artists", "Queen"), ("Artists", "QUEEN")]:
        assert served.owner(kind, spelling) == full.owner(kind, spelling), (kind, spelling)
    for kind, missing in [("Items", "0" * 32), ("Items", "show"), ("Users", GUID), ("Artists", "nobody")]:
        with pytest.raises(NotFound):
            full.owner(kind, missing)
        with pytest.raises(NotFound):
            served.owner(kind, missing)
    assert served.image_count == 0 and served.owner_counts == {"Items": 2, "Users": 1}


def test_images_store_and_art19_match_the_built_manifest(built):
    _, _, output = built
    full, served = Index(output), ServeIndex(output)
    for tag, image in full.images.items():
        assert served.image(tag) == image
    for file, mime in full.store.items():
        assert served.store_mime(file) == mime
    assert served.store_mime("images/nothing/x.jpg") is None
    with pytest.raises(NotFound):
        served.image("f" * 32)
    assert served.negotiate_format == full.negotiate_format


# --- O(1): queries per request, nothing loaded at start ---------------------------------------

REQUESTS = {
    "/Items/item000007/Images/Primary?maxWidth=64": 2,           # owner by id, image by tag
    "/Items/ITEM000007/Images/Primary?maxWidth=64": 3,           # + the lowercase spelling
    "/Items/item000007": 1,                                      # the object: the owner only
    "/Items/nothing/Images/Primary": 2,                          # exact, lowercase: 404
}


@pytest.mark.parametrize("items", [10, 20_000])
def test_a_request_costs_the_same_few_queries_whatever_the_library_size(tmp_path, items):
    write_both(tmp_path, owners_value(items))
    app = App(tmp_path, reload_interval=3600)
    statements = traced(app.indexes.index)
    client = Client(app)
    for url, queries in REQUESTS.items():
        app.indexes.index._image.cache_clear()                   # count the image's query too
        del statements[:]
        client.get(url)
        assert len(statements) == queries, (url, statements)
    client.get("/Items/item000009/Images/Primary?maxWidth=64")
    del statements[:]
    client.get("/Items/item000008/Images/Primary?maxWidth=64")    # a kept image record: no query for it
    assert len(statements) == 1
    guid = hashlib.md5(b"item000007").hexdigest()
    app.indexes.index._image.cache_clear()
    del statements[:]
    client.get(f"/Items/{dashed(guid).upper()}/Images/Primary?maxWidth=32")
    assert len(statements) == 2                                   # GUID → owner (one join), image


def test_start_up_reads_only_the_meta_row_and_allocates_little(tmp_path, monkeypatch):
    write_both(tmp_path, owners_value(20_000))
    seen: list[str] = []
    real = index_module.sqlindex.open_index

    def open_traced(path):
        connection = real(path)
        connection.set_trace_callback(seen.append)
        return connection
    monkeypatch.setattr(index_module.sqlindex, "open_index", open_traced)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        index = ServeIndex(tmp_path)
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert seen and all("FROM meta" in s for s in seen), seen
    assert index.owner_counts["Items"] == 20_000
    assert grown < 200_000, f"{grown} bytes allocated opening a 20,000-item index"


# --- pick-up of a rebuild: atomic, O(1) ------------------------------------------------------

def test_a_rebuild_is_picked_up_by_reopening_and_the_old_index_keeps_its_build(tmp_path):
    write_both(tmp_path, owners_value(3, tag="a" * 32))
    holder = IndexHolder(tmp_path, interval=0)
    old = holder.current()
    assert old.owner("Items", "item000001")[1] == {"Primary": ["a" * 32]}
    assert holder.current() is old                                # unchanged file: same index
    write_both(tmp_path, owners_value(3, tag="b" * 32))
    new = holder.current()
    assert new is not old and new.owner("Items", "item000001")[1] == {"Primary": ["b" * 32]}
    # the old connection still reads the file it opened: one build, whole, never a mix
    assert old.owner("Items", "item000001")[1] == {"Primary": ["a" * 32]}
    assert old.image("a" * 32).tag == "a" * 32


def test_readers_during_rebuilds_see_the_old_or_the_new_index_never_a_partial_one(tmp_path):
    tags = ["a" * 32, "b" * 32]
    values = [owners_value(2000, tag=t) for t in tags]
    write_both(tmp_path, values[0])
    holder = IndexHolder(tmp_path, interval=0)
    problems, seen, stop = [], set(), threading.Event()

    def read():
        for _ in range(20_000):                                   # bounded; stopped by the writer
            if stop.is_set():
                return
            try:
                index = holder.current()
                slots = index.owner("Items", "item001999")[1]
                seen.add(index.image(slots["Primary"][0]).tag)
                fresh = ServeIndex(tmp_path)                      # a new reader opening mid-rename
                seen.add(fresh.owner("Items", "item000000")[1]["Primary"][0])
            except Exception as exc:                              # noqa: BLE001 - any failure is the finding
                problems.append(repr(exc))
                return
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(12):
            write_both(tmp_path, values[(n + 1) % 2])
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not problems, problems[:3]
    assert seen <= set(tags) and seen


# --- missing, corrupt, other version: clear errors -------------------------------------------

def test_missing_index_names_the_file(tmp_path):
    (tmp_path / layout.MANIFEST).write_bytes(manifest.dumps(manifest.parse(owners_value(1)).to_json()))
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / layout.INDEX} not found: build first"):
        App(tmp_path)


def test_waiting_app_answers_503_naming_a_bad_index_then_serves_a_good_one(tmp_path):
    (tmp_path / layout.INDEX).write_bytes(b"SQLite format 2\0" + b"x" * 4000)
    waiting = WaitingApp(tmp_path / layout.INDEX, lambda: App(tmp_path), interval=0)
    client = Client(waiting)
    health = client.get("/health")
    assert health.status_code == 503 and str(tmp_path / layout.INDEX) in json.loads(health.data)["reason"]
    answer = client.get("/Items/item000000")
    assert answer.status_code == 503 and str(tmp_path / layout.INDEX) in answer.get_data(as_text=True)
    write_both(tmp_path, owners_value(1))
    assert client.get("/health").status_code == 200


def test_an_index_of_another_version_is_refused_and_the_old_one_kept(built, tmp_path):
    _, _, output = built
    app = App(output, reload_interval=0)
    client = Client(app)
    url = "/Items/item0/Images/Primary?maxWidth=64"
    assert client.get(url).status_code == 200
    copy = tmp_path / "old"
    copy.write_bytes((output / layout.INDEX).read_bytes())
    try:
        db = sqlite3.connect(tmp_path / "v0.sqlite")
        db.executescript(sqlindex.SCHEMA)
        db.execute("INSERT INTO meta VALUES ('version', '0')")
        db.commit()
        db.close()
        os.replace(tmp_path / "v0.sqlite", output / layout.INDEX)
        assert client.get(url).status_code == 200                     # still the previous index
        assert "version 0, this code reads version" in app.indexes.error
        assert str(output / layout.INDEX) in app.indexes.error
    finally:
        os.replace(copy, output / layout.INDEX)


def test_a_damaged_record_is_a_503_naming_the_file(built, tmp_path):
    import shutil
    _, _, output = built
    out = tmp_path / "out"
    shutil.copytree(output, out, ignore=shutil.ignore_patterns(".cache"))
    db = sqlite3.connect(out / layout.INDEX)
    db.execute("UPDATE images SET image = '{\"type\": 3}'")
    db.commit()
    db.close()
    response = Client(App(out)).get("/Items/item0/Images/Primary?maxWidth=64")
    assert response.status_code == 503
    assert str(out / layout.INDEX) in response.get_data(as_text=True)


def test_the_build_writes_the_index_of_its_manifest(built):
    _, _, output = built
    data = (output / layout.MANIFEST).read_bytes()
    assert sqlindex.written_digest(output) == hashlib.sha256(data).hexdigest()
    assert ServeIndex(output).owner("Items", "item1")[1]["Primary"] == [tag_of(output, "item1")]


def test_uploads_put_the_index_just_before_the_manifest(built, tmp_path):
    from pipeline.outputs.objects import upload_objects
    from pipeline.outputs.publish import SQLITE_TYPE, local_files
    _, _, output = built
    files = local_files(output)
    assert [f.rel for f in files[-2:]] == [layout.INDEX, layout.MANIFEST]
    assert files[-2].content_type == SQLITE_TYPE

    class Recorder:
        location = "memory://"

        def __init__(self):
            self.put_order = []

        def put(self, rel, data):
            self.put_order.append(rel)

        def exists(self, rel):
            return False
    work = tmp_path / "work"
    import shutil
    shutil.copytree(output, work, ignore=shutil.ignore_patterns(".cache"))
    store = Recorder()
    upload_objects(work, store, [layout.MANIFEST, layout.INDEX, "Items/item0/index.json"])
    assert store.put_order == ["Items/item0/index.json", layout.INDEX, layout.MANIFEST]


def test_an_output_without_its_index_gets_it_from_the_next_build(tmp_path):
    """An output built before the index existed (or whose index was deleted): the next ``doit``
    writes it, although nothing else changed."""
    catalog = make_library(tmp_path, n=1)
    output = tmp_path / "out"
    run_doit(catalog, output, check=True)
    (output / layout.INDEX).unlink()
    run_doit(catalog, output, check=True)
    assert sqlindex.written_digest(output) == hashlib.sha256((output / layout.MANIFEST).read_bytes()).hexdigest()

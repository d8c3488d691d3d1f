"""pipeline.serve.app through Werkzeug's test client: routing, caching, reload after a rebuild."""

import json

import pytest
from PIL import Image
from werkzeug.test import Client

from conftest import run_doit
from pipeline.serve.app import App
from test_build import make_library, tag_of


@pytest.fixture()
def built(tmp_path):
    catalog = make_library(tmp_path, n=2)
    output = tmp_path / "out"
    run_doit(catalog, output, check=True)
    return tmp_path, catalog, output


def test_strong_caching_only_with_current_tag(built):
    _, _, output = built
    client = Client(App(output))
    tag = tag_of(output, "item0")
    strong = client.get(f"/Items/item0/Images/Primary?maxWidth=64&tag={tag}")
    assert strong.status_code == 200
    assert strong.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get("/Items/item0/Images/Primary?maxWidth=64&tag=0123456789abcdef0123456789abcdef")
    assert stale.headers["Cache-Control"] == "public, no-cache"
    assert stale.data == strong.data
    plain = client.get("/Items/item0/Images/Primary?maxWidth=64")
    assert "immutable" not in plain.headers["Cache-Control"] and plain.headers["ETag"] == f'"{tag}"'


def test_methods_and_unknown_routes(built):
    _, _, output = built
    client = Client(App(output))
    assert client.post("/Items/item0/Images/Primary").status_code == 405
    assert client.get("/Items/item0/Foo").status_code == 404
    assert client.get("/Library/VirtualFolders").status_code == 404
    assert client.get("/Users/item0").status_code == 404


def test_decorations_not_applied_are_named(built):
    _, _, output = built
    client = Client(App(output))
    response = client.get("/Items/item0/Images/Primary?PercentPlayed=47&maxWidth=32")
    assert response.status_code == 200
    assert response.headers["X-Image-Not-Applied"] == "percentPlayed=47"
    assert client.get("/Items/item0/Images/Primary?percentPlayed=abc").status_code == 400


def test_json_objects(built):
    _, _, output = built
    client = Client(App(output))
    response = client.get("/Items/item1")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.data)["ImageTags"]["Primary"] == tag_of(output, "item1")
    assert json.loads(client.get("/Items/item1/Images").data)[0]["ImageType"] == "Primary"


def test_rebuild_is_picked_up_without_restart(built):
    root, catalog, output = built
    app = App(output, reload_interval=0)
    client = Client(app)
    old = tag_of(output, "item0")
    before = client.get("/Items/item0/Images/Primary?maxWidth=64")
    Image.new("RGB", (120, 80), "white").save(root / "media/img0.jpg", quality=90)
    run_doit(catalog, output, check=True)
    new = tag_of(output, "item0")
    assert new != old
    after = client.get("/Items/item0/Images/Primary?maxWidth=64")
    assert after.headers["ETag"] == f'"{new}"' and after.data != before.data
    # a client still holding the old object gets the current bytes, never "immutable" for them
    stale = client.get(f"/Items/item0/Images/Primary?maxWidth=64&tag={old}")
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="build first"):
        App(tmp_path)


def test_kept_answers_are_identical_and_conditions_still_apply(built):
    _, _, output = built
    app = App(output)
    client = Client(app)
    url = "/Items/item0/Images/Primary?maxWidth=64&format=Jpg"
    first = client.get(url)
    assert first.status_code == 200 and len(app._answers) == 1      # kept for the next one
    second = client.get(url)                                          # answered from memory
    assert second.data == first.data
    assert sorted(second.headers.items()) == sorted(first.headers.items())
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    ranged = client.get(url, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.data == first.data[:10]
    head = client.head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    # JSON objects can change under the same path: never kept
    client.get("/Items/item0")
    assert len(app._answers) == 1

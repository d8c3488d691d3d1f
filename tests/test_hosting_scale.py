"""Issue 12 item 5: the nginx config's size grows by a small fixed cost per image.

Images whose source size, format, quality and files are equal share one set of answer tables
(a *shape*); each item adds one slot line and one owner line per key (GUID, catalog id);
JSON objects and content-named files are found at computed paths, so a missing one is
nginx's 404 "no such file". Real builds of small generated sources, a real nginx.
"""

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_doit, running_server
from pipeline.hosting.nginx import build_tables, render_nginx_config
from test_hosting import NGINX, fetch, running_nginx

SETTINGS = textwrap.dedent("""\
    settings:
      formats: [Original, Jpg]
      qualities: [80]
      sizes: [{maxWidth: [16, 32]}]
    users:
      - {id: alice, name: alice}
""")

#: source file → (size, colour): a and b share a shape, c does not
SOURCES = {"a.jpg": ((48, 64), (200, 30, 30)), "b.jpg": ((48, 64), (30, 200, 30)),
           "c.jpg": ((40, 64), (30, 30, 200))}


def _build(root: Path, items: int) -> Path:
    (root / "media").mkdir(parents=True, exist_ok=True)
    for name, (size, colour) in SOURCES.items():
        Image.new("RGB", size, colour).save(root / "media" / name, quality=95)
    names = sorted(SOURCES)
    lines = [SETTINGS, "items:\n"]
    for i in range(items):
        lines.append(f"  - {{id: item{i:03d}, name: Item {i}, type: Movie, "
                     f"images: {{Primary: media/{names[i % len(names)]}}}}}\n")
    (root / "catalog.yaml").write_text("".join(lines))
    output = root / "output"
    run_doit(root / "catalog.yaml", output, "-n", "2", check=True)
    return output


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return {n: _build(tmp_path_factory.mktemp(f"scale{n}"), n) for n in (6, 12)}


def test_images_of_one_shape_share_their_tables(builds):
    tables = build_tables(builds[12])
    by_source = {}
    manifest = json.loads((builds[12] / "manifest.json").read_text())
    for tag, image in manifest["images"].items():
        by_source[Path(image["source"]).name] = tables.images[tag]
    a, b, c = by_source["a.jpg"], by_source["b.jpg"], by_source["c.jpg"]
    assert a.tag != b.tag and a.shape == b.shape != c.shape
    assert a.answers is b.answers and a.answers is not c.answers
    assert a.key == f"{a.tag}:{a.shape}" and tables.slots["Items/item000/Primary/0"] == a.key
    # answers name files within images/{tag}/, so one table serves both tags
    assert all("/" not in file for file, _, _ in a.answers.values())


def test_each_item_costs_three_lines(builds):
    small, large = (render_nginx_config(build_tables(builds[n])) for n in (6, 12))
    assert large.count("\n") - small.count("\n") == 6 * 3       # slot, GUID, catalog id
    assert len(large) - len(small) < 6 * 200
    # no line per JSON object or per derivative file: file names only in the shapes' tables
    assert small.count("index.json") == large.count("index.json") == 3
    assert small.count(".jpg") == large.count(".jpg") and small.count("images/") == large.count("images/")


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (.ci/run installs Debian's nginx)")
def test_computed_paths_answer_like_serve_py(builds, tmp_path):
    output = tmp_path / "output"
    shutil.copytree(builds[6], output, ignore=shutil.ignore_patterns(".cache"))
    manifest = json.loads((output / "manifest.json").read_text())
    guid = next(g for g, i in manifest["ids"]["Items"].items() if i == "item001")
    tag = manifest["owners"]["Items"]["item001"]["Primary"][0]
    dashed = f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"
    (output / "Items/item002/index.json").unlink()
    (output / "images" / tag / "stray.jpg").write_bytes((output / "images" / tag / "original.jpg").read_bytes())
    (output / "Users/alice/Items/item003/index.json").unlink()
    same = ["/Items/item001", f"/Items/{guid}", f"/items/{dashed.upper()}", f"/Items/{dashed}/Images",
            f"/Users/alice/Items/{guid}", "/Users/alice/Items/ITEM001", "/Users/alice/Items/nope",
            f"/Items/{dashed}/Images/Primary?maxWidth=20&tag={tag.upper()}",
            f"/images/{tag}/original.jpg", f"/images/{tag}/render.json", f"/images/{tag}/nope.jpg",
            "/Items/item002/Images/Primary?maxWidth=16"]
    with running_server(output) as base, running_nginx(output, tmp_path / "nginx") as (ng, _, _):
        serve = base.split("//", 1)[1]
        for target in same:
            a, b = fetch(serve, "GET", target, {}), fetch(ng, "GET", target, {})
            assert (a[0], a[2], a[1].get("cache-control"), a[1].get("content-type")) == \
                (b[0], b[2], b[1].get("cache-control"), b[1].get("content-type")), target
        # documented exception 14 (docs/hosting.md): a file the manifest does not list but whose
        # extension the build publishes is served by nginx from images/{tag}/; serve.py: 404
        a, b = fetch(serve, "GET", f"/images/{tag}/stray.jpg", {}), fetch(ng, "GET", f"/images/{tag}/stray.jpg", {})
        assert (a[0], a[2]) == (404, b"no such file\n") and b[0] == 200 and b[1]["content-type"] == "image/jpeg"
        # object files the build wrote are found at their layout path; a missing one is a 404
        for target in ("/Items/item002", "/Users/alice/Items/item003"):
            status, headers, body = fetch(ng, "GET", target, {})
            assert (status, body, headers["content-type"]) == (404, b"no such file\n", "text/plain; charset=utf-8")

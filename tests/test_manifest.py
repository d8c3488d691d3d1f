"""pipeline/outputs/manifest.py: the typed manifest written, read back and checked; stale sizes
after a re-render (issue 13 item 5)."""

import json
import re
import os

import pytest

from imagefactory import jpeg, png, write
from pipeline.catalog.loader import load_catalog
from pipeline.model import layout
from pipeline.model.decoration import Decoration
from pipeline.model.derivative import Derivative
from pipeline.outputs import manifest
from pipeline.outputs.manifest import (FailedSource, FileEntry, ImageEntry, Manifest, ManifestError, MediaAsset,
                                       Podcast)
from pipeline.outputs.objects import write_objects
from pipeline.imaging.render import render_source
from pipeline.plan.assemble import assemble
from pipeline.plan.probe import probe_all

TAG = "a" * 32


def sample() -> Manifest:
    plain = Derivative(f"images/{TAG}/original.jpg", 40, 20, "Jpg", None, original=True)
    decorated = Derivative(f"images/{TAG}/20x10-q80-pp50.jpg", 20, 10, "Jpg", 80,
                           decoration=Decoration(percent_played=50, background_color=(1, 2, 3, 255)))
    image = ImageEntry(TAG, "Primary", "media/a.jpg", 40, 20, "Jpg", 90,
                       (FileEntry(plain, 1234), FileEntry(decorated, 99)))
    asset = {"type": "media_assets", "id": "m1",
             "attributes": {"content_type": "image/jpeg", "attachment_id": "i1", "style": "thumb"}}
    podcast = Podcast({"i1": {"type": "images", "id": "i1", "attributes": {"bucket_type": "Series"}}},
                      {"m1": MediaAsset(asset, "store/m1.jpg")}, {"Series/s": "feeds/Series/s.xml"})
    return Manifest({TAG: image}, {"Items": {"it": {"Primary": [TAG]}}, "Users": {"u": {}}}, True, podcast,
                    (FailedSource("media/bad.jpg", "not an image"),), {"Items": {"b" * 32: "it"}, "Users": {}})


def write_json(output, value):
    output.mkdir(parents=True, exist_ok=True)
    (output / layout.MANIFEST).write_text(json.dumps(value))


def test_round_trip(tmp_path):
    m = sample()
    assert manifest.write(tmp_path, m) is True
    assert manifest.write(tmp_path, m) is False            # unchanged bytes: not rewritten
    back = manifest.read(tmp_path)
    assert back == m
    assert back.images[TAG].derivatives == tuple(f.derivative for f in m.images[TAG].files)
    data = json.loads((tmp_path / layout.MANIFEST).read_text())
    assert list(data) == ["version", "negotiate_format", "images", "owners", "podcast", "failed", "ids", "names"]
    assert data["version"] == manifest.MANIFEST_VERSION
    assert data["images"][TAG]["derivatives"][1]["decoration"] == {"percent_played": 50,
                                                                   "background_color": [1, 2, 3, 255]}


def test_published_files_names_every_file_of_the_build():
    files = sample().published_files()
    assert {f"images/{TAG}/original.jpg", "store/m1.jpg", "feeds/Series/s.xml",
            layout.object_file("Items", "it"), layout.image_infos_file("it"), layout.object_file("Users", "u"),
            layout.user_item_file("u", "it"), layout.art19_file("images", "i1"),
            layout.art19_file("media_assets", "m1")} <= files


def test_missing_manifest_says_build_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="build first"):
        manifest.read(tmp_path)


def good() -> dict:
    return sample().to_json()


def broken(change) -> dict:
    value = json.loads(json.dumps(good()))
    change(value)
    return value


@pytest.mark.parametrize("change, message", [
    (lambda v: v.pop("version"), "no version"),
    (lambda v: v.update(version=2), "version: is 2, this code reads version 1"),
    (lambda v: v.update(version="1"), "version: is '1'"),
    (lambda v: v.pop("images"), "at images: missing"),
    (lambda v: v.update(images=[]), "at images: must be an object, got a list"),
    (lambda v: v["images"][TAG].pop("width"), f"at images.{TAG}.width: missing"),
    (lambda v: v["images"][TAG].update(width="40"), f"at images.{TAG}.width: must be an integer, got a string"),
    (lambda v: v["images"][TAG].update(format="Tiff"), f"at images.{TAG}.format: unknown format 'Tiff'"),
    (lambda v: v["images"][TAG]["derivatives"][0].update(bytes=None),
     f"at images.{TAG}.derivatives[0].bytes: must be an integer, got null"),
    (lambda v: v["images"][TAG]["derivatives"][1].update(decoration={"glow": 1}),
     f"at images.{TAG}.derivatives[1].decoration: "),
    (lambda v: v["images"][TAG]["derivatives"][1].update(decoration={"blur": 1.5}),
     f"at images.{TAG}.derivatives[1].decoration: "),
    (lambda v: v["images"][TAG]["derivatives"][1].update(decoration=None),
     f"at images.{TAG}.derivatives[1].decoration: must be an object, got null"),
    (lambda v: v["images"][TAG]["derivatives"][0].update(format=["Jpg"]),
     f"at images.{TAG}.derivatives[0].format: must be a string, got a list"),
    (lambda v: v["images"][TAG]["derivatives"].append(7), f"at images.{TAG}.derivatives[2]: must be an object"),
    (lambda v: v["owners"].pop("Users"), "at owners.Users: missing"),
    (lambda v: v["owners"]["Items"]["it"].update(Primary=["f" * 32]), "owners.Items.it.Primary[0]: tag f"),
    (lambda v: v["owners"]["Items"]["it"].update(Poster=[TAG]), "owners.Items.it.Poster: not an ImageType"),
    (lambda v: v["podcast"]["media_assets"]["m1"]["resource"].pop("attributes"),
     "at podcast.media_assets.m1.resource.attributes: missing"),
    (lambda v: v["failed"].append({"source": 3}), "at failed[1].source: must be a string, got an integer"),
    (lambda v: v.update(negotiate_format=1), "at negotiate_format: must be true or false"),
])
def test_wrong_shape_is_a_clear_error(tmp_path, change, message):
    write_json(tmp_path, broken(change))
    with pytest.raises(ManifestError) as caught:
        manifest.read(tmp_path)
    text = str(caught.value)
    assert text.startswith(str(tmp_path / layout.MANIFEST) + ": ") or text.startswith(str(tmp_path / layout.MANIFEST) + " at ")
    assert message in text


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'"manifest"'])
def test_not_a_manifest_is_a_clear_error(tmp_path, raw):
    (tmp_path / layout.MANIFEST).write_bytes(raw)
    with pytest.raises(ManifestError, match=str(tmp_path / layout.MANIFEST)):
        manifest.read(tmp_path)


def test_server_index_and_hosting_read_through_the_manifest_module(tmp_path):
    from pipeline.serve.index import Index
    write_json(tmp_path, broken(lambda v: v.update(version=7)))
    with pytest.raises(ManifestError, match="version"):
        Index(tmp_path)


# --- sizes follow the current render (issue 13 item 5) -------------------------------------------

def build(tmp_path):
    write(tmp_path / "media" / "a.jpg", jpeg((96, 64)))
    write(tmp_path / "media" / "b.png", png((50, 30)))
    (tmp_path / "catalog.yaml").write_text(
        "items:\n  - {id: it, name: It, type: Movie, images: {Primary: media/a.jpg, Logo: media/b.png}}\n")
    library = load_catalog(tmp_path / "catalog.yaml")
    output = tmp_path / "output"
    paths = [s.path for o in library.owners() for s in o.slots()]
    plan = assemble(library, probe_all(paths, layout.probe_cache_file(output)))
    for source in plan.sources.values():
        render_source(source, output)
    write_objects(plan, output)
    return plan, output


def sizes_match(output) -> int:
    m = manifest.read(output)
    checked = 0
    for image in m.images.values():
        for f in image.files:
            assert f.bytes == (output / f.derivative.file).stat().st_size, f.derivative.file
            checked += 1
    return checked


def test_manifest_sizes_follow_a_re_render(tmp_path):
    plan, output = build(tmp_path)
    assert sizes_match(output) > 4
    assert (output / layout.CACHE_DIR / "tags.json").is_file()      # facts cached
    # re-render one tag with other bytes (as a renderer change or a non-deterministic encoder
    # would): every file rewritten, then the render record last, as render_source does
    source = next(iter(plan.sources.values()))
    for d in source.derivatives:
        path = output / d.file
        path.write_bytes(path.read_bytes() + b"\0" * 17)
    record = output / layout.render_record_file(source.tag)
    temp = record.with_name(".render.json.tmp-test")
    temp.write_bytes(record.read_bytes())
    os.replace(temp, record)
    write_objects(plan, output)
    assert sizes_match(output) > 4
    sizes = {f.derivative.file: f.bytes for f in manifest.read(output).images[source.tag].files}
    assert all(sizes[d.file] == (output / d.file).stat().st_size for d in source.derivatives)


def test_manifest_sizes_after_deleting_and_re_rendering_a_tag(tmp_path):
    plan, output = build(tmp_path)
    source = next(iter(plan.sources.values()))
    for d in source.derivatives:
        (output / d.file).unlink()
    (output / layout.render_record_file(source.tag)).unlink()
    write_objects(plan, output)                                      # render missing: left out
    assert source.tag not in manifest.read(output).images or not manifest.read(output).images[source.tag].files
    render_source(source, output)
    write_objects(plan, output)
    assert len(manifest.read(output).images[source.tag].files) == len(source.derivatives)
    assert sizes_match(output) > 4


@pytest.mark.parametrize("ids, field", [
    ({"Things": {}}, "ids.Things"),
    ({"Items": {"B" * 32: "it"}}, "ids.Items." + "B" * 32),
    ({"Items": {"b" * 32: "nope"}}, "ids.Items." + "b" * 32),
])
def test_bad_ids_name_the_field(tmp_path, ids, field):
    """Issue 9: ``ids`` maps published GUIDs to catalog ids of ``owners``."""
    value = sample().to_json()
    value["ids"] = ids
    write_json(tmp_path, value)
    with pytest.raises(manifest.ManifestError, match=re.escape(field)):
        manifest.read(tmp_path)


# --- import rules ------------------------------------------------------------------------------------

def loaded_after(module: str) -> set[str]:
    import subprocess
    import sys
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_read_side_loads_no_pillow_planner_or_imaging():
    loaded = loaded_after("pipeline.outputs.manifest")
    assert not {m for m in loaded if m == "PIL" or m.startswith(("PIL.", "pipeline.plan", "pipeline.imaging"))}
    loaded = loaded_after("pipeline.serve.index")
    assert not {m for m in loaded if m == "PIL" or m.startswith(("PIL.", "pipeline.plan", "pipeline.imaging",
                                                                 "pipeline.serve.app"))}


def test_hosting_does_not_import_the_web_app():
    assert "pipeline.serve.app" not in loaded_after("pipeline.hosting.nginx")


def test_manifest_module_imports_only_model_store_atomic_and_stdlib():
    import ast
    import sys
    tree = ast.parse(open(manifest.__file__).read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    for name in names:
        assert (name.startswith("pipeline.model") or name == "pipeline.store.atomic"
                or name.split(".")[0] in sys.stdlib_module_names or name == "__future__"), name


@pytest.mark.parametrize("bad", [{"version": 1, "images": [], "owners": {}}, {"version": 99}, "[]"])
def test_server_keeps_its_index_when_a_reload_finds_a_bad_manifest(tmp_path, bad):
    import time
    from werkzeug.test import Client
    from pipeline.serve.app import App
    plan, output = build(tmp_path)
    item = next(iter(manifest.read(output).owners["Items"]))
    client = Client(App(output, reload_interval=0))
    assert client.get(f"/Items/{item}/Images/Primary").status_code == 200
    time.sleep(0.01)
    (output / layout.MANIFEST).write_text(bad if isinstance(bad, str) else json.dumps(bad))
    for _ in range(3):
        assert client.get(f"/Items/{item}/Images/Primary").status_code == 200

"""pipeline.outputs.report, incremental: ``write_report`` renders a page body only when what it
shows changed, writes (atomically) only pages whose bytes changed, removes pages that no longer
exist, and always ends with the same bytes as a full render (``_render_pages``)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.outputs.manifest import MANIFEST_VERSION
from pipeline.outputs.report import PAGES_CACHE, _render_pages, report_context, write_report
from pipeline.store.atomic import TEMP_MARK

ROOT = Path(__file__).resolve().parent.parent
LIB = "f" * 32                        # the published id of the library folder "lib"
PAGE = 10                             # owners per page: 36 owners (lib + 35 films) → 4 pages


def _tag(i: int) -> str:
    return f"{i:032x}"


def _manifest(n: int, sizes: dict | None = None) -> dict:
    sizes = sizes or {}
    images = {_tag(i): {"type": "Primary", "source": f"media/{i}.jpg", "width": 1000, "height": 1500,
                        "format": "Jpg", "quality": 90,
                        "derivatives": [{"file": f"images/{_tag(i)}/160x240-q90.jpg", "width": 160, "height": 240,
                                         "format": "Jpg", "quality": 90, "original": False, "keeps_aspect": True,
                                         "bytes": sizes.get(i, 9000)}]}
              for i in range(n)}
    owners = {"Items": {"lib": {}, **{f"m{i}": {"Primary": [_tag(i)]} for i in range(n)}}, "Users": {}}
    return {"version": MANIFEST_VERSION, "images": images, "owners": owners, "ids": {"Items": {LIB: "lib"}}}


def _replace(path: Path, text: str):
    """Write like the objects step does: a new file renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".new")
    temp.write_text(text)
    os.replace(temp, path)


def _library(output: Path, n: int = 35, names: dict | None = None, sizes: dict | None = None):
    names = names or {}
    _replace(output / "manifest.json", json.dumps(_manifest(n, sizes)))
    for i in range(n):
        obj = output / "Items" / f"m{i}" / "index.json"
        text = json.dumps({"Name": names.get(i, f"Movie {i}"), "Type": "Movie", "ParentId": LIB})
        if not obj.is_file() or obj.read_text() != text:
            _replace(obj, text)
    lib = output / "Items" / "lib" / "index.json"
    if not lib.is_file():
        _replace(lib, json.dumps({"Name": "Films", "Type": "CollectionFolder"}))


def _files(output: Path) -> dict[str, tuple]:
    """{relative page: (inode, mtime_ns)} of every report page."""
    pages = [output / "index.html", *sorted((output / "report").glob("*.html"))]
    return {p.relative_to(output).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in pages}


def _assert_same_as_full_render(output: Path):
    expected = _render_pages(report_context(output, PAGE))
    on_disk = {rel: (output / rel).read_text() for rel in _files(output)}
    assert on_disk.keys() == expected.keys()
    for rel, text in expected.items():
        assert on_disk[rel] == text, rel


def _page_showing(output: Path, owner: str) -> str:
    hits = [rel for rel in _files(output) if f'id="Items-{owner}"' in (output / rel).read_text()]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.fixture
def output(tmp_path):
    out = tmp_path / "out"
    _library(out)
    values = write_report(out, PAGE)
    assert values["pages"] == 5 and values["rendered"] == 5 and values["written"] == 5
    return out


def test_an_unchanged_library_renders_and_writes_nothing(output):
    before = _files(output)
    values = write_report(output, PAGE)
    assert (values["rendered"], values["written"]) == (0, 0)
    assert _files(output) == before
    _assert_same_as_full_render(output)


def test_a_changed_item_rewrites_only_the_page_that_shows_it(output):
    before = _files(output)
    page = _page_showing(output, "m17")
    _library(output, names={17: "Renamed <Film>"})
    values = write_report(output, PAGE)
    assert (values["rendered"], values["written"]) == (1, 1)
    after = _files(output)
    assert {rel for rel in after if after[rel] != before[rel]} == {page}
    assert "Renamed &lt;Film&gt;" in (output / page).read_text()
    _assert_same_as_full_render(output)


def test_changed_totals_rewrite_every_frame_but_render_one_body(output):
    """The totals are on every page (same content as before): a derivative's new size changes
    the frame of each page; only the page showing that image renders its body again."""
    page = _page_showing(output, "m3")
    _library(output, sizes={3: 5_000_000})
    values = write_report(output, PAGE)
    assert values["rendered"] == 1 and values["written"] == 5
    assert "5000000" in (output / page).read_text() and "5.3 MB" in (output / "index.html").read_text()
    _assert_same_as_full_render(output)


def test_a_removed_item_and_its_page_disappear(output):
    assert (output / "report" / "films-4.html").is_file()
    _library(output, n=30)                       # lib + 30 films: 31 owners, 4 pages
    values = write_report(output, PAGE)
    assert not any("Items-m30" in (output / rel).read_text() for rel in _files(output))
    assert values["rendered"] == 1               # the last page; the others' frames (totals) only
    _assert_same_as_full_render(output)
    _library(output, n=29)                       # 30 owners: 3 pages
    values = write_report(output, PAGE)
    assert values["pages"] == 4
    assert not (output / "report" / "films-4.html").exists()
    _assert_same_as_full_render(output)


def test_an_edited_page_is_not_taken_for_a_cached_one(output):
    page = output / _page_showing(output, "m12")
    page.write_text(page.read_text().replace("Movie 12", "Movie XII"))
    values = write_report(output, PAGE)
    assert values["rendered"] == 1 and values["written"] == 1
    _assert_same_as_full_render(output)


def test_a_lost_or_foreign_cache_renders_everything_again(output):
    (output / PAGES_CACHE).write_text("{not json")
    assert write_report(output, PAGE)["rendered"] == 5
    (output / PAGES_CACHE).unlink()
    assert write_report(output, PAGE)["rendered"] == 5
    _assert_same_as_full_render(output)


KILL_AT_RENAME = """
import os, sys
from pathlib import Path
real = os.replace
def replace(src, dst):
    if str(dst).endswith(sys.argv[2]):
        os.kill(os.getpid(), {signal})       # the temp file is complete, the rename never happens
    return real(src, dst)
os.replace = replace                         # a child of its own: patch the module for good
from pipeline.outputs.report import write_report
write_report(Path(sys.argv[1]), {page})
"""


def test_a_killed_write_leaves_no_half_page(output):
    """SIGKILL while the report writes a changed page: every page under its published name is
    a whole page (the old one); a second run finishes the job; prune removes the temp file."""
    from pipeline.tasks import prune
    page = _page_showing(output, "m25")
    old = {rel: (output / rel).read_bytes() for rel in _files(output)}
    _library(output, names={25: "Twenty-five"})
    code = KILL_AT_RENAME.format(signal=int(signal.SIGKILL), page=PAGE)
    result = subprocess.run([sys.executable, "-c", code, str(output), page], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    for rel, data in old.items():
        assert (output / rel).read_bytes() == data, rel          # old, whole pages only
    temps = [p for p in (output / "report").iterdir() if TEMP_MARK in p.name]
    assert len(temps) == 1
    values = write_report(output, PAGE)
    assert values["written"] == 1
    assert "Twenty-five" in (output / page).read_text()
    _assert_same_as_full_render(output)
    assert temps[0] in prune(output)
    assert not temps[0].exists()


def test_the_object_cache_reads_only_changed_objects(output):
    from pipeline.outputs.report import ObjectFields
    fields = ObjectFields(output, cached=True)
    assert [fields.get(f"Items/m{i}/index.json")["Name"] for i in range(3)] == ["Movie 0", "Movie 1", "Movie 2"]
    assert fields.read == 0                      # all recorded by the report written before
    _library(output, names={1: "One"})
    fields = ObjectFields(output, cached=True)
    assert fields.get("Items/m1/index.json")["Name"] == "One" and fields.read == 1
    assert fields.get("Items/missing/index.json") == {}


def test_doit_shows_a_renamed_item_in_the_report(tmp_path):
    """A rename changes the item's JSON object, not the manifest: the report task runs again."""
    from conftest import copy_media, run_doit
    copy_media(tmp_path, "poster-wood.jpg")
    catalog = tmp_path / "catalog.yaml"
    text = ("settings: {formats: [Jpg], sizes: [{maxWidth: [160]}]}\n"
            "items:\n  - {id: film, name: NAME, type: Movie, images: {Primary: media/poster-wood.jpg}}\n")
    catalog.write_text(text.replace("NAME", "Before"))
    output = tmp_path / "output"
    result = run_doit(catalog, output)
    assert "Before" in (output / "index.html").read_text(), result.stdout + result.stderr
    catalog.write_text(text.replace("NAME", "After"))
    result = run_doit(catalog, output)
    page = (output / "index.html").read_text()
    assert "After" in page and "Before" not in page, result.stdout + result.stderr

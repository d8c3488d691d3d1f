"""pipeline.outputs.report: ``doit report`` writes output/index.html; every link and image resolves from
disk; headless Chromium (Debian's ``chromium``) renders it to a PNG with no broken image, both
from file:// and served over HTTP on 127.0.0.1."""

import functools
import http.server
import shutil
import subprocess
import textwrap
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from conftest import copy_media, free_port, run_doit
from pipeline.outputs.report import report_context, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CATALOG = textwrap.dedent("""\
    settings:
      formats: [Original, Jpg, Webp]
      sizes: [{maxWidth: [160, 320]}]
    items:
      - id: show
        name: Show
        type: Series
        images:
          Primary: media/poster-wood.jpg
          Backdrop: [media/Aqua.jpg]
          Logo: media/matplotlib-logo.png
      - id: season1
        name: Season 1
        type: Season
        parent: show
        images: {Primary: media/poster-ladybird.jpg}
      - id: ep1
        name: Episode 1
        type: Episode
        parent: season1
        images: {Primary: media/broken.jpg}
    users:
      - id: alice
        name: alice
        images: {Primary: media/avatar-meadow.jpg}
""")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    copy_media(root, "poster-wood.jpg", "Aqua.jpg", "matplotlib-logo.png", "poster-ladybird.jpg",
               "avatar-meadow.jpg")
    (root / "media" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "catalog.yaml").write_text(CATALOG)
    output = root / "output"
    result = run_doit(root / "catalog.yaml", output, "render", "objects", "report")
    assert (output / "index.html").is_file(), result.stdout + result.stderr
    return root, output


class Links(HTMLParser):
    """Collects href/src attributes and element ids."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.images = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])
        if tag == "img":
            self.images.append(attrs["src"])


def test_context_has_totals_failures_and_inheritance(built):
    _, output = built
    ctx = report_context(output)
    assert ctx["totals"]["n_items"] == 3 and ctx["totals"]["n_users"] == 1
    assert [f["source"] for f in ctx["failed"]] == ["media/broken.jpg"]
    season = next(o for o in ctx["owners"] if o["id"] == "season1")
    inherited = {(i["field"], i["parent"]) for i in season["inherited"]}
    assert ("ParentBackdropImageTags", "show") in inherited and ("ParentLogoImageTag", "show") in inherited
    show = next(o for o in ctx["owners"] if o["id"] == "show")
    primary = show["images"][0]
    # the thumbnail is the smallest file of the image, in its own format
    smallest = min((d for d in primary.derivatives if d["format"] == "Jpg"), key=lambda d: d["width"] * d["height"])
    assert primary.thumb == smallest["file"]
    assert sum(d["bytes"] for d in primary.derivatives) == primary.bytes > 0


def test_every_link_is_relative_and_resolves_from_disk(built):
    _, output = built
    html = (output / "index.html").read_text()
    parser = Links()
    parser.feed(html)
    assert len(parser.images) >= 8
    for link in parser.links:
        assert not link.startswith(("/", "http:", "https:", "file:")), link
        if link.startswith("#"):
            assert link[1:] in parser.ids, link
        else:
            assert (output / unquote(link)).is_file(), link
    assert "media/broken.jpg" in html and "failed source" in html


def test_doit_report_is_up_to_date_on_a_second_run(built):
    root, output = built
    before = (output / "index.html").stat().st_mtime_ns
    run_doit(root / "catalog.yaml", output, "report")
    assert (output / "index.html").stat().st_mtime_ns == before


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def broken_count(url: str, tmp: Path) -> tuple[str, str]:
    """(broken images, images) as the page's own load-time check reports them."""
    import re
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", url, tmp=tmp).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    return (re.search(r'data-broken-images="([^"]*)"', body).group(1),
            re.search(r'data-images="([^"]*)"', body).group(1) if "data-images" in body else "")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_chromium_renders_the_report_with_every_image(built, tmp_path):
    _, output = built
    url = (output / "index.html").as_uri()
    png = tmp_path / "report.png"
    result = chromium(f"--screenshot={png}", "--window-size=1280,2000", url, tmp=tmp_path)
    assert png.is_file(), result.stderr[-2000:]
    with Image.open(png) as image:
        assert image.size == (1280, 2000)
        assert len(set(image.convert("L").resize((64, 100)).getdata())) > 20   # not a blank page
    parser = Links()
    parser.feed((output / "index.html").read_text())
    assert broken_count(url, tmp_path) == ("0", str(len(parser.images)))
    # served over HTTP (a static file server on 127.0.0.1), the same page loads every image
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(output))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        served = broken_count(f"http://127.0.0.1:{server.server_address[1]}/index.html", tmp_path)
        assert served == ("0", str(len(parser.images)))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_chromium_check_notices_a_broken_image(built, tmp_path):
    _, output = built
    copy = tmp_path / "copy"
    shutil.copytree(output, copy, ignore=shutil.ignore_patterns(".cache"))
    ctx = report_context(copy)
    thumb = ctx["owners"][0]["images"][0].thumb
    (copy / thumb).unlink()
    write_report(copy)
    parser = Links()
    parser.feed((copy / "index.html").read_text())
    expected = parser.images.count(thumb)            # the show's primary, also where inherited
    assert expected >= 1
    assert broken_count((copy / "index.html").as_uri(), tmp_path)[0] == str(expected)


# --- charts, render times, pages (issue 15) ---------------------------------------------------

def test_charts_are_inline_svg_with_the_builds_figures(built):
    _, output = built
    html = (output / "index.html").read_text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    timing = (output / ".cache" / "report" / "render-times.html").read_text()
    assert timing.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 1
    for title in ("Bytes by ImageType and format", "Render time per source", "Ladder overshoot"):
        assert title in html
    for image_type in ("Primary", "Backdrop", "Logo"):
        assert f">{image_type}</text>" in html
    assert "card 228×342 q96" in html and "backdrop 1920 q80" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")   # nothing fetched


def test_render_times_are_recorded_outside_the_published_tree(built):
    import json
    from pipeline.outputs.charts import read_render_times
    _, output = built
    manifest = json.loads((output / "manifest.json").read_text())
    times = read_render_times(output, manifest["images"])
    assert set(times) == set(manifest["images"])
    assert all(t["seconds"] > 0 and t["source"].startswith("media/") for t in times.values())
    assert (output / ".cache" / "render-times").is_dir()
    assert f"{len(times)} sources" in (output / ".cache" / "report" / "render-times.html").read_text()
    assert "render-times" not in " ".join(p.name for p in output.rglob("*") if ".cache" not in p.parts)


def test_overshoot_is_measured_with_the_servers_rule():
    from pipeline.outputs import manifest
    from pipeline.outputs.charts import ladder_overshoot
    image = {"type": "Primary", "width": 1000, "height": 1500, "format": "Jpg", "quality": 90, "derivatives": [
        {"file": f"images/t/{w}.jpg", "width": w, "height": h, "format": "Jpg", "quality": q,
         "original": w == 1000, "keeps_aspect": True, "bytes": w}
        for w, h, q in ((228, 342, 96), (456, 684, 96), (1000, 1500, 90))]}
    chart = ladder_overshoot(manifest.parse({"version": manifest.MANIFEST_VERSION, "images": {"t": image},
                                             "owners": {"Items": {}, "Users": {}}}))
    text = str(chart.svg)
    assert "card 228×342 q96 (median 1.00×)" in text and "card HiDPI 456×684 q96 (median 1.00×)" in text
    # width=300 → 300×450 served from 456×684: 2.31× the pixels
    assert "avatar width 300 (median 2.31×)" in text


def test_a_large_library_is_split_into_pages_by_section(built, tmp_path):
    from pipeline.outputs.report import write_report
    from pipeline.tasks import prune
    _, output = built
    copy = tmp_path / "copy"
    shutil.copytree(output, copy, ignore=shutil.ignore_patterns(".cache"))
    values = write_report(copy, page_size=1)
    pages = sorted((copy / "report").glob("*.html"))
    assert values["pages"] == len(pages) + 1 == 5           # 3 items (section Items) + 1 user
    index = Links()
    index.feed((copy / "index.html").read_text())
    assert not index.images                                   # the summary page: no cards
    assert {f"report/{p.name}" for p in pages} <= set(index.links)
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        assert len([i for i in parser.ids if i.startswith(("Items-", "Users-"))]) == 1
        for link in parser.links:
            assert not link.startswith(("/", "http:", "https:", "file:")), link
            target, _, anchor = link.partition("#")
            if target:
                assert (page.parent / unquote(target)).is_file(), (page.name, link)
            if anchor and target:
                other = Links()
                other.feed((page.parent / target).read_text())
                assert anchor in other.ids, link
            elif anchor:
                assert anchor in parser.ids, link
    assert not [p for p in prune(copy, dry_run=True) if "report" in p.parts]
    write_report(copy)                                        # small again: the pages go
    assert not list((copy / "report").glob("*.html"))


def test_report_pages_stay_small_for_many_items(tmp_path):
    """2,000 items (as 100,000 would be, at 250 per page): no page is larger than ~1 MB."""
    import json
    from pipeline.outputs.report import write_report
    output = tmp_path / "out"
    output.mkdir()
    n = 2000
    derivative = {"file": "images/t/160x240-q90.jpg", "width": 160, "height": 240, "format": "Jpg",
                  "quality": 90, "original": False, "keeps_aspect": True, "bytes": 9000}
    images = {f"{i:032x}": {"type": "Primary", "source": f"media/{i}.jpg", "width": 1000, "height": 1500,
                            "format": "Jpg", "quality": 90, "derivatives": [dict(derivative, file=f"images/{i:032x}/a.jpg")]}
              for i in range(n)}
    owners = {"Items": {"lib": {}, **{f"m{i}": {"Primary": [f"{i:032x}"]} for i in range(n)}}, "Users": {}}
    from pipeline.outputs.manifest import MANIFEST_VERSION
    lib_guid = "f" * 32                                        # the published id of "lib"
    (output / "manifest.json").write_text(json.dumps({"version": MANIFEST_VERSION, "images": images,
                                                      "owners": owners, "ids": {"Items": {lib_guid: "lib"}}}))
    for i in range(n):
        obj = output / "Items" / f"m{i}" / "index.json"
        obj.parent.mkdir(parents=True)
        obj.write_text(json.dumps({"Name": f"Movie {i}", "Type": "Movie", "ParentId": lib_guid}))
    (output / "Items" / "lib").mkdir()
    (output / "Items" / "lib" / "index.json").write_text(json.dumps({"Name": "Films", "Type": "CollectionFolder"}))
    values = write_report(output)
    pages = list((output / "report").glob("*.html"))
    assert values["pages"] == len(pages) + 1 == 1 + -(-(n + 1) // 250)
    assert all(p.name.startswith("films-") for p in pages)
    assert max(p.stat().st_size for p in pages) < 1_000_000
    assert (output / "index.html").stat().st_size < 200_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_chromium_draws_the_charts(built, tmp_path):
    """A screenshot of the top of the page has the charts' bar colours in it."""
    from pipeline.outputs.charts import PALETTE
    _, output = built
    png = tmp_path / "charts.png"
    result = chromium(f"--screenshot={png}", "--window-size=1280,1000", (output / "index.html").as_uri(),
                      tmp=tmp_path)
    assert png.is_file(), result.stderr[-2000:]
    with Image.open(png) as image:
        pixels = image.convert("RGB").getdata()
        counts = {}
        for pixel in pixels:
            counts[pixel] = counts.get(pixel, 0) + 1
    def near(colour: str) -> int:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return sum(c for (pr, pg, pb), c in counts.items() if abs(pr - r) + abs(pg - g) + abs(pb - b) < 12)
    assert near(PALETTE[0]) > 2000          # bars in the first colour (original bytes, exact)
    assert near(PALETTE[1]) > 300           # a second series
    # the render-time page: histogram bars (first colour) and the slowest sources (second)
    png = tmp_path / "times.png"
    chromium(f"--screenshot={png}", "--window-size=1000,900",
             (output / ".cache" / "report" / "render-times.html").as_uri(), tmp=tmp_path)
    with Image.open(png) as image:
        counts = {}
        for pixel in image.convert("RGB").getdata():
            counts[pixel] = counts.get(pixel, 0) + 1
    assert near(PALETTE[0]) > 200 and near(PALETTE[1]) > 200

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

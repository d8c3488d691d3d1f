"""Legacy-path links are opt-in (settings ``legacy_links``, issue 12 item 8).

One small catalog is built twice: without the setting (the default: no link is written) and with
``legacy_links: true`` (one hard link per precomputed legacy-path answer, for a static host).
Every path the links build wrote is then requested from serve.py and from a real nginx (the
generated config) over the build WITHOUT links: both answer each one with the link's bytes,
computed from the index, not from a file. Turning the setting off and pruning deletes the links.
"""

import json
import shutil
import textwrap

import pytest

from conftest import copy_media, run_doit, running_server
from pipeline.model import layout
from test_hosting import NGINX, fetch, running_nginx

ITEMS = textwrap.dedent("""\
    items:
      - id: show
        name: Show
        type: Series
        images:
          Primary: media/poster-wood.jpg
          Logo: media/matplotlib-logo.png
      - id: movie
        name: Movie
        type: Movie
        images: {Primary: media/box-painting.jpg, Backdrop: [media/Aqua.jpg]}
    users:
      - id: alice
        name: alice
        images: {Primary: media/avatar-meadow.jpg}
""")
SETTINGS = textwrap.dedent("""\
    settings:
      formats: [Original, Jpg, Webp]
      sizes: [{maxWidth: [160, 320]}, {maxHeight: [100]}, {fillWidth: 200, fillHeight: 300}]
""")
LINKS_ON = SETTINGS + "  legacy_links: true\n"


def legacy_files(output):
    return sorted(p.relative_to(output).as_posix() for p in output.rglob("*")
                  if p.is_file() and layout.legacy_owner_and_tag(p.relative_to(output).as_posix()))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("legacy")
    copy_media(root, "poster-wood.jpg", "matplotlib-logo.png", "box-painting.jpg", "Aqua.jpg", "avatar-meadow.jpg")
    (root / "plain.yaml").write_text(SETTINGS + ITEMS)
    (root / "links.yaml").write_text(LINKS_ON + ITEMS)
    run_doit(root / "plain.yaml", root / "plain", "-n", "2", check=True)
    run_doit(root / "links.yaml", root / "links", "-n", "2", check=True)
    return root, root / "plain", root / "links"


def test_default_build_writes_no_link_and_says_so(builds):
    _, plain, links = builds
    assert legacy_files(plain) == []
    written = legacy_files(links)
    # every item slot × (no size, maxWidth 160, 320, maxHeight 100) × (Original, Jpg, Webp),
    # and the PNG logo's files in Png too (its Original files are in the source's format)
    assert len(written) == 4 * 4 * 3 + 4
    assert "legacy_links" not in json.loads((plain / "manifest.json").read_text())
    assert json.loads((links / "manifest.json").read_text())["legacy_links"] is True
    # the setting changes no rendered byte: same tags, same files under images/
    assert json.loads((plain / "manifest.json").read_text())["images"] == \
        json.loads((links / "manifest.json").read_text())["images"]
    # the links build has exactly the link files (and their folders) more
    count = lambda out: sum(1 for p in out.rglob("*") if not p.relative_to(out).as_posix().startswith(".cache"))
    assert count(links) > count(plain) + len(written)


def test_serve_py_answers_every_link_path_without_links(builds):
    _, plain, links = builds
    with running_server(plain) as base:
        hostport = base.split("//", 1)[1]
        for rel in legacy_files(links):
            status, headers, body = fetch(hostport, "GET", "/" + rel, {})
            assert status == 200, rel
            assert body == (links / rel).read_bytes(), rel
            assert not (plain / rel).exists()


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_nginx_answers_every_link_path_without_links(builds, tmp_path):
    _, plain, links = builds
    with running_nginx(plain, tmp_path / "nginx") as (hostport, _, _):
        for rel in legacy_files(links):
            status, headers, body = fetch(hostport, "GET", "/" + rel, {})
            assert status == 200, rel
            assert body == (links / rel).read_bytes(), rel


def test_turning_links_off_then_prune_deletes_them(builds, tmp_path):
    root, _, links = builds
    output = tmp_path / "output"
    shutil.copytree(links, output)
    catalog = root / "links.yaml"
    run_doit(catalog, output, check=True)                        # same catalog: links stay
    assert len(legacy_files(output)) == len(legacy_files(links))
    off = root / "plain.yaml"                                     # the same catalog without the setting
    keep = sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()
                  and not layout.legacy_owner_and_tag(p.relative_to(output).as_posix()))
    run_doit(off, output, check=True)
    assert "legacy_links" not in json.loads((output / "manifest.json").read_text())
    result = run_doit(off, output, "prune", check=True)
    assert legacy_files(output) == []
    assert f"deleted {len(legacy_files(links))} stale file(s)" in result.stdout
    assert not (output / "Items/show/Images/Primary").exists()     # their folders went too
    now = sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file())
    assert set(keep) - set(now) <= {f for f in keep if f.startswith(".cache/")}

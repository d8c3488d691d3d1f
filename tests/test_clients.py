"""End to end, per client (issue 9): every URL of tests/clients.py, built from the objects a real
build publishes exactly as the client's source file builds it, answered by serve.py and by
nginx with the config of `doit hosting`; plus the /emby prefix, lower-case paths, GUID
spellings and named-item images with hostile names, on both servers."""

import io
import json
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

from clients import CLIENTS, RECIPES, dashed
from conftest import ROOT, copy_media, run_doit, running_server
from pipeline.model.sizing import output_size
from pipeline.serve.index import Index
from pipeline.serve.routes import match
from test_hosting import NGINX, fetch, running_nginx

CATALOG = textwrap.dedent("""\
    items:
      - id: nature-series
        name: Nature Diaries
        type: Series
        images:
          Primary: media/poster-wood.jpg
          Backdrop: [media/Fossa_by_Jasper_Roks.jpg, media/Aqua.jpg]
          Logo: media/matplotlib-logo.png
          Thumb: media/Garden.jpg
      - {id: nature-s1, name: Season 1, type: Season, parent: nature-series, index_number: 1,
         images: {Primary: media/poster-ladybird.jpg}}
      - {id: nature-s2, name: Season 2, type: Season, parent: nature-series, index_number: 2}
      - {id: nature-s1e1, name: Dunes, type: Episode, parent: nature-s1, index_number: 1,
         images: {Primary: media/Dune.jpg}}
      - id: painting-movie
        name: Painting Colors
        type: Movie
        images: {Primary: media/box-painting.jpg, Backdrop: [media/Elephants.jpg], Logo: media/Stripes.png}
      - {id: jasper-roks, name: Jasper Roks, type: Person, images: {Primary: media/avatar-meadow.jpg}}
      - {id: sigur-ros, name: Sigur Rós, type: MusicArtist, images: {Primary: media/avatar-meadow.jpg}}
      - {id: agaetis, name: Ágætis byrjun, type: MusicAlbum, parent: sigur-ros,
         images: {Primary: media/avatar-meadow.jpg}}
      - {id: svefn, name: Svefn-g-englar, type: Audio, parent: agaetis, index_number: 2}
      - {id: scifi, name: Science Fiction & Fantasy, type: Genre, images: {Primary: media/GreenMeadow.jpg}}
      - {id: acdc, name: AC/DC Films, type: Studio, images: {Logo: media/matplotlib-logo.png}}
      - {id: pure, name: "100% Pure? #1", type: Studio, images: {Primary: media/GreenMeadow.jpg}}
      - {id: postrock, name: Post-Rock / Ambient, type: MusicGenre, images: {Primary: media/GreenMeadow.jpg}}
      - {id: zoe, name: Ζωή Σαρλή, type: Person, images: {Primary: media/avatar-meadow.jpg,
         Backdrop: [media/Aqua.jpg, media/Garden.jpg]}}
    users:
      - {id: alice, name: alice, images: {Primary: media/avatar-meadow.jpg}}
""")

MEDIA = ("poster-wood.jpg", "Fossa_by_Jasper_Roks.jpg", "Aqua.jpg", "matplotlib-logo.png", "Garden.jpg",
         "poster-ladybird.jpg", "Dune.jpg", "box-painting.jpg", "Elephants.jpg", "Stripes.png",
         "avatar-meadow.jpg", "GreenMeadow.jpg")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    copy_media(root, *MEDIA)
    (root / "catalog.yaml").write_text(CATALOG)
    output = root / "output"
    run_doit(root / "catalog.yaml", output, "-n", "2", check=True)
    return root, output


@pytest.fixture(scope="module")
def servers(built, tmp_path_factory):
    """{"serve.py": host:port, "nginx": host:port (when installed)}."""
    _, output = built
    with running_server(output) as base:
        hosts = {"serve.py": base.split("//", 1)[1]}
        if NGINX is None:
            yield hosts
            return
        with running_nginx(output, tmp_path_factory.mktemp("nginx")) as (ng, _, _):
            hosts["nginx"] = ng
            yield hosts


def obj(output: Path, recipe) -> dict:
    kind = "Users" if recipe.user else "Items"
    return json.loads((output / kind / recipe.item / "index.json").read_text())


def quote_path(url: str) -> str:
    """Percent-encode a path as clients send it (spaces, non-ASCII), keeping the query."""
    path, _, query = url.partition("?")
    return urllib.parse.quote(path, safe="/%") + ("?" + query if query else "")


def test_recipes_cover_the_nine_clients():
    assert sorted({r.client for r in RECIPES}) == sorted(CLIENTS)
    for recipe in RECIPES:
        assert recipe.source.split()[0].count("/") == 1, recipe.name      # owner/repository path


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_client_url_is_answered_by_both_servers(built, servers, recipe):
    """The URL the client's source builds gets the image (200, an image type), with the
    object fields it reads present; nginx answers the same bytes as serve.py."""
    _, output = built
    dto = obj(output, recipe)
    for name in recipe.fields:
        assert name in dto, f"{recipe.name}: {name} missing ({recipe.source})"
    url = recipe.url(dto)
    answers = {}
    for server, host in servers.items():
        status, headers, body = fetch(host, "GET", quote_path(url), {})
        assert status == 200, f"{server} {url}: {status} {body[:200]!r}"
        assert headers["content-type"].startswith("image/"), (server, url)
        Image.open(io.BytesIO(body)).verify()
        answers[server] = (headers["content-type"], headers["x-image-size"], body)
    assert len({a for a in answers.values()}) == 1, f"{url}: serve.py and nginx differ"
    # the size ladder (issue 9): never smaller than Jellyfin's answer, at most 1.25× it
    path, _, query = url.partition("?")
    _, request = match(path, urllib.parse.parse_qsl(query, keep_blank_values=True))
    _, slots = Index(output).owner(request.kind, request.owner_id)
    image = Index(output).images[slots[request.image_type][request.index]]
    jellyfin = output_size(image.width, image.height, request.size)
    served = tuple(map(int, answers["serve.py"][1].split("x")))
    assert served[0] >= jellyfin[0] and served[1] >= jellyfin[1], f"{url}: {served} < Jellyfin's {jellyfin}"
    assert served[0] <= 1.25 * jellyfin[0] and served[1] <= 1.25 * jellyfin[1], \
        f"{url}: {served} > 1.25 × Jellyfin's {jellyfin}"


def test_fields_the_clients_read(built):
    _, output = built
    item = lambda i: json.loads((output / "Items" / i / "index.json").read_text())     # noqa: E731
    series, s1, s2, ep, track, album = (item(i) for i in ("nature-series", "nature-s1", "nature-s2", "nature-s1e1",
                                                           "svefn", "agaetis"))
    assert ep["SeriesId"] == series["Id"] and ep["SeasonId"] == s1["Id"] and ep["ParentId"] == s1["Id"]
    assert (ep["SeriesName"], ep["SeasonName"], ep["IndexNumber"], ep["ParentIndexNumber"]) == \
        ("Nature Diaries", "Season 1", 1, 1)
    assert s2["SeriesId"] == series["Id"] and s2["SeriesPrimaryImageTag"] == series["ImageTags"]["Primary"]
    assert ep["SeriesThumbImageTag"] == series["ImageTags"]["Thumb"]
    assert series["IsFolder"] is True and series["ChildCount"] == 2 and ep["IsFolder"] is False
    assert track["AlbumId"] == album["Id"] and track["AlbumPrimaryImageTag"] == album["ImageTags"]["Primary"]
    assert track["AlbumArtists"] == [{"Name": "Sigur Rós", "Id": item("sigur-ros")["Id"]}] == track["ArtistItems"]
    assert len({series["ServerId"], ep["ServerId"], track["ServerId"]}) == 1
    for dto in (series, s1, s2, ep, track, album):
        assert dto["ScreenshotImageTags"] == [] and isinstance(dto["BackdropImageTags"], list)


def _same(servers, target, expect):
    out = []
    for server, host in servers.items():
        status, headers, body = fetch(host, "GET", target, {})
        assert status == expect, f"{server} {target}: {status} {body[:120]!r}"
        out.append(body)
    return out


def test_emby_prefix_lower_case_and_guid_spellings(built, servers):
    _, output = built
    series = json.loads((output / "Items/nature-series/index.json").read_text())
    guid, tag = series["Id"], series["ImageTags"]["Primary"]
    bodies = set()
    for target in (f"/emby/Items/{guid}/Images/Primary?maxWidth=320&tag={tag}",
                   f"/EMBY/items/{guid.upper()}/images/primary?MaxWidth=320",
                   f"/mediabrowser/Items/{dashed(guid)}/Images/Primary/0?maxwidth=320",
                   f"/emby/items/nature-series/Images/Primary?maxWidth=320",
                   f"/items/{dashed(guid).upper()}/IMAGES/PRIMARY?maxWidth=320&quality=90"):
        bodies.update(_same(servers, target, 200))
    assert len(bodies) == 1
    assert json.loads(_same(servers, f"/emby/Items/{guid}", 200)[0])["Id"] == guid
    for target in ("/embyItems/nature-series", "/emby", "/emby/emby/Items/nature-series",
                   "/Items/0123456789abcdef0123456789abcdef/Images/Primary"):
        _same(servers, target, 404)


NAMED = [   # (path as a client encodes it, catalog id of the item it names)
    ("/Artists/Sigur%20R%C3%B3s/Images/Primary/0", "sigur-ros"),
    ("/artists/SIGUR%20R%C3%93S/images/primary/0?maxWidth=160", "sigur-ros"),          # other case, ASCII and not
    ("/Artists/sigur%20ro%CC%81s/Images/Primary/0", "sigur-ros"),                      # decomposed ó (NFD)
    ("/emby/Genres/Science%20Fiction%20%26%20Fantasy/Images/Primary?maxWidth=320", "scifi"),
    ("/Genres/science%20fiction%20&%20fantasy/Images/Primary", "scifi"),               # & left raw
    ("/Studios/AC%2FDC%20Films/Images/Logo", "acdc"),                                  # %2F in the name
    ("/studios/ac%2fdc%20films/images/logo/0?height=40", "acdc"),
    ("/Studios/100%25%20Pure%3F%20%231/Images/Primary", "pure"),                       # % ? # in the name
    ("/MusicGenres/Post-Rock%20%2F%20Ambient/Images/Primary?fillWidth=100&fillHeight=100", "postrock"),
    ("/Persons/%CE%96%CF%89%CE%AE%20%CE%A3%CE%B1%CF%81%CE%BB%CE%AE/Images/Backdrop/1", "zoe"),
    ("/persons/%CE%B6%CF%89%CE%AE%20%CF%83%CE%B1%CF%81%CE%BB%CE%AE/images/backdrop/1", "zoe"),   # lower case
    ("/mediabrowser/Persons/Jasper%20Roks/Images/Primary", "jasper-roks"),
]


@pytest.mark.parametrize("target, item_id", NAMED, ids=[t for t, _ in NAMED])
def test_named_item_images_with_hostile_names(built, servers, target, item_id):
    """Seed 002 "Named Item Images": found by name, case-insensitively, on both servers; the
    bytes are those of the item's own image URL."""
    path, _, query = target.partition("?")
    segments = [s for s in path.split("/") if s]
    if segments[0].lower() in ("emby", "mediabrowser"):
        segments = segments[1:]
    rest = "/".join(segments[-2:] if segments[-1].isdigit() else segments[-1:])
    own = f"/Items/{item_id}/Images/{rest}" + (f"?{query}" if query else "")
    for server, host in servers.items():
        a = fetch(host, "GET", target, {})
        b = fetch(host, "GET", own, {})
        assert a[0] == 200, f"{server} {target}: {a[0]} {a[2][:120]!r}"
        assert a[2] == b[2], f"{server} {target}: not the item's image"


@pytest.mark.parametrize("target", [
    "/Artists/Nobody/Images/Primary/0", "/Genres/Sigur%20R%C3%B3s/Images/Primary",   # another type's name
    "/Studios/AC%2FDC/Images/Logo", "/Persons/Jasper%20Roks/Images/Logo",             # no such image
    "/Artists/%2E%2E/Images/Primary", "/Studios/..%2F..%2Fetc%2Fpasswd/Images/Primary",
])
def test_named_item_misses_are_404(servers, target):
    _same(servers, target, 404)


def test_named_items_have_a_safe_object_path(built):
    """Static hosting: a named item's object sits at {Collection}/{ids.safe_name}/index.json,
    one path segment whatever the name holds."""
    from pipeline.model import layout
    from pipeline.model.ids import safe_name
    _, output = built
    for collection, name, item_id in (("Studios", "AC/DC Films", "acdc"), ("Studios", "100% Pure? #1", "pure"),
                                      ("Persons", "Ζωή Σαρλή", "zoe"), ("Genres", "Science Fiction & Fantasy", "scifi")):
        rel = layout.named_object_file(collection, name)
        assert rel.count("/") == 2 and safe_name(name) in rel and ".." not in rel
        assert (output / rel).is_file(), rel
        assert json.loads((output / rel).read_text())["Id"] == json.loads(
            (output / "Items" / item_id / "index.json").read_text())["Id"]

"""Overlays, effects and formats end to end (issue #4): a catalog declaring decorations is built
with doit and requested from a running serve.py with Emby's and Jellyfin's spellings."""

import io
import json
import textwrap

import pytest
from PIL import Image

from conftest import Http, copy_media, run_doit, running_server

CATALOG = textwrap.dedent("""\
    settings:
      negotiate_format: true
      formats: [Original, Webp, Avif]
      qualities: [90]
      sizes: [{fillWidth: 228, fillHeight: 342}, {maxWidth: 640}]
      variants:
        - {sizes: [{fillWidth: 228, fillHeight: 342}], formats: [Original], percentPlayed: {from: 5, to: 95, step: 5}}
        - {sizes: [{fillWidth: 228, fillHeight: 342}], formats: [Original], unplayedCount: [1, 2, 3, 120]}
        - {sizes: [{fillWidth: 228, fillHeight: 342}], formats: [Original], addPlayedIndicator: true}
        - {sizes: [{maxWidth: 640}], formats: [Original], blur: [10], foregroundLayer: [0.4]}
        - {sizes: [{maxWidth: 640}], formats: [Jpg], backgroundColor: ["#ff0000", "#80ff0000"]}
        - {sizes: [{maxWidth: 640}], formats: [Jpg]}
    items:
      - id: poster
        name: Poster
        type: Movie
        images: {Primary: media/poster-wood.jpg, Logo: media/matplotlib-logo.png}
      - id: anim
        name: Animated
        type: Movie
        images: {Primary: media/anim.gif}
""")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("decorated")
    copy_media(root, "poster-wood.jpg", "matplotlib-logo.png")
    frames = [Image.new("RGB", (300, 450), c) for c in ("red", "green", "blue")]
    frames[0].save(root / "media" / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (root / "catalog.yaml").write_text(CATALOG)
    output = root / "output"
    run_doit(root / "catalog.yaml", output, "-n", "2", check=True)
    with running_server(output) as base:
        yield Http(base), output


def image_of(body):
    return Image.open(io.BytesIO(body))


CARD = "/Items/poster/Images/Primary?fillWidth=228&fillHeight=342"


@pytest.mark.parametrize("query", ["&percentPlayed=47", "&PercentPlayed=47", "&percentplayed=46"])
def test_percent_played_nearest_step(site, query):
    http, _ = site
    status, headers, body = http.request(CARD + query + "&format=original")
    assert status == 200 and headers["X-Image-Decoration"] == "pp45"
    assert "X-Image-Not-Applied" not in headers
    image = image_of(body).convert("RGB")
    r, g, b = image.getpixel((20, 338))                       # inside the filled part of the bar
    assert abs(r - 0x00) < 40 and abs(g - 0xA4) < 40 and abs(b - 0xDC) < 40
    r, g, b = image.getpixel((200, 338))                      # past 45 %: the dark background
    assert r < 120 and g < 120 and b < 120


def test_unplayed_count_exact_only(site):
    http, _ = site
    status, headers, body = http.request(CARD + "&unplayedCount=3&format=original")
    assert status == 200 and headers["X-Image-Decoration"] == "uc3"
    r, g, b = image_of(body).convert("RGB").getpixel((228 - 38 + 15, 38))   # bubble body, off the digit
    assert b > 150 and r < 100
    status, headers, body = http.request(CARD + "&unplayedCount=4&format=original")
    assert status == 200 and headers["X-Image-Not-Applied"] == "unplayedCount=4"
    assert "X-Image-Decoration" not in headers


def test_emby_played_indicator(site):
    http, _ = site
    status, headers, _ = http.request(CARD + "&AddPlayedIndicator=true&format=original")
    assert status == 200 and headers["X-Image-Decoration"] == "played"
    assert http.request(CARD + "&AddPlayedIndicator=maybe")[0] == 400


def test_blur_foreground_and_background(site):
    http, _ = site
    status, headers, body = http.request("/Items/poster/Images/Primary?maxWidth=640&blur=10&foregroundLayer=0.4&format=original")
    assert status == 200 and headers["X-Image-Decoration"] == "bl10-fg0.4"
    status, headers, body = http.request("/Items/poster/Images/Logo?maxWidth=640&format=jpg&backgroundColor=%23ff0000")
    assert status == 200 and headers["X-Image-Decoration"] == "bgff0000ff"
    assert image_of(body).convert("RGB").getpixel((0, 0))[0] > 200      # transparent corner now red
    status, headers, _ = http.request("/Items/poster/Images/Logo?maxWidth=640&format=jpg&backgroundColor=%2380ff0000")
    assert headers["X-Image-Decoration"] == "bgff000080"                 # #aarrggbb as Jellyfin reads it
    status, headers, body = http.request("/Items/poster/Images/Logo?maxWidth=640&format=jpg")
    assert image_of(body).convert("RGB").getpixel((0, 0)) == (0, 0, 0)   # default: black, as Jellyfin
    assert http.request("/Items/poster/Images/Logo?backgroundColor=notacolour")[0] == 400
    status, _, body = http.request("/Items/poster/Images/Logo?maxWidth=640&format=bmp")
    assert status == 404 and b"available: Original, Avif, Jpg, Png, Webp" in body


def test_strict_mode_names_what_is_missing(site):
    _, output = site
    with running_server(output, "--strict-decorations") as base:
        status, _, body = Http(base).request(CARD + "&blur=3")
        assert status == 404 and b"blur=3" in body
        assert Http(base).request(CARD + "&percentPlayed=47&format=original")[0] == 200


def test_format_negotiation(site):
    http, output = site
    tag = json.loads((output / "Items/poster/index.json").read_text())["ImageTags"]["Primary"]
    status, headers, body = http.request(CARD, headers={"Accept": "image/avif,image/webp,*/*"})
    assert headers["Content-Type"] == "image/avif" and headers["Vary"] == "Accept"
    assert headers["ETag"] == f'"{tag}-avif"' and image_of(body).size == (228, 342)
    status, headers, _ = http.request(CARD, headers={"Accept": "image/webp,*/*"})
    assert headers["Content-Type"] == "image/webp"
    status, headers, _ = http.request(CARD, headers={"Accept": "*/*"})
    assert headers["Content-Type"] == "image/jpeg" and headers["Vary"] == "Accept"
    status, headers, _ = http.request(CARD + "&format=jpg", headers={"Accept": "image/avif"})
    assert headers["Content-Type"] == "image/jpeg" and "Vary" not in headers
    assert http.request(CARD + "&format=jpeg")[1]["Content-Type"] == "image/jpeg"
    assert http.request(CARD + "&format=jpp")[1]["Content-Type"] == "image/jpeg"


def test_animated_source_keeps_animation_in_original_only(site):
    http, _ = site
    status, headers, body = http.request("/Items/anim/Images/Primary")
    assert status == 200 and headers["Content-Type"] == "image/gif"
    assert getattr(image_of(body), "n_frames", 1) == 3
    status, headers, body = http.request("/Items/anim/Images/Primary?maxWidth=640&format=webp")
    assert status == 200 and image_of(body).size == (300, 450)
    status, headers, body = http.request("/Items/anim/Images/Primary?fillWidth=228&fillHeight=342&format=gif")
    assert status == 200 and getattr(image_of(body), "n_frames", 1) == 1

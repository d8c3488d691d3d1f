"""ART19 podcast artwork (issue #3): catalog validation, style files, JSON:API routes, auth."""

import io
import json
import textwrap

import pytest
from PIL import Image

from conftest import Http, copy_media, run_doit, running_server
from pipeline.catalog.loader import load_catalog
from pipeline.errors import CatalogErrors

BIG = "5f0c8a4e-8d2b-4f3a-9c1e-7b6d5a4c3b2a"
SMALL = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
ALPHA = "11111111-2222-4333-8444-555555555555"
TURNED = "66666666-7777-4888-9999-aaaaaaaaaaaa"
UNKNOWN = "00000000-0000-4000-8000-000000000000"

CATALOG = textwrap.dedent(f"""\
    settings: {{podcast: {{base_url: "https://cdn.example.com"}}}}
    items:
      - {{id: show, name: Show, type: Series}}
      - {{id: other, name: Other, type: Series}}
    podcast_images:
      - id: {BIG}
        bucket: {{type: Series, id: show}}
        source: media/Painting-Colors_by__herobrine7gamer.jpg
        crop: {{left: 1500, top: 500, width: 3400, height: 3400}}
        created_at: "2026-01-02T03:04:05.000Z"
      - id: {SMALL}
        bucket: {{type: Series, id: other}}
        source: media/square2000.jpg
      - id: {ALPHA}
        bucket: {{type: Series, id: other}}
        source: media/matplotlib-logo.png
      - id: {TURNED}
        bucket: {{type: Series, id: other}}
        source: media/turned.jpg
""")


def make_sources(root):
    copy_media(root, "Painting-Colors_by__herobrine7gamer.jpg", "matplotlib-logo.png")
    Image.new("RGB", (2000, 2000), "teal").save(root / "media" / "square2000.jpg")
    turned = Image.new("RGB", (400, 200), "white")
    turned.paste((255, 0, 0), (0, 0, 100, 200))                  # red band on the left, stored
    exif = Image.Exif()
    exif[0x0112] = 6                                              # displayed turned 90° clockwise
    turned.save(root / "media" / "turned.jpg", exif=exif, quality=95)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("podcast")
    make_sources(root)
    (root / "catalog.yaml").write_text(CATALOG)
    (root / "credentials.yaml").write_text(
        "- {credential: all, token: s3cret}\n- {credential: limited, token: t0ken, buckets: [Series/other]}\n")
    output = root / "output"
    run_doit(root / "catalog.yaml", output, "-n", "2", check=True)
    with running_server(output) as base:
        yield Http(base), output, root


def doc(body):
    return json.loads(body)


def styles_of(http, image_id):
    status, _, body = http.request(f"/images/{image_id}")
    ids = [r["id"] for r in doc(body)["data"]["relationships"]["media_assets"]["data"]]
    query = "&".join(f"ids%5B%5D={i}" for i in ids)
    assets = doc(http.request(f"/media_assets?{query}")[2])["data"]
    return {a["attributes"]["style"]: a["attributes"] for a in assets}


def test_image_resource_shape(site):
    http, _, _ = site
    status, headers, body = http.request(f"/images/{BIG}")
    assert status == 200 and headers["Content-Type"] == "application/vnd.api+json"
    data = doc(body)["data"]
    assert data["type"] == "images" and data["id"] == BIG
    assert data["attributes"]["crop_data"] == {"left": 1500.0, "top": 500.0, "width": 3400.0, "height": 3400.0}
    assert data["attributes"]["bucket_type"] == "Series" and data["attributes"]["bucket_id"] == "show"
    assert data["attributes"]["status"] == "valid"
    assert data["attributes"]["created_at"] == "2026-01-02T03:04:05.000Z"
    assert len(data["relationships"]["media_assets"]["data"]) == 9


def test_styles_with_crop_and_square_3000(site):
    http, _, _ = site
    styles = styles_of(http, BIG)
    assert list(styles) == ["original", "stripped-original", "regular", "thumb", "square-400",
                            "square-640", "square-888", "square-3000", "itunes"]
    sizes = {s: (a["size_width"], a["size_height"]) for s, a in styles.items()}
    assert sizes["original"] == (6000, 4000) and sizes["regular"] == (3400, 3400)
    assert sizes["thumb"] == (100, 100) and sizes["itunes"] == (1400, 1400) and sizes["square-3000"] == (3000, 3000)
    url = styles["square-3000"]["cdn_url"]
    assert url.startswith("https://cdn.example.com/images/") and url.endswith("/square-3000.jpg")
    path = url.removeprefix("https://cdn.example.com")
    status, headers, body = http.request(path)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert "immutable" in headers["Cache-Control"] and int(headers["Content-Length"]) == styles["square-3000"]["file_size"]
    image = Image.open(io.BytesIO(body))
    assert image.size == (3000, 3000) and image.mode == "RGB"
    # Apple: HEAD and byte ranges
    assert http.request(path, method="HEAD")[0] == 200
    status, headers, part = http.request(path, headers={"Range": "bytes=10-19"})
    assert status == 206 and part == body[10:20]


def test_no_square_3000_below_3000(site):
    http, _, _ = site
    styles = styles_of(http, SMALL)
    assert "square-3000" not in styles and styles["itunes"]["size_width"] == 1400
    assert styles["regular"]["size_width"] == 2000


def test_transparent_png_becomes_rgb(site):
    http, _, _ = site
    styles = styles_of(http, ALPHA)
    assert styles["regular"]["size_width"] == 130                   # centred square of a 542x130 logo
    body = http.request(styles["itunes"]["cdn_url"].removeprefix("https://cdn.example.com"))[2]
    assert Image.open(io.BytesIO(body)).mode == "RGB"
    original = http.request(styles["original"]["cdn_url"].removeprefix("https://cdn.example.com"))[2]
    assert original == (site[2] / "media" / "matplotlib-logo.png").read_bytes()


def test_exif_rotated_source_is_upright(site):
    http, _, _ = site
    styles = styles_of(http, TURNED)
    stripped = http.request(styles["stripped-original"]["cdn_url"].removeprefix("https://cdn.example.com"))[2]
    upright = Image.open(io.BytesIO(stripped))
    assert upright.size == (200, 400) and 0x0112 not in upright.getexif()
    r, g, b = upright.convert("RGB").getpixel((100, 20))           # the red band is now on top
    assert r > 200 and g < 60


def test_list_routes_and_errors(site):
    http, _, _ = site
    status, _, body = http.request(f"/images?ids[]={BIG}&ids[]={UNKNOWN}&ids%5B%5D={SMALL}")
    assert status == 200 and [d["id"] for d in doc(body)["data"]] == [BIG, SMALL]
    assert "self" in doc(body)["links"]
    status, _, body = http.request("/images")
    assert status == 400 and doc(body)["errors"][0]["source"]["parameter"] == "ids[]"
    assert http.request("/images?ids[]=not-a-uuid")[0] == 400
    assert http.request("/images/not-a-uuid")[0] == 400
    status, headers, body = http.request(f"/images/{UNKNOWN}")
    assert status == 404 and doc(body)["errors"][0]["status"] == "404"
    assert http.request(f"/media_assets/{UNKNOWN}")[0] == 404


def test_feed_lines(site):
    _, output, _ = site
    text = (output / "art19" / "feeds" / "Series" / "show.xml").read_text()
    assert '<itunes:image href="https://cdn.example.com/images/' in text and "square-3000.jpg" in text
    assert 'aspect-ratio="1/1"' in text
    other = (output / "art19" / "feeds" / "Series" / "other.xml").read_text()
    assert "itunes.jpg" in other.splitlines()[-1]


def test_authentication(site):
    _, output, root = site
    with running_server(output, "--art19-credentials", str(root / "credentials.yaml")) as base:
        http = Http(base)
        assert http.request(f"/images/{BIG}")[0] == 401
        bad = {"Authorization": 'Token token="wrong", credential="all"'}
        assert http.request(f"/images/{BIG}", headers=bad)[0] == 401
        good = {"Authorization": 'Token token="s3cret", credential="all"'}
        assert http.request(f"/images/{BIG}", headers=good)[0] == 200
        limited = {"Authorization": 'Token token="t0ken", credential="limited"'}
        status, _, body = http.request(f"/images/{BIG}", headers=limited)
        assert status == 403 and doc(body)["errors"][0]["status"] == "403"
        assert http.request(f"/images/{SMALL}", headers=limited)[0] == 200
        status, _, body = http.request(f"/images?ids[]={BIG}&ids[]={SMALL}", headers=limited)
        assert [d["id"] for d in doc(body)["data"]] == [SMALL]
        assert http.request("/Items/show")[0] == 200                   # the media-server API stays open


@pytest.mark.parametrize("entry,field,message", [
    ("crop: {left: 5000, top: 0, width: 3000, height: 3000}", "podcast_images[0].crop", "crop"),
    ("crop: {left: 0, top: 0, width: 3000, height: 2000}", "podcast_images[0].crop", "square"),
    ("bucket_override", "podcast_images[0].bucket.id", "no Series with id 'nope'"),
])
def test_catalog_errors(tmp_path, entry, field, message):
    make_sources(tmp_path)
    bucket = "nope" if entry == "bucket_override" else "show"
    crop = "" if entry == "bucket_override" else "    " + entry + "\n"
    (tmp_path / "catalog.yaml").write_text(
        "items:\n  - {id: show, name: Show, type: Series}\npodcast_images:\n"
        f"  - id: {BIG}\n    bucket: {{type: Series, id: {bucket}}}\n"
        "    source: media/Painting-Colors_by__herobrine7gamer.jpg\n" + crop)
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "catalog.yaml")
    error = info.value.errors[0]
    assert error.field == field and message in error.message and error.line


def test_duplicate_podcast_id(tmp_path):
    make_sources(tmp_path)
    entry = f"  - {{id: {BIG}, bucket: {{type: Series, id: show}}, source: media/square2000.jpg}}\n"
    (tmp_path / "catalog.yaml").write_text(
        "items:\n  - {id: show, name: Show, type: Series}\npodcast_images:\n" + entry + entry)
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "catalog.yaml")
    assert "podcast_images[1].id: duplicate id" in str(info.value) and "catalog.yaml:5" in str(info.value)

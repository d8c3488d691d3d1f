"""End to end: serve.py with the write routes on a temporary catalog of real images: every route,
its status codes and auth failures, read-your-writes, comments kept, remote images from a local
HTTP server, and an upload made by a real client library (@jellyfin/sdk under node)."""

import base64
import http.server
import io
import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, copy_media, run_doit, running_server
from pipeline.catalog.loader import load_catalog

ADMIN, USER = "admin-token-0001", "user-token-0002"
SETTINGS = "settings: {formats: [Original], sizes: [{maxWidth: [160]}], qualities: [90]}"


def catalog_text(remote: str) -> str:
    return textwrap.dedent(f"""\
        # Write-route test library: this comment must survive every write.
        {SETTINGS}
        items:
          - id: show            # the series
            name: Show
            type: Series
            images:
              Primary: media/box-painting.jpg
              Backdrop: [media/avatar-meadow.jpg, media/box-painting.jpg]
            remote_images:
              - {{provider: Fanart, url: "{remote}/good.jpg", type: Primary, language: en, rating: 8.1, votes: 3}}
              - {{provider: Fanart, url: "{remote}/de.jpg", type: Primary, language: de, rating: 9.0}}
              - {{provider: TheMovieDb, url: "{remote}/none.jpg", type: Backdrop, width: 1280, height: 720}}
              - {{provider: TheMovieDb, url: "{remote}/slow.jpg", type: Primary, language: en, rating: 1}}
              - {{provider: TheMovieDb, url: "{remote}/text", type: Primary, language: en}}

          - id: movie
            name: Movie
            type: Movie
            images: {{Primary: media/avatar-meadow.jpg}}
        users:
          - id: alice
            name: alice
            images: {{Primary: media/avatar-meadow.jpg}}
          - id: bob
            name: bob
    """)


def small_jpeg(seed: int, size=(48, 32)) -> bytes:
    """A distinct small JPEG cut from a real photograph (media/box-painting.jpg)."""
    with Image.open(ROOT / "media" / "box-painting.jpg") as photo:
        crop = photo.convert("RGB").crop((seed, seed, seed + size[0] * 4, seed + size[1] * 4)).resize(size)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=90)
    return out.getvalue()


class Remote(http.server.BaseHTTPRequestHandler):
    """The remote image host: /good.jpg, /de.jpg, /none.jpg (images), /slow.jpg (answers after
    3 s), /text (not an image). Records the paths it was asked for."""

    asked: list = []

    def do_GET(self):   # noqa: N802 (http.server's name)
        Remote.asked.append(self.path)
        if self.path == "/slow.jpg":
            time.sleep(3)
        if self.path == "/text":
            body, kind = b"<html>not an image</html>", "text/html"
        else:
            body, kind = small_jpeg(len(self.path)), "image/jpeg"
        try:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def remote():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Remote)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def site(tmp_path_factory, remote):
    root = tmp_path_factory.mktemp("writes")
    copy_media(root, "box-painting.jpg", "avatar-meadow.jpg")
    catalog = root / "catalog.yaml"
    catalog.write_text(catalog_text(remote))
    (root / "tokens.yaml").write_text(f'- {{token: "{ADMIN}", user: alice, admin: true}}\n'
                                      f'- {{token: "{USER}", user: bob, admin: false}}\n')
    output = root / "output"
    run_doit(catalog, output, check=True)
    with running_server(output, "--catalog", str(catalog), "--auth", str(root / "tokens.yaml"),
                        "--max-upload-mb", "1", "--remote-timeout", "1", "--workers", "2",
                        "--threads", "4") as base:
        yield Site(base, catalog, output)


class Site:
    def __init__(self, base: str, catalog: Path, output: Path):
        self.base, self.catalog, self.output = base, catalog, output

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                token: str | None = ADMIN):
        headers = dict(headers or {})
        if token:
            headers.setdefault("X-Emby-Token", token)
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def upload(self, path: str, image: bytes, mime="image/jpeg", encode=True, token=ADMIN):
        body = base64.b64encode(image) if encode else image
        return self.request("POST", path, body, {"Content-Type": mime}, token)

    def item(self, item_id: str) -> dict:
        status, body = self.request("GET", f"/Items/{item_id}", token=None)
        assert status == 200, body
        return json.loads(body)

    def user(self, user_id: str) -> dict:
        status, body = self.request("GET", f"/Users/{user_id}", token=None)
        assert status == 200, body
        return json.loads(body)


def test_upload_base64_is_visible_in_the_next_read_and_keeps_comments(site):
    before = site.item("show")["BackdropImageTags"]
    image = small_jpeg(1)
    status, body = site.upload("/Items/show/Images/Backdrop", image)
    assert status == 204, body
    after = site.item("show")["BackdropImageTags"]          # read-your-writes: no waiting
    assert after[:2] == before and len(after) == 3 and after[2] not in before
    status, body = site.request("GET", f"/Items/show/Images/Backdrop/2?tag={after[2]}", token=None)
    assert status == 200 and Image.open(io.BytesIO(body)).size == (48, 32)
    text = site.catalog.read_text()
    assert "# Write-route test library: this comment must survive every write." in text
    assert "  - id: show            # the series" in text
    stored = [s.relpath for s in load_catalog(site.catalog).items["show"].images["Backdrop"]]
    assert stored[2].startswith("media/uploads/") and (site.catalog.parent / stored[2]).read_bytes() == image


def test_upload_raw_png_replaces_at_index_and_every_auth_form_works(site):
    png = io.BytesIO()
    Image.open(io.BytesIO(small_jpeg(2))).save(png, "PNG")
    forms = [({"Authorization": f'MediaBrowser Client="t", Device="d", DeviceId="x", Version="1", Token="{ADMIN}"'}, ""),
             ({"X-Emby-Authorization": f'Emby Token="{ADMIN}"'}, ""),
             ({"X-MediaBrowser-Token": ADMIN}, ""),
             ({}, f"?api_key={ADMIN}"),
             ({}, f"?ApiKey={ADMIN}")]
    for headers, query in forms:
        status, body = site.request("POST", "/Items/movie/Images/Primary/0" + query, png.getvalue(),
                                    {"Content-Type": "image/png; charset=utf-8", **headers}, token=None)
        assert status == 204, (headers, query, body)
    relpath = load_catalog(site.catalog).items["movie"].images["Primary"][0].relpath
    assert relpath.endswith(".png")
    status, body = site.request("GET", "/Items/movie/Images/Primary", token=None)
    assert body == png.getvalue()


@pytest.mark.parametrize("path, token, mime, body, expected", [
    ("/Items/show/Images/Primary", None, "image/jpeg", "ok", 401),
    ("/Items/show/Images/Primary", "wrong-token-000", "image/jpeg", "ok", 401),
    ("/Items/show/Images/Primary", USER, "image/jpeg", "ok", 403),
    ("/Items/nothing/Images/Primary", ADMIN, "image/jpeg", "ok", 404),
    ("/Items/show/Images/Primary", ADMIN, "text/plain", "ok", 400),
    ("/Items/show/Images/Primary", ADMIN, "image/*", "ok", 400),             # the SDK's default
    ("/Items/show/Images/Primary", ADMIN, "image/jpeg", "not base64!", 400),
    ("/Items/show/Images/Primary", ADMIN, "image/png", "ok", 400),           # a JPEG said to be PNG
    ("/Items/show/Images/Primary", ADMIN, "image/jpeg", "truncated", 400),
    ("/Items/show/Images/Primary", ADMIN, "image/png", "bomb", 400),
    ("/Items/show/Images/Primary", ADMIN, "image/jpeg", "huge", 413),
    ("/Items/show/Images/Logo/1", ADMIN, "image/jpeg", "ok", 400),           # index on a single type
    ("/Items/show/Images/Backdrop/9", ADMIN, "image/jpeg", "ok", 400),       # past the end
    ("/Items/show/Images/Backdrop/x", ADMIN, "image/jpeg", "ok", 400),
])
def test_upload_refusals_change_nothing(site, path, token, mime, body, expected):
    image = small_jpeg(3)
    data = {"ok": base64.b64encode(image), "not base64!": b"not base64!",
            "truncated": base64.b64encode(image[: len(image) // 2]),
            "huge": b"A" * (2 * 1024 * 1024)}.get(body)
    if body == "bomb":
        bomb = io.BytesIO()
        Image.new("1", (12_000, 12_000)).save(bomb, "PNG")     # 144 MP: past the 100 MP limit
        data = base64.b64encode(bomb.getvalue())
    before = site.catalog.read_bytes()
    status, answer = site.request("POST", path, data, {"Content-Type": mime}, token)
    assert status == expected, answer
    assert answer.strip()
    assert site.catalog.read_bytes() == before


def test_delete_and_reorder(site):
    status, body = site.upload("/Items/show/Images/Backdrop", small_jpeg(4))
    assert status == 204, body
    tags = site.item("show")["BackdropImageTags"]
    status, body = site.request("POST", f"/Items/show/Images/Backdrop/0/Index?newIndex={len(tags) - 1}")
    assert status == 204, body
    swapped = site.item("show")["BackdropImageTags"]
    assert swapped == [tags[-1], *tags[1:-1], tags[0]]              # Jellyfin swaps the two
    assert site.request("POST", "/Items/show/Images/Backdrop/0/Index?newIndex=99")[0] == 400
    assert site.request("POST", "/Items/show/Images/Backdrop/0/Index")[0] == 400
    assert site.request("POST", "/Items/show/Images/Primary/0/Index?newIndex=0")[0] == 400
    assert site.request("POST", "/Items/show/Images/Backdrop/0/Index?newIndex=1", token=USER)[0] == 403

    status, body = site.request("DELETE", "/Items/show/Images/Backdrop?imageIndex=1")
    assert status == 204, body
    assert site.item("show")["BackdropImageTags"] == [swapped[0], *swapped[2:]]
    guid = site.item("show")["Id"]                                  # the published GUID, dashed
    status, body = site.request("DELETE", f"/Items/{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"
                                          "/Images/Backdrop/0")
    assert status == 204, body
    assert site.item("show")["BackdropImageTags"] == swapped[2:]
    assert site.request("DELETE", "/Items/show/Images/Thumb")[0] == 404
    assert site.request("DELETE", "/Items/show/Images/Backdrop/40")[0] == 404
    assert site.request("DELETE", "/Items/nothing/Images/Primary")[0] == 404
    assert site.request("DELETE", "/Items/show/Images/Backdrop/0", token=None)[0] == 401
    assert "# the series" in site.catalog.read_text()


def test_user_images(site):
    status, body = site.upload("/UserImage", small_jpeg(5), token=USER)          # bob's own
    assert status == 204, body
    tag = site.user("bob").get("PrimaryImageTag")
    assert tag
    assert site.upload("/UserImage?userId=alice", small_jpeg(6), token=USER)[0] == 403
    assert site.upload("/Users/alice/Images/Primary", small_jpeg(6), token=USER)[0] == 403
    assert site.upload("/UserImage?userId=nobody", small_jpeg(6))[0] == 404
    assert site.upload("/UserImage", small_jpeg(6), token=None)[0] == 401
    status, body = site.upload("/Users/bob/Images/Primary", small_jpeg(7))         # admin: anyone
    assert status == 204, body
    assert site.user("bob")["PrimaryImageTag"] != tag
    status, body = site.request("DELETE", "/UserImage?userId=bob", token=USER)
    assert status == 204, body
    assert "PrimaryImageTag" not in site.user("bob")
    assert site.request("DELETE", "/Users/bob/Images/Primary", token=USER)[0] == 204   # none left: no-op
    assert site.request("DELETE", "/Users/alice/Images/Primary", token=USER)[0] == 403


def test_remote_images_list_filters_and_pages(site):
    status, body = site.request("GET", "/Items/show/RemoteImages", token=USER)
    assert status == 200
    result = json.loads(body)
    assert result["Providers"] == ["Fanart", "TheMovieDb"]
    assert result["TotalRecordCount"] == 4                                  # the German one is filtered
    assert [i["Url"].rsplit("/", 1)[1] for i in result["Images"]] == ["good.jpg", "slow.jpg", "text", "none.jpg"]
    first = result["Images"][0]
    assert first == {"ProviderName": "Fanart", "Url": first["Url"], "CommunityRating": 8.1, "VoteCount": 3,
                     "Language": "en", "Type": "Primary", "RatingType": "Score"}
    everything = json.loads(site.request("GET", "/Items/show/RemoteImages?includeAllLanguages=true")[1])
    assert everything["TotalRecordCount"] == 5
    assert everything["Images"][1]["Language"] == "de"                     # after en, within Fanart
    page = json.loads(site.request("GET", "/Items/show/RemoteImages?type=Primary&startIndex=1&limit=1"
                                          "&providerName=themoviedb")[1])
    assert page["TotalRecordCount"] == 2 and page["Providers"] == ["Fanart", "TheMovieDb"]
    assert [i["Url"].rsplit("/", 1)[1] for i in page["Images"]] == ["text"]
    assert json.loads(site.request("GET", "/Items/show/RemoteImages?type=Backdrop")[1])["Providers"] == ["TheMovieDb"]
    providers = json.loads(site.request("GET", "/Items/show/RemoteImages/Providers")[1])
    assert providers == [{"Name": "Fanart", "SupportedImages": ["Primary"]},
                         {"Name": "TheMovieDb", "SupportedImages": ["Backdrop", "Primary"]}]
    assert site.request("GET", "/Items/movie/RemoteImages")[1] and \
        json.loads(site.request("GET", "/Items/movie/RemoteImages")[1])["TotalRecordCount"] == 0
    assert site.request("GET", "/Items/show/RemoteImages", token=None)[0] == 401
    assert site.request("GET", "/Items/nothing/RemoteImages")[0] == 404
    assert site.request("GET", "/Items/show/RemoteImages?includeAllLanguages=maybe")[0] == 400


def test_remote_download_only_listed_urls_and_checked(site, remote):
    from urllib.parse import quote
    before = site.catalog.read_bytes()
    Remote.asked.clear()
    unlisted = f"{remote}/other.jpg"
    cases = [(unlisted, 404), (f"{remote}/slow.jpg", 400), (f"{remote}/text", 400)]
    for url, expected in cases:
        status, body = site.request("POST", f"/Items/show/RemoteImages/Download?type=Primary&imageUrl={quote(url)}")
        assert status == expected, (url, body)
        assert body.strip()
    assert "/other.jpg" not in Remote.asked                                 # never fetched
    assert site.catalog.read_bytes() == before
    assert site.request("POST", f"/Items/show/RemoteImages/Download?type=Primary&imageUrl={quote(remote)}%2Fgood.jpg",
                        token=USER)[0] == 403
    assert site.request("POST", "/Items/show/RemoteImages/Download?type=Primary")[0] == 400
    tag = site.item("show")["ImageTags"]["Primary"]
    status, body = site.request("POST", f"/Items/show/RemoteImages/Download?type=Primary&imageUrl={quote(remote)}%2Fgood.jpg")
    assert status == 204, body
    assert site.item("show")["ImageTags"]["Primary"] != tag
    assert load_catalog(site.catalog).items["show"].images["Primary"][0].relpath.startswith("media/uploads/")


def test_read_only_server_answers_writes_with_405(site):
    with running_server(site.output) as base:
        for method, path in (("POST", "/Items/show/Images/Primary"), ("DELETE", "/Items/show/Images/Primary"),
                             ("POST", "/UserImage"), ("POST", "/Items/show/RemoteImages/Download")):
            req = urllib.request.Request(base + path, data=b"" if method == "POST" else None, method=method,
                                         headers={"X-Emby-Token": ADMIN})
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(req, timeout=20)
            assert info.value.code == 405


SDK = ROOT / "tests" / "sdk"


def test_jellyfin_sdk_uploads_an_image(site, tmp_path):
    if shutil.which("node") is None or not (SDK / "node_modules" / "@jellyfin" / "sdk").is_dir():
        pytest.skip("needs node and `npm ci` in tests/sdk (.ci/run does both)")
    image = tmp_path / "poster.jpg"
    image.write_bytes(small_jpeg(9, (40, 60)))
    movie = site.item("movie")
    tag, guid = movie["ImageTags"]["Primary"], movie["Id"]        # the SDK sends the published GUID
    assert guid != "movie"
    result = subprocess.run(["node", str(SDK / "upload.mjs"), site.base, ADMIN, guid, "Primary", str(image),
                             "image/jpeg"], capture_output=True, text=True, timeout=120, cwd=SDK)
    assert result.stdout.strip() == "204", result.stdout + result.stderr
    new = site.item("movie")["ImageTags"]["Primary"]
    assert new != tag
    status, body = site.request("GET", f"/Items/movie/Images/Primary?tag={new}", token=None)
    assert status == 200 and body == image.read_bytes()
    # the SDK's default Content-Type (image/*) is refused as Jellyfin refuses it
    result = subprocess.run(["node", str(SDK / "upload.mjs"), site.base, ADMIN, guid, "Primary", str(image),
                             "image/*"], capture_output=True, text=True, timeout=120, cwd=SDK)
    assert result.stdout.strip() == "400", result.stdout + result.stderr
    assert sys.executable   # (the upload went through node, not Python)


def test_doit_prune_removes_uploads_no_entry_names(site):
    replaced = load_catalog(site.catalog).items["movie"].images["Primary"][0].relpath
    status, body = site.upload("/Items/movie/Images/Primary", small_jpeg(11))
    assert status == 204, body
    current = load_catalog(site.catalog).items["movie"].images["Primary"][0].relpath
    uploads = site.catalog.parent / "media" / "uploads"
    assert (site.catalog.parent / replaced).exists() or not replaced.startswith("media/uploads/")
    result = run_doit(site.catalog, site.output, "prune", check=True)
    assert "upload(s) no catalog entry names" in result.stdout
    named = {s.relpath for o in load_catalog(site.catalog).owners() for s in o.slots()}
    left = {f"media/uploads/{p.name}" for p in uploads.iterdir()}
    assert left == {r for r in named if r.startswith("media/uploads/")}
    assert current in left
    status, body = site.request("GET", "/Items/movie/Images/Primary", token=None)
    assert status == 200 and body == small_jpeg(11)


def test_a_catalog_broken_by_hand_refuses_writes_and_is_left_as_is(site):
    good = site.catalog.read_bytes()
    broken = good.replace(b"users:\n", b"  - {id: extra, name: Extra, type: Movie, images: {Primary: media/missing.jpg}}\nusers:\n")
    site.catalog.write_bytes(broken)
    try:
        status, body = site.upload("/Items/show/Images/Backdrop", small_jpeg(12))
        assert status == 500
        assert b"items[2].images.Primary: file not found: media/missing.jpg" in body
        assert site.catalog.read_bytes() == broken
    finally:
        site.catalog.write_bytes(good)
    status, body = site.upload("/Items/show/Images/Backdrop", small_jpeg(12))
    assert status == 204, body

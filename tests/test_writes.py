"""Unit tests: pipeline.serve.writes (upload bodies as Jellyfin reads them, image checks, remote
fetches) and the coordinator's commands."""

import base64
import http.server
import io
import threading

import pytest
from PIL import Image

from pipeline.serve import writes
from pipeline.serve.builds import BuildCoordinator


def encoded(fmt: str, size=(12, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_raw_and_base64_bodies_of_every_accepted_format(fmt):
    data = encoded(fmt)
    assert writes.decode_body(data) == data
    assert writes.decode_body(base64.b64encode(data)) == data
    wrapped = base64.encodebytes(data)                       # MIME lines, as some clients send
    assert b"\n" in wrapped and writes.decode_body(wrapped) == data
    assert writes.decode_body(b"data:image/x;base64," + base64.b64encode(data)) == data
    extension = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}[fmt]
    mime = f"image/{'jpeg' if fmt == 'JPEG' else fmt.lower()}"
    assert writes.check_image(data, writes.CONTENT_TYPES[mime][1]) == extension


@pytest.mark.parametrize("body", [b"", b"   \n", b"@@not base64@@", b"abc"])
def test_bodies_that_are_neither_image_nor_base64(body):
    with pytest.raises(writes.HttpError) as info:
        writes.decode_body(body)
    assert info.value.status == 400


def test_image_checks():
    png = encoded("PNG")
    with pytest.raises(writes.HttpError, match="not what Content-Type says"):
        writes.check_image(png, writes.CONTENT_TYPES["image/jpeg"][1])
    with pytest.raises(writes.HttpError, match="not a decodable image"):
        writes.check_image(encoded("JPEG")[:200], None)
    with pytest.raises(writes.HttpError, match="BMP images are not accepted"):
        writes.check_image(encoded("BMP"), None)
    bomb = io.BytesIO()
    Image.new("1", (11_000, 11_000)).save(bomb, "PNG")       # 121 MP > 100 MP
    with pytest.raises(writes.HttpError, match="decompression bomb"):
        writes.check_image(bomb.getvalue(), None)


class Host(http.server.BaseHTTPRequestHandler):
    def do_GET(self):   # noqa: N802
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/image.png")
            self.end_headers()
            return
        body = encoded("PNG") if self.path == "/image.png" else b"x" * 5000
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_remote(host):
    assert writes.fetch_remote(f"{host}/image.png", 5, 10_000) == encoded("PNG")
    for path, status, message in (("/redirect", 400, "answered 302"), ("/missing", 400, "answered 404"),
                                  ("/big", 413, "larger than 1000 bytes")):
        with pytest.raises(writes.HttpError, match=message) as info:
            writes.fetch_remote(host + path, 5, 1000)
        assert info.value.status == status
    with pytest.raises(writes.HttpError, match="cannot fetch") as info:
        writes.fetch_remote("http://127.0.0.1:1/x.jpg", 2, 1000)
    assert info.value.status == 400


def test_publish_runs_doit_publish_after_the_build(tmp_path):
    plain = BuildCoordinator(tmp_path / "c.yaml", tmp_path / "out")
    published = BuildCoordinator(tmp_path / "c.yaml", tmp_path / "out", publish=True)
    assert len(plain.commands) == 1 and len(published.commands) == 2
    assert published.commands[0] == plain.commands[0]
    assert "publish" in published.commands[1] and f"catalog={tmp_path / 'c.yaml'}" in published.commands[1]


class FailingBuilds:
    """A ``BuildCoordinator`` stand-in whose every build fails after publishing ``manifest``."""

    def __init__(self, output, manifest):
        self.output, self.manifest = output, manifest

    def begin(self):
        return None

    def end(self, key):
        pass

    def publish(self):
        from pipeline.outputs import manifest as manifest_file
        manifest_file.write(self.output, self.manifest)
        raise writes.BuildFailed("build failed (exit 1):\n  failed: render:media/other.jpg: broken", partial=True)


@pytest.mark.parametrize("failed_itself, status, message", [
    (True, 422, "could not be rendered: cannot identify image file"),
    (False, 500, "the change is saved in the catalog, but the build that publishes it failed"),
])
def test_a_failed_build_answers_by_what_it_published(tmp_path, failed_itself, status, message):
    """422 when the written image is among the build's failed sources; 500 when the build
    published nothing that shows the edit (the 204 case: tests/test_writes_faults.py)."""
    import hashlib
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request
    from pipeline.outputs.manifest import FailedSource, Manifest
    from pipeline.serve.auth import Principal
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.jpg").write_bytes(encoded("JPEG"))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("items:\n  - {id: movie, name: Movie, type: Movie, images: {Primary: media/a.jpg}}\n"
                       "users:\n  - {id: alice, name: alice}\n")
    (tmp_path / "tokens.yaml").write_text('- {token: "admin-token-0001", user: alice, admin: true}\n')
    image = encoded("PNG", (20, 10))
    relpath = f"media/uploads/{hashlib.sha256(image).hexdigest()}.png"
    failed = [FailedSource("media/other.jpg", "broken")]
    if failed_itself:
        failed.append(FailedSource(relpath, "cannot identify image file"))
    output = tmp_path / "output"
    output.mkdir()
    builds = FailingBuilds(output, Manifest(images={}, owners={"Items": {"movie": {}}, "Users": {}},
                                            failed=tuple(failed)))
    handler = writes.Writes(catalog, output, tmp_path / "tokens.yaml", builds=builds)
    request = Request(EnvironBuilder(method="POST", data=base64.b64encode(image),
                                     headers={"Content-Type": "image/png"}).get_environ())
    with pytest.raises(writes.HttpError, match=message) as info:
        handler.upload(request, Principal("alice", True, "admin-token-0001"), "movie", "Primary", None)
    assert info.value.status == status
    assert "the item is published without it" in info.value.message.lower() or not failed_itself


def test_an_image_under_the_limit_in_mime_base64_lines_is_accepted(tmp_path):
    """Some clients send base64 with a line break every 76 characters (MIME): an image just
    under ``max_upload`` is accepted so sent, one just over it is a 413 naming the limit."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.jpg").write_bytes(encoded("JPEG"))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("items:\n  - {id: movie, name: Movie, type: Movie, images: {Primary: media/a.jpg}}\n")
    (tmp_path / "tokens.yaml").write_text('- {token: "admin-token-0001", admin: true}\n')
    handler = writes.Writes(catalog, tmp_path / "output", tmp_path / "tokens.yaml", max_upload=1_000_000,
                            builds=FailingBuilds(tmp_path / "output", None))
    image = encoded("JPEG")
    for size, status in ((1_000_000, None), (1_000_001, 413)):
        padded = image + b"\0" * (size - len(image))            # bytes after the JPEG's end: ignored
        request = Request(EnvironBuilder(method="POST", data=base64.encodebytes(padded),
                                         headers={"Content-Type": "image/jpeg"}).get_environ())
        if status is None:
            assert handler._upload_bytes(request) == (padded, "jpg")
        else:
            with pytest.raises(writes.HttpError, match="larger than 1000000 bytes .*--max-upload-mb") as info:
                handler._upload_bytes(request)
            assert info.value.status == 413

"""HTTP details of issue 13 item 8, on serve's app and on the generated nginx config:
conditionals before ranges (RFC 9110 §13.2.2), ranges that are ignored, 412 without a body,
``If-Unmodified-Since``, ``nosniff`` on error bodies, ART19 links that do not reflect ``Host``,
and no ``Content-Length: 0`` on a 304."""

import json
import textwrap

import pytest
from werkzeug.test import Client

from conftest import copy_media, run_doit
from pipeline.serve.app import App

CATALOG = textwrap.dedent("""\
    settings:
      sizes: [{maxWidth: [64]}]
      formats: [Original]
      variants: []
    items:
      - {id: show, name: Show, type: Series, images: {Primary: media/poster-wood.jpg}}
    podcast_images:
      - {id: 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39, bucket: {type: Series, id: show}, source: media/poster-wood.jpg}
""")
IMG = "/Items/show/Images/Primary?maxWidth=64"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("http")
    copy_media(root, "poster-wood.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    run_doit(root / "catalog.yaml", root / "output", check=True)
    output = root / "output"
    client = Client(App(output))
    tag = client.get(IMG).headers["ETag"].strip('"')
    return output, client, tag


def test_if_none_match_wins_over_range(site):
    _, client, tag = site
    response = client.get(IMG, headers={"If-None-Match": f'"{tag}"', "Range": "bytes=0-9"})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == f'"{tag}"'


@pytest.mark.parametrize("value", ["bytes=0-1,5-6", "bytes=abc", "bytes=5-1", "items=0-1", "bytes="])
def test_malformed_or_unsupported_range_is_ignored(site, value):
    _, client, _ = site
    full = client.get(IMG)
    response = client.get(IMG, headers={"Range": value})
    assert response.status_code == 200 and response.data == full.data


def test_single_ranges_still_work(site):
    _, client, _ = site
    full = client.get(IMG).data
    assert client.get(IMG, headers={"Range": "bytes=0-9"}).data == full[:10]
    assert client.get(IMG, headers={"Range": f"bytes={len(full) + 10}-"}).status_code == 416


def test_failed_if_match_is_412_without_body(site):
    _, client, tag = site
    failed = client.get(IMG, headers={"If-Match": '"other"'})
    assert failed.status_code == 412 and failed.data == b""
    assert client.get(IMG, headers={"If-Match": f'"{tag}"'}).status_code == 200
    assert client.get(IMG, headers={"If-Match": "*"}).status_code == 200
    assert client.get(IMG, headers={"If-Match": f'W/"{tag}"'}).status_code == 412   # strong comparison


def test_if_unmodified_since(site):
    _, client, _ = site
    assert client.get(IMG, headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 412
    assert client.get(IMG, headers={"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}).status_code == 200
    assert client.get(IMG, headers={"If-Unmodified-Since": "not a date"}).status_code == 200


def test_error_bodies_are_not_sniffed(site):
    _, client, _ = site
    for url in ("/Items/nope", "/Items/show/Images/Primary?maxWidth=abc", "/nothing/here", "/images/not-a-uuid"):
        assert client.get(url).headers.get("X-Content-Type-Options") == "nosniff", url
    assert client.post(IMG).headers.get("X-Content-Type-Options") == "nosniff"


def test_art19_self_link_ignores_host(site):
    _, client, _ = site
    uuid = "0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39"
    for url in (f"/images/{uuid}", f"/images?ids[]={uuid}"):
        body = json.loads(client.get(url, headers={"Host": "evil.example"}).data)
        assert "evil.example" not in body["links"]["self"]
        assert body["links"]["self"].startswith("/images")


NGINX_CASES = [
    ({"If-None-Match": '"{tag}"', "Range": "bytes=0-9"}, 304),
    ({"Range": "bytes=0-1,5-6"}, 200),
    ({"If-Match": '"other"'}, 412),
]


def test_nginx_config_agrees(site, tmp_path):
    """The generated nginx config: the same statuses and a 412 without body. (Its 304 for
    ``If-None-Match`` still says ``Content-Length: 0``: nginx's ``return`` sets it for every
    status below 400, and no core directive removes it; docs/hosting.md.)"""
    test_hosting = pytest.importorskip("test_hosting")
    if test_hosting.NGINX is None:
        pytest.skip("nginx not installed (.ci/run installs Debian's nginx)")
    output, _, tag = site
    with test_hosting.running_nginx(output, tmp_path / "nginx") as (hostport, _, _):
        for headers, status in NGINX_CASES:
            headers = {k: v.format(tag=tag) for k, v in headers.items()}
            got, got_headers, body = test_hosting.fetch(hostport, "GET", IMG, headers)
            assert got == status, (headers, got)
            if status in (304, 412):
                assert body == b""
        got, got_headers, _ = test_hosting.fetch(hostport, "GET", "/Items/nope", {})
        assert got == 404 and got_headers.get("x-content-type-options") == "nosniff"

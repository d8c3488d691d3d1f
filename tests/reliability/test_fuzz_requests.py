"""No request makes serve's app answer 5xx (issue 13 item 7): a Hypothesis fuzz of paths,
query strings and request headers, plus the hostile URLs the issue found.

In-process through Werkzeug's test client (thousands of requests in seconds); header values
are also checked against what a real HTTP server (hyper, under Granian) accepts, since a value
with a control character makes the server itself fail the answer.
"""

import json
import re
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.test import Client

from conftest import copy_media, run_doit
from pipeline.serve.app import App

CATALOG = textwrap.dedent("""\
    settings:
      sizes: [{maxWidth: [64, 128]}]
      formats: [Original, Webp]
      variants:
        - {sizes: [{maxWidth: 64}], percentPlayed: [50], blur: [10]}
      podcast: {base_url: "https://cdn.example.com"}
    items:
      - {id: show, name: Show, type: Series, images: {Primary: media/poster-wood.jpg}}
      - {id: ep1, name: Ep, type: Episode, parent: show, images: {Backdrop: [media/avatar-meadow.jpg]}}
    users:
      - {id: alice, name: alice, images: {Primary: media/avatar-meadow.jpg}}
    podcast_images:
      - {id: 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39, bucket: {type: Series, id: show}, source: media/poster-wood.jpg}
""")
#: What hyper accepts in a header value: visible ASCII, space and tab (obs-text aside).
HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    copy_media(root, "poster-wood.jpg", "avatar-meadow.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    run_doit(root / "catalog.yaml", root / "output", check=True)
    manifest = json.loads((root / "output" / "manifest.json").read_text())
    tag = next(iter(manifest["images"]))
    return Client(App(root / "output")), tag


def _check(response, what):
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.get_data()[:300]!r}"
    for name, value in response.headers.items():
        assert HEADER_VALUE.fullmatch(value), f"{what}: header {name} = {value!r}"


HOSTILE = [
    "/Items/show/Images/Primary?maxWidth=" + "9" * 5000,
    "/Items/show/Images/Primary?quality=" + "1" * 4301,
    "/Items/show/Images/Primary?maxWidth=99999999999999999999",
    "/Items/show/Images/Primary/" + "9" * 5000,
    "/Items/show/Images/Primary?imageIndex=" + "9" * 5000,
    "/UserImage?userId=alice&imageIndex=" + "9" * 5000,
    "/Items/show/Images/Primary/0/" + "0" * 32 + "/Jpg/" + "9" * 5000 + "/0/0/0",
    "/Items/show/Images/Primary/0/x/Jpg/0/0/" + "9" * 400 + "/" + "9" * 5000,
    "/Items/show/Images/Primary?percentPlayed=" + "9" * 5000,
    "/Items/show/Images/Primary?percentPlayed=1e999",
    "/Items/show/Images/Primary?unplayedCount=" + "9" * 5000,
    "/Items/show/Images/Primary?blur=" + "9" * 5000,
    "/Items/show/Images/Primary?blur=%0d%0aX-Injected:%201",
    "/Items/show/Images/Primary?percentPlayed=1%0d%0a",
    "/Items/show/Images/Primary?backgroundColor=%01red",
    "/Items/show/Images/Primary?backgroundColor=red%0aX:%20y",
    "/Items/show/Images/Primary?foregroundLayer=%7f",
    "/Items/show/Images/Primary?foregroundLayer=%c3%a9",
    "/Items/show/Images/Primary?addPlayedIndicator=true%00",
    "/Items/show/Images/Primary?backgroundColor=rgb(99999999999999999999,0,0)",
    "/Items/show/Images/Primary?backgroundColor=rgb(" + "9" * 5000 + ",0,0)",
    "/Items/show/Images/Primary?backgroundColor=hsl(99999999999999999999,0%,0%)",
    "/Items/show/Images/Primary?backgroundColor=hsv(1e308,100%,100%)",
    "/Items/show/Images/Primary?tag=%0d%0a",
    "/Items/show/Images/Primary?format=%00",
    "/images?ids[]=" + "a" * 10000,
    "/images?ids%5B%5D=%0d%0a",
    "/images/%0d%0a",
    "/media_assets?ids[]=0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39&ids[]=" + "f" * 5000,
]


@pytest.mark.parametrize("url", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_urls_found_by_the_issue(client, url):
    response = client[0].get(url)
    _check(response, url[:120])


SEGMENTS = st.sampled_from(["Items", "items", "Users", "Images", "Primary", "Backdrop", "show", "ep1", "alice",
                            "0", "1", "-1", "Jpg", "Webp", "Original", "images", "media_assets", "UserImage",
                            "0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39", "original.jpg", "..", "%2e%2e", "%00"])
NAMES = st.sampled_from(["maxWidth", "maxHeight", "width", "height", "fillWidth", "fillHeight", "quality",
                         "format", "tag", "imageIndex", "percentPlayed", "PercentPlayed", "unplayedCount",
                         "addPlayedIndicator", "blur", "backgroundColor", "foregroundLayer", "userId",
                         "ids[]", "api_key", "cropWhitespace"])
VALUES = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=12),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.sampled_from(["", "9" * 4400, "1e309", "nan", "-0", "+5", "٣", "rgb(999999999999999999999,0,0)",
                     "#ff000000", "true", "%", "\r\n", "\x00", "\x7f", "1_0"]),
)
HEADERS = st.dictionaries(
    st.sampled_from(["Range", "If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since",
                     "If-Range", "Accept", "Authorization", "Host"]),
    st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40),
              st.sampled_from(["bytes=0-0", "bytes=-1", "bytes=5-1", "bytes=0-0,1-1", "bytes=99999999999999999999-",
                               "items=0-1", "*", '"x"', "W/\"x\"", "Thu, 01 Jan 1970 00:00:00 GMT",
                               "Fri, 31 Dec 9999 23:59:59 GMT", "image/avif,image/webp,*/*;q=0.8"])),
    max_size=3)


def _url(segments, pairs):
    from urllib.parse import quote
    query = "&".join(f"{quote(n, safe='[]')}={quote(v, safe='')}" for n, v in pairs)
    return "/" + "/".join(segments) + ("?" + query if query else "")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=11),
       pairs=st.lists(st.tuples(NAMES, VALUES), max_size=6),
       headers=HEADERS, method=st.sampled_from(["GET", "HEAD"]))
def test_no_request_gets_a_5xx(client, segments, pairs, headers, method):
    url = _url(segments, pairs)
    response = client[0].open(url, method=method, headers=headers)
    _check(response, f"{method} {url} {headers}")


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(NAMES, VALUES), max_size=6), headers=HEADERS,
       index=st.sampled_from(["", "/0", "/1"]))
def test_no_image_request_gets_a_5xx(client, pairs, headers, index):
    """The image route itself, where most parameters are read."""
    url = _url(["Items", "show", "Images", "Primary" + index], pairs)
    _check(client[0].get(url, headers=headers), f"{url} {headers}")


def test_hostile_urls_through_the_real_server(client):
    """The same URLs through serve.py (Granian): the HTTP server refuses nothing we send back."""
    import http.client
    from conftest import running_server
    output = client[0].application.output
    with running_server(output) as base:
        host, port = base.removeprefix("http://").split(":")
        for url in HOSTILE:
            conn = http.client.HTTPConnection(host, int(port), timeout=20)
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                assert response.status < 500, (url[:120], response.status)
            finally:
                conn.close()

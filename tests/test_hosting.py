"""pipeline.hosting.nginx: the generated nginx config answers like serve.py.

Unit tests of the integer-range regexes and the tables, then the parity test: one request
corpus (every route, both spellings, the client URLs of api-reference §3, sizes between and
beyond the precomputed ones, conditional and range requests, bad input) is sent to serve.py and
to a real nginx (Debian's package, installed by .ci/run) started on a free 127.0.0.1 port with
the generated config. Status, body bytes and caching headers must match, except for the
documented exceptions of docs/hosting.md, each of which is asserted here as documented.
"""

import http.client
import json
import random
import re
import shutil
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import copy_media, free_port, run_doit, running_process, running_server
from pipeline.hosting.nginx import build_tables, int_range_regex, nginx_main_config, render_nginx_config

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

CATALOG = textwrap.dedent("""\
    items:
      - id: show
        name: Show
        type: Series
        images:
          Primary: media/poster-wood.jpg
          Backdrop: [media/Fossa_by_Jasper_Roks.jpg, media/Aqua.jpg]
          Logo: media/matplotlib-logo.png
      - id: Season1
        name: Season 1
        type: Season
        parent: show
        images: {Primary: media/poster-ladybird.jpg}
      - id: ep1
        name: Episode 1
        type: Episode
        parent: Season1
        images:
          Primary: media/Dune.jpg
          Chapter: [media/GreenMeadow.jpg]
      - id: movie
        name: Movie
        type: Movie
        images:
          Primary: media/box-painting.jpg
          Logo: media/Stripes.png
          Thumb: media/Garden.jpg
    users:
      - id: alice
        name: alice
        images: {Primary: media/avatar-meadow.jpg}
      - id: bob
        name: bob
""")


# ---------------------------------------------------------------------------------------------
# unit tests


@pytest.mark.parametrize("low,high", [(1, 1), (1, 9), (5, 12), (99, 101), (160, 320), (1, 1999),
                                      (228, 228), (7, None), (100, None), (1234, None), (999, 1000)])
def test_int_range_regex_matches_exactly_the_range(low, high):
    rx = re.compile(f"^(?:{int_range_regex(low, high)})$")
    top = (high or low) * 3 + 20
    for n in range(1, top):
        assert bool(rx.match(str(n))) == (low <= n and (high is None or n <= high)), n
    assert not rx.match("0") and not rx.match(f"0{low}")


def test_int_range_regex_random_ranges():
    rng = random.Random(5)
    for _ in range(300):
        low = rng.randint(1, 50000)
        high = rng.choice([None, low + rng.randint(0, 100000)])
        rx = re.compile(f"^(?:{int_range_regex(low, high)})$")
        for n in (low - 1, low, low + 1, high, (high or low) + 1, rng.randint(1, 10 ** 7)):
            if n and n > 0:
                assert bool(rx.match(str(n))) == (low <= n and (high is None or n <= high)), (low, high, n)


def test_int_range_regex_rejects_bad_ranges():
    with pytest.raises(ValueError):
        int_range_regex(0, 5)
    with pytest.raises(ValueError):
        int_range_regex(9, 3)


# ---------------------------------------------------------------------------------------------
# the built site, serve.py and nginx


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("hosting")
    copy_media(root, "poster-wood.jpg", "Fossa_by_Jasper_Roks.jpg", "Aqua.jpg", "matplotlib-logo.png",
               "poster-ladybird.jpg", "Dune.jpg", "GreenMeadow.jpg", "box-painting.jpg", "Stripes.png",
               "avatar-meadow.jpg", "Garden.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    output = root / "output"
    run_doit(root / "catalog.yaml", output, "-n", "2", check=True)
    return root, output


def test_tables_agree_with_select_and_fill_pairs_are_exact(site):
    _, output = site
    tables = build_tables(output)      # raises if a sampled request disagrees with select
    assert all(t.fill_exact for t in tables.images.values())
    show = json.loads((output / "Items/show/index.json").read_text())
    key = tables.slots["Items/show/Primary/0"]
    assert tables.images[show["ImageTags"]["Primary"]].key == key


def test_doit_hosting_task_writes_the_config(site, tmp_path):
    root, output = site
    result = run_doit(root / "catalog.yaml", output, "hosting", check=True)
    conf = output / ".cache" / "hosting" / "nginx.conf"
    assert conf.is_file(), result.stdout
    text = conf.read_text()
    assert "server {" in text and str(output.resolve()) in text
    # a second run with nothing changed is up to date: the file is not rewritten
    before = conf.stat().st_mtime_ns
    run_doit(root / "catalog.yaml", output, "hosting", check=True)
    assert conf.stat().st_mtime_ns == before


def test_format_negotiation_is_refused(site, tmp_path):
    _, output = site
    copy = tmp_path / "out"
    shutil.copytree(output, copy, ignore=shutil.ignore_patterns(".cache"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["negotiate_format"] = True
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="negotiate_format"):
        build_tables(copy)


@contextmanager
def running_nginx(output: Path, workdir: Path):
    """Start Debian's nginx with the generated config on a free 127.0.0.1 port (foreground,
    no master process); yield (base URL, config text, startup seconds); stop it afterwards."""
    port = free_port()
    text = render_nginx_config(build_tables(output), listen=f"127.0.0.1:{port}")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(text)
    (workdir / "nginx.conf").write_text(nginx_main_config(workdir / "site.conf", workdir,
                                                          error_log=str(workdir / "error.log")))
    error_log = workdir / "error.log"
    started = time.monotonic()
    with running_process([NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf")], port, "nginx",
                         log=lambda: error_log.read_text() if error_log.exists() else ""):
        yield f"127.0.0.1:{port}", text, time.monotonic() - started


def fetch(hostport: str, method: str, target: str, headers: dict) -> tuple[int, dict, bytes]:
    """One raw HTTP/1.1 request (the target is sent exactly as given)."""
    host, port = hostport.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# the request corpus


def corpus(output: Path) -> list[tuple[str, str, dict]]:
    """(method, target, headers) for the parity test: a few hundred requests."""
    manifest = json.loads((output / "manifest.json").read_text())
    images, owners = manifest["images"], manifest["owners"]
    rng = random.Random(7)
    cases: list[tuple[str, str, dict]] = []

    def get(target, **headers):
        cases.append(("GET", target, headers))

    stale = "0123456789abcdef0123456789abcdef"
    # objects, both spellings
    for item_id in owners["Items"]:
        for path in (f"/Items/{item_id}", f"/items/{item_id.upper()}", f"/Items/{item_id}/Images",
                     f"/ITEMS/{item_id}/images/"):
            get(path)
    for user_id in owners["Users"]:
        get(f"/Users/{user_id}")
        get(f"/users/{user_id.upper()}")
        get(f"/Users/{user_id}/Items/show")
        get(f"/Users/{user_id}/Items/nope")
    # published GUIDs (issue 9): 32 hex or dashed, any case
    for kind, by_guid in manifest["ids"].items():
        for guid, owner_id in by_guid.items():
            dashed = f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"
            get(f"/{kind}/{guid}")
            get(f"/{kind.lower()}/{dashed.upper()}")
            for image_type, tags in owners[kind][owner_id].items():
                get(f"/{kind}/{dashed}/Images/{image_type}?tag={tags[0]}&maxWidth=300")
                get(f"/{kind.upper()}/{guid.upper()}/images/{image_type.lower()}/0")
    get("/Items/0123456789abcdef0123456789abcdef")
    get("/Items/01234567-89ab-cdef-0123-456789abcdef/Images/Primary")
    # every image slot: base, sizes at, between and beyond the precomputed ones, formats, qualities
    for kind, by_id in owners.items():
        for owner_id, slots in by_id.items():
            for image_type, tags in slots.items():
                for index, tag in enumerate(tags):
                    image = images[tag]
                    base = f"/{kind}/{owner_id}/Images/{image_type}/{index}"
                    lower = base.lower()
                    get(base)
                    get(lower + f"?tag={tag}")
                    get(f"/{kind}/{owner_id}/Images/{image_type}?imageIndex={index}&Tag={tag.upper()}")
                    widths = sorted({d["width"] for d in image["derivatives"]})
                    heights = sorted({d["height"] for d in image["derivatives"]})
                    for _ in range(4):
                        w = rng.choice(widths)
                        h = rng.choice(heights)
                        get(f"{base}?maxWidth={w}&tag={tag}")
                        get(f"{lower}?MaxWidth={w + rng.choice([-1, 1])}&format=jpg&api_key=abc")
                        get(f"{base}?width={w - 1}&quality={rng.choice([0, 50, 80, 85, 93, 96, 100])}")
                        get(f"{base}?height={h + 1}&format={rng.choice(['webp', 'Original', 'png', 'JPEG', 'bogus'])}")
                        get(f"{base}?maxHeight={h}&quality=90&format=Webp")
                        get(f"{base}?fillWidth={w}&fillHeight={h}&quality=96&tag={tag}")
                        get(f"{base}?fillHeight={h - 1}")
                    get(f"{base}?maxWidth={image['width'] * 3}")
                    get(f"{base}?width={image['width'] + rng.randint(1, image['width'])}")
                    get(f"{base}?height={image['height'] + rng.randint(1, image['height'])}&quality=90")
                    get(f"{base}?maxWidth={rng.choice(widths)}&maxHeight={rng.choice(heights)}")
                    get(f"{base}?width={rng.choice(widths)}&height={rng.choice(heights)}")
                    get(f"{base}?fillWidth={rng.choice(widths)}&maxHeight={rng.choice(heights) - 1}")
                    get(f"{base}?width={rng.choice(widths) + 3}&maxWidth={rng.choice(widths)}&quality=96")
                    get(f"{base}?fillWidth={image['width'] + 1}&fillHeight=1")
                    get(f"{base}?format=gif&maxWidth=300")
                    get(f"{base}?format=avif")
                    get(f"{base}?format=bmp&quality=40&width=100")
    # the client URLs of api-reference §3
    show = json.loads((output / "Items/show/index.json").read_text())
    p, bd = show["ImageTags"]["Primary"], show["BackdropImageTags"]
    for w, h in ((228, 342), (456, 684), (300, 450), (160, 240), (500, 500), (185, 278)):
        get(f"/Items/show/Images/Primary?fillHeight={h}&fillWidth={w}&quality=96&tag={p}")
    for i, tag in enumerate(bd):
        for width in (1280, 1920, 2560, 3840, 1366, 750):
            get(f"/Items/show/Images/Backdrop/{i}?tag={tag}&maxWidth={width}&quality=80")
    ep = json.loads((output / "Items/ep1/index.json").read_text())
    get(f"/Items/ep1/Images/Chapter/0?maxWidth=800&tag={ep['Chapters'][0]['ImageTag']}&quality=90")
    get("/Items/ep1/Images/ChapterImage/0?maxWidth=800")
    get("/Items/show/Images/Logo?maxHeight=220")
    get(f"/Items/show/Images/Primary?width=228&height=342&quality=96&tag={p}")
    get("/Items/show/Images/Primary?width=300&height=300")
    get("/Items/show/Images/Primary?width=1000&height=1500&format=webp")
    get("/Items/movie/Images/Logo?height=40")
    alice = json.loads((output / "Users/alice/index.json").read_text())["PrimaryImageTag"]
    get(f"/Users/alice/Images/Primary?width=300&tag={alice}&quality=90")
    get("/UserImage?userId=alice&width=300")
    get("/UserImage?userid=ALICE&imageIndex=0")
    get("/items/show/images/backdrop/1?MaxWidth=700&format=jpg&api_key=abc")
    get(f"/Items/show/Images/Primary/0?Format=original&Tag={p}")
    get(f"/Items/show/Images/Thumb/0?Format=original&Tag={p}")
    # legacy path form: the paths a static host's links would have (none are written by
    # default: nginx computes them as serve.py does) and others
    legacy = sorted(f"/Items/{item_id}/Images/{image_type}/{n}/{tag}/{fmt}/{max_width}/0/0/0"
                    for item_id, slots in owners["Items"].items() for image_type, tags in slots.items()
                    for n, tag in enumerate(tags) for fmt in ("Original", "Jpg", "Webp") for max_width in (0, 320))
    for path in legacy[:40]:
        get(path)
    get(f"/Items/show/Images/Primary/0/{p}/Webp/500/0/0/0")
    get(f"/items/show/images/primary/0/{p.upper()}/jpg/0/300/0/0")
    get(f"/Items/show/Images/Primary/0/{stale}/Jpg/160/0/47/0")
    get(f"/Items/show/Images/Primary/0/{p}/Jpg/160/0/0/3")
    get(f"/Items/show/Images/Primary/0/{p}/Jpg/abc/0/0/0")
    get(f"/Items/show/Images/Primary/0/{p}/Jpg/-5/0/0/0")
    get(f"/Items/show/Images/Primary/0/{p}/Jpg/160/0/zz/0")
    get(f"/Items/show/Images/Primary/0/{p}/Jpg/160/0/0/-2")
    # store route
    some = next(iter(images.values()))["derivatives"][:3]
    for d in some:
        get("/" + d["file"])
    get(f"/images/{p}/nope.jpg")
    get(f"/images/{p}/.hidden")
    get(f"/images/{p.upper()}/original.jpg")
    # conditional and range requests, HEAD, other methods
    img = "/Items/show/Images/Primary?maxWidth=160"
    get(img, **{"If-None-Match": f'"{p}"'})
    get(img, **{"If-None-Match": f'W/"{p}"'})
    get(img, **{"If-None-Match": '"other", "x"'})
    get(img, **{"If-None-Match": f'"other", "{p}"'})
    get(img, **{"If-None-Match": "*"})
    get(img + f"&tag={p}", **{"If-None-Match": f'"{p}"'})
    get(img, **{"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    get(img, **{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    get(img, **{"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT", "If-None-Match": '"other"'})
    get(img, **{"If-Match": '"other"'})
    get(img, Range="bytes=0-1,5-6")
    get(img, Range="bytes=99999999-")
    get(img, Range="bytes=0-99")
    get(img, Range="bytes=100-")
    get(img, Range="bytes=-50")
    get("/Items/show", Range="bytes=0-9")
    cases.append(("HEAD", img, {}))
    cases.append(("HEAD", "/Items/show", {}))
    cases.append(("HEAD", "/Items/nope", {}))
    # decorations
    get("/Items/movie/Images/Primary?maxWidth=320&percentPlayed=47")
    get("/Items/movie/Images/Primary?maxWidth=320&percentPlayed=abc")
    get("/Items/movie/Images/Primary?maxWidth=320&percentPlayed=nan")
    get("/Items/movie/Images/Primary?maxWidth=320&unplayedCount=x1")
    get("/Items/movie/Images/Primary?maxWidth=320&blur=1.5")
    get("/Items/movie/Images/Primary?maxWidth=320&addPlayedIndicator=maybe")
    # bad input
    for target in ("/Items/show/Images/Primary?maxWidth=12.5", "/Items/show/Images/Primary?width=-3",
                   "/Items/show/Images/Primary?height=abc", "/Items/show/Images/Primary?fillWidth=-0",
                   "/Items/show/Images/Primary?maxHeight=0&width=007", "/Items/show/Images/Primary?quality=101",
                   "/Items/show/Images/Primary?quality=-1", "/Items/show/Images/Primary?quality=x",
                   "/Items/show/Images/Primary?quality=0", "/Items/show/Images/Primary?quality=",
                   "/Items/show/Images/Primary?imageIndex=-1", "/Items/show/Images/Primary?imageIndex=z",
                   "/Items/show/Images/Primary?imageIndex=007", "/Items/show/Images/Primary/01",
                   "/Items/show/Images/Primary/-1", "/Items/show/Images/Primary/zz", "/Items/show/Images/Primary/9",
                   "/Items/show/Images/Backdrop/2", "/Items/show/Images/Foo", "/Items/show/Images/Foo/1/2",
                   "/Items/show/Images/Primary/0/1", "/Items/ep1/Images/Logo", "/Items/nope/Images/Primary",
                   "/Items/nope", "/Users/nope", "/Users/alice/Images", "/Users/bob/Images/Primary",
                   "/Items/bad.id", "/Items/bad.id/Images/Primary", "/Items/show/Foo", "/Library/VirtualFolders",
                   "/", "/Items", "/UserImage", "/UserImage?userId=", "/UserImage?userId=a.b",
                   "/UserImage?userId=nobody", "/UserImage?userId=alice&imageIndex=x",
                   "/Items/show/Images/Primary?format=gif", "/Items/..%2F..%2F..%2Fetc%2Fpasswd",
                   "/Items/show/Images/%2e%2e/%2e%2e", "/../../etc/passwd", "/Items/show%00/Images/Primary",
                   "/Items/show/Images/Primary/..%5C..%5C", "/Items/show/./Images/Primary",
                   "/Items/show/Images/../../Users/alice", "//Items//show//Images//Primary",
                   "/Items/show/Images/Primary/", "/Items/show/Images/Primary/0/a/b/c/d/e/f/g/h",
                   "/Items/show/Images/Primary?maxWidth=99999999999999999999999",
                   "/Items/show/Images/Primary?MAXWIDTH=320&maxwidth=640",
                   "/Items/show/Images/O'Brien", "/Items/show/Images/Primary/1x",
                   "/images", "/images/" + p, "/media_assets",
                   "/Items/show/Images/Primary?maxWidth=%33%32%30", "/Items/show/Images/Primary?maxWidth=+320",
                   "/Items/show/Images/Primary?maxWidth=3_20", "/Items/show/Images/Primary?format=%20webp",
                   "/Items/show/Images/%2550rimary", "/Items/show/Images/Primary?max%57idth=320",
                   "/Items/show/Images/Primary?maxWidth&maxWidth=320",
                   f"/Items/show/Images/Primary?tag=%{p[:2]}{p[2:]}", "/Items/show/Images/Primary?height=%C3%A9"):
        get(target)
    cases.append(("POST", "/Items/show/Images/Primary", {}))
    cases.append(("DELETE", "/Items/show", {}))
    cases.append(("POST", "/Items/show/Foo", {}))
    return cases


# ---------------------------------------------------------------------------------------------
# documented exceptions (docs/hosting.md); each returns a reason or None


def _query(target: str) -> str:
    return target.split("?", 1)[1] if "?" in target else ""


def _has(target: str, *names: str) -> bool:
    q = _query(target).lower()
    return any(re.search(rf"(?:^|&){n.lower()}=", q) for n in names)


SIZE_NAMES = ("width", "height", "maxWidth", "maxHeight", "fillWidth", "fillHeight")


def _size_params(target: str) -> set[str]:
    pairs = [kv.split("=", 1) for kv in _query(target).split("&") if "=" in kv]
    return {k.lower() for k, v in pairs if k.lower() in {n.lower() for n in SIZE_NAMES} and v.strip("0-")}


def exception_kind(method: str, target: str, headers: dict) -> str | None:
    """Which documented exception (docs/hosting.md) applies to a request; None: full parity."""
    path = target.split("?", 1)[0]
    if re.match(r"^/(?:images|media_assets)(?:/[^/]*)?/?$", path):
        return "art19"
    if "%" in target or "+" in _query(target):
        return "encoded"
    if re.search(r"(?:^|&)[A-Za-z]+(?:&|$)", _query(target)):
        return "valueless"
    if _has(target, "percentPlayed", "unplayedCount", "blur", "addPlayedIndicator", "backgroundColor",
            "foregroundLayer") or re.search(r"/Images/[^/]+/\d+/[^/]+/[^/]+/\d+/\d+/[^/]+/[^/]+$", path) \
            and not path.endswith("/0/0"):
        return "decorations"
    sizes = _size_params(target)
    if len(sizes) >= 2 and sizes not in ({"fillwidth", "fillheight"}, {"width", "height"}):
        return "size-combination"
    if sizes & {"width", "height"}:
        return "upscale"          # only when the value exceeds the source side (checked below)
    if "If-Match" in headers:
        return "if-match"
    if headers.get("Range", "").startswith("bytes=9999"):
        return "range-past-end"
    if re.match(r"^/items/[^/]+/?(?:images/?)?$|^/users/[^/]+(?:/items/[^/]+)?/?$", path, re.I):
        return "json-etag"
    return None


def compare(kind, method, target, headers, a, b) -> list[str]:
    """Differences between serve.py's answer ``a`` and nginx's ``b`` (status, headers, body)."""
    (sa, ha, ba), (sb, hb, bb) = a, b
    diffs = []
    if sa != sb:
        return [f"status {sa} != {sb}"]
    if ba != bb:
        diffs.append(f"body {ba[:80]!r} != {bb[:80]!r}")
    names = ["content-type", "cache-control", "x-image-size", "x-image-fit", "x-image-not-applied",
             "content-range", "allow"]
    if sa in (200, 206):
        names += ["last-modified", "content-length", "accept-ranges"]
    if kind != "json-etag":
        names.append("etag")
    for name in names:
        if ha.get(name) != hb.get(name):
            diffs.append(f"{name}: {ha.get(name)!r} != {hb.get(name)!r}")
    return diffs


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (.ci/run installs Debian's nginx)")
def test_nginx_parity_with_serve_py(site, tmp_path):
    _, output = site
    cases = corpus(output)
    assert len(cases) >= 300
    results = {"same": 0}
    failures = []
    with running_server(output) as serve_base, running_nginx(output, tmp_path / "nginx") as (ng, text, startup):
        serve_hostport = serve_base.split("//", 1)[1]
        for method, target, headers in cases:
            kind = exception_kind(method, target, headers)
            a = fetch(serve_hostport, method, target, headers)
            b = fetch(ng, method, target, headers)
            diffs = compare(kind, method, target, headers, a, b)
            if not diffs:
                results["same"] += 1
                if kind:
                    results[f"{kind} (same)"] = results.get(f"{kind} (same)", 0) + 1
                continue
            ok = False
            if kind == "art19":
                # ART19 JSON:API routes are not in the nginx config: a 404 "no such resource"
                ok = b[0] == 404 and b[2] == b"no such resource\n"
            elif kind == "encoded":
                # nginx reads query values raw and decodes the path once: it answers as serve.py
                # does when every % (and + in the query) is escaped once more
                path, _, query = target.partition("?")
                raw = path.replace("%", "%25") + ("?" + query.replace("%", "%25").replace("+", "%2B") if query else "")
                c = fetch(serve_hostport, method, raw, headers)
                ok = (b[0], b[2]) == (c[0], c[2]) or a[0] == b[0] >= 400
            elif kind == "valueless":
                # nginx's $arg_name skips a name without "="; serve.py takes it as empty
                c = fetch(serve_hostport, method, re.sub(r"(?<=[?&])[A-Za-z]+&", "", target), headers)
                ok = (b[0], b[2]) == (c[0], c[2])
            elif kind == "decorations":
                # nginx never serves decorated files: it answers as serve.py does for the same
                # request without decorations, and names them in X-Image-Not-Applied
                plain = re.sub(r"&(?:percentPlayed|unplayedCount|blur|addPlayedIndicator)=[^&]*", "", target)
                plain = re.sub(r"/[^/]+/[^/]+$", "/0/0", plain) if "?" not in plain else plain
                c = fetch(serve_hostport, method, plain, headers)
                ok = (a[0] == b[0] == c[0] == 200 and b[2] == c[2] and b[1].get("x-image-not-applied")) \
                    or (a[0] == b[0] and a[0] != 200)
            elif kind == "size-combination":
                # combined per-parameter answers: same status and format, maybe another ladder step
                ok = a[0] == b[0] and a[1].get("content-type") == b[1].get("content-type")
            elif kind == "upscale":
                # width/height above the source side: both serve a full-size file, serve.py's
                # choice between the original and a full-size rendering follows pixel rounding
                wa, ha_ = map(int, a[1]["x-image-size"].split("x"))
                wb, hb_ = map(int, b[1]["x-image-size"].split("x"))
                ok = a[0] == b[0] == 200 and abs(wa - wb) <= 1 and abs(ha_ - hb_) <= 1
            elif kind == "if-match":
                ok = a[0] == b[0] == 412          # error page bodies differ
            elif kind == "range-past-end":
                # same 416, body and Content-Range; nginx also sends the image's caching headers
                ok = (a[0], a[2], a[1].get("content-range")) == (b[0], b[2], b[1].get("content-range"))
            elif kind == "json-etag":
                ok = [d for d in diffs if not d.startswith("etag")] == [] and a[1].get("etag") and b[1].get("etag")
            if not ok:
                failures.append((method, target, headers, kind, diffs))
            results[kind] = results.get(kind, 0) + 1
    print(f"\nparity: {len(cases)} requests, {results}; config {text.count(chr(10))} lines, "
          f"nginx up in {startup:.2f} s")
    assert failures == [], "\n".join(f"{m} {t} {h} [{k}]: {d}" for m, t, h, k, d in failures[:30])

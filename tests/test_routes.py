"""The route table (pipeline/serve/routes.py): handlers, builders, the URL inverse, the matching
rule, and the nginx decision table generated from it (pipeline/hosting/nginx.py)."""

import random
import re

import pytest

from pipeline.art19.jsonapi import JsonApiError
from pipeline.hosting.nginx import NGINX_SEGMENTS, route_decision
from pipeline.serve import request as rq
from pipeline.serve.app import App
from pipeline.serve.request import BadRequest, ImageRequest, NotFound, ObjectRequest
from pipeline.serve.routes import CONVERTERS, ROUTES, MethodNotAllowed, Route, find, match, parse_pattern

TAG = "0123456789abcdef0123456789abcdef"
UUID = "12345678-1234-1234-1234-123456789abc"
SAMPLES = {"id": "abc", "image_type": "Primary", "index": "2", "raw": "0", "uuid": UUID, "tag": TAG,
           "store_name": "x.jpg", "name": "AC DC"}


# --- the table is complete ------------------------------------------------------------------------

def test_every_route_has_a_handler_and_every_handler_a_route():
    marked = {name for name in dir(App) if getattr(getattr(App, name), "route_handler", False)}
    named = {r.handler for r in ROUTES}
    assert named - marked == set(), "routes name handlers App does not have (or does not mark @route_handler)"
    assert marked - named == set(), "App handlers no route names"


def test_every_route_form_has_a_builder_and_every_builder_a_route():
    assert {r.form for r in ROUTES} == set(rq.BUILDERS)


def test_route_names_are_unique_and_converters_known():
    assert len({r.name for r in ROUTES}) == len(ROUTES)
    for r in ROUTES:
        for s in r.segments:
            assert s.converter is None or s.converter in CONVERTERS


def test_every_converter_of_a_static_route_has_an_nginx_form():
    for r in ROUTES:
        if r.static:
            for s in r.segments:
                assert s.converter is None or s.converter in NGINX_SEGMENTS, (r.name, s.converter)
    route_decision()   # raises otherwise


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_url_is_the_inverse_of_match(route):
    values = {s.field: SAMPLES[s.converter] for s in route.segments if s.converter}
    path = route.url(**values)
    query = [("userId", "u1"), ("ids[]", UUID)]
    matched, parsed = match(path, query, route.methods[0])
    assert matched == route and isinstance(parsed, route.request)


def test_patterns_are_checked():
    with pytest.raises(ValueError, match="unknown converter"):
        parse_pattern("/Items/{owner_id:nope$}")
    with pytest.raises(ValueError, match="bad segment"):
        parse_pattern("/Items/{owner_id}")
    assert [s.choices for s in parse_pattern("/Items/{kind:Items|Users}")] == [("Items",), ("Items", "Users")]


# --- the matching rule --------------------------------------------------------------------------

@pytest.mark.parametrize("path, error, message", [
    ("/Items/bad.id/Foo", NotFound, "no such item"),                 # segment by segment
    ("/Items/bad.id/a/b/c/d/e", NotFound, "no such item"),
    ("/Users/bad.id/Foo", NotFound, "no such item"),
    ("/Users/x/Images/Poster/0/a/b/c/d/e/f", NotFound, "unknown image type 'Poster'"),
    ("/Users/x/Images/Primary/abc/1/2/3/4/5/6", BadRequest, "imageIndex must be an integer, got 'abc'"),
    ("/Items/x/Images/Primary/0/a/b", NotFound, "no such resource"),
    ("/images/abc/x", NotFound, "no such resource"),                 # Rails: whole routes only
    ("/images/abc/x/y", NotFound, "no such resource"),
    (f"/images/{TAG}/x/y", NotFound, "no such resource"),
    ("/Images/x", NotFound, "no such resource"),                     # case-sensitive
])
def test_errors_in_jellyfin_order(path, error, message):
    with pytest.raises(error) as info:
        match(path, [])
    assert str(info.value) == message


def test_art19_id_error_only_for_its_own_length():
    with pytest.raises(JsonApiError):
        match(f"/images/{TAG}", [])


def test_a_new_route_is_one_entry():
    # (/emby itself is a prefix split_path strips, issue 9: the example uses another literal)
    extra = Route("extra_object", "/extra/{kind:Items|Users}/{owner_id:id}", ObjectRequest, "object_answer",
                  form="object")
    table = (*ROUTES, extra)
    route, parsed = match("/EXTRA/items/abc", [], routes=table)
    assert route is extra and parsed == ObjectRequest("Items", "abc")
    decision = route_decision(table)
    assert ("extra_object", "object") in decision["forms"]
    assert any(v == "OK extra_object" for _, v in decision["entries"])


def test_method_not_allowed_names_the_route_methods():
    extra = Route("upload", "/Items/{owner_id:id}/Images/{image_type:image_type}/{index:index}/Upload",
                  ImageRequest, "image_answer", form="image5", methods=("POST",), static=False)
    with pytest.raises(MethodNotAllowed) as info:
        match("/Items/a/Images/Primary/0/Upload", [], "GET", routes=(*ROUTES, extra))
    assert info.value.allowed == ["POST"]


# --- the nginx decision table follows the same rule (emulated map by map) -------------------------

class NginxMaps:
    """A small emulation of the generated route maps: exact keys case-insensitive and first,
    then ``~``/``~*`` regexes in order; ``$1`` and variables substituted in values."""

    def __init__(self, decision):
        self.d = decision
        self.maps = {}
        for i, entries in decision["literal_maps"]:
            self.maps[f"h_l{i}"] = (f"h_s{i}", "-", entries)
        for i, entries in decision["exact_maps"]:
            self.maps[f"h_k{i}"] = (f"h_s{i}", "-", entries)
        for var, source, default, entries in decision["segment_maps"]:
            self.maps[var[1:]] = (source[1:], default, entries)
        self.maps["h_decision"] = (None, "404 no such resource", decision["entries"])

    def lookup(self, name, values):
        source, default, entries = self.maps[name]
        text = self.value(source, values) if source else self.key(values)
        for key, value in entries:
            if not key.startswith("~") and key.lower() == text.lower():
                return self.expand(value, values, None)
        for key, value in entries:
            if key.startswith("~"):
                pattern = key[2:] if key.startswith("~*") else key[1:]
                m = re.search(pattern, text, re.I if key.startswith("~*") else 0)
                if m:
                    return self.expand(value, values, m)
        return self.expand(default, values, None)

    def expand(self, value, values, m):
        value = re.sub(r"\$(\d)", lambda g: m.group(int(g.group(1))) or "", value)
        return re.sub(r"\$(h_\w+)", lambda g: self.value(g.group(1), values), value)

    def value(self, name, values):
        if name in values:
            return values[name]
        if name.endswith("_repr"):
            return repr(values[name[:-5]])
        return self.lookup(name, values)

    def key(self, values):
        return re.sub(r"\$(h_\w+)", lambda g: self.value(g.group(1), values), self.d["key"])

    def decide(self, parts):
        n = len(parts)
        values = {"h_dots": "-", "h_n": str(n if n <= self.d["max_n"] else self.d["max_n"] + 1)}
        for i in range(1, self.d["max_n"] + 1):
            values[f"h_s{i}"] = parts[i - 1] if i <= len(parts) else ""
        return self.lookup("h_decision", values)


def python_decision(parts):
    try:
        route, _ = find(parts)
    except (NotFound, BadRequest) as exc:
        return f"{400 if isinstance(exc, BadRequest) else 404} {exc}"
    except JsonApiError:
        return "404 no such resource"      # ART19 JSON:API is not hosted by nginx
    return f"OK {route.name}" if route.static else "404 no such resource"


POOL = ["Items", "items", "USERS", "Users", "UserImage", "images", "Images", "media_assets", "abc", "bad.id",
        "Primary", "backdrop", "ChapterImage", "Poster", "0", "007", "-1", "-0", "x1", "Jpg", "47", TAG, UUID,
        "x.jpg", ".hidden", "O'Brien"]


def test_nginx_decision_agrees_with_match_on_random_paths():
    nginx = NginxMaps(route_decision())
    rng = random.Random(5)
    checked = 0
    for length in range(0, 14):
        for _ in range(400 if length > 1 else 60):
            parts = [rng.choice(POOL) for _ in range(length)]
            if length > 1 and rng.random() < 0.7:    # mostly well-formed prefixes, to reach deep errors
                prefix = rng.choice([["Items", "abc", "Images", "Primary", "0", TAG],
                                     ["Users", "u1", "Items"], ["images", TAG], ["Users", "u1", "Images"]])
                parts = prefix[:rng.randint(1, len(prefix))] + parts[:max(0, length - len(prefix))]
            assert nginx.decide(parts) == python_decision(parts), parts
            checked += 1
    assert checked > 4000


@pytest.mark.parametrize("path", ["/emby/Items/abc", "/EMBY/items/abc", "/mediabrowser/Items/abc",
                                  "/MediaBrowser//Items/abc/"])
def test_emby_and_mediabrowser_prefixes_are_stripped(path):
    """Issue 9: Jellyfin strips a leading /emby or /mediabrowser (Emby's apiclient.js adds it)."""
    route, parsed = match(path, [])
    assert route.name == "object" and parsed == ObjectRequest("Items", "abc")


def test_a_prefix_is_a_whole_segment_and_only_leading():
    with pytest.raises(NotFound):
        match("/embyItems/abc", [])
    with pytest.raises(NotFound):
        match("/emby/emby/Items/abc", [])


@pytest.mark.parametrize("path, kind, name, image_type, index", [
    ("/Artists/Sigur Rós/Images/Primary/0", "Artists", "Sigur Rós", "Primary", 0),
    ("/artists/AC/DC/images/backdrop/1", "Artists", "AC/DC", "Backdrop", 1),
    ("/emby/Genres/Science Fiction & Fantasy/Images/Primary", "Genres", "Science Fiction & Fantasy", "Primary", 0),
    ("/MusicGenres/a/b/c/Images/Thumb", "MusicGenres", "a/b/c", "Thumb", 0),
    ("/Persons/Jasper Roks/Images/Primary", "Persons", "Jasper Roks", "Primary", 0),
    ("/studios/100% Pure/Images/Logo", "Studios", "100% Pure", "Logo", 0),
])
def test_named_item_routes_keep_the_name_whole(path, kind, name, image_type, index):
    route, parsed = match(path, [("maxWidth", "300")])
    assert route.name in ("named4", "named5")
    assert (parsed.kind, parsed.owner_id, parsed.image_type, parsed.index) == (kind, name, image_type, index)
    assert parsed.size.maxWidth == 300

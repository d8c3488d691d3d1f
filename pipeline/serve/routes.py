"""The URL route table: every route serve.py answers, declared once.

Each ``Route`` names its path pattern (typed segments), the HTTP methods, the request type it
parses into, the ``App`` method that answers it (``handler``), the request *form* (which
builder of ``request.BUILDERS`` turns the matched segments and the query into the request) and
whether static hosting (the generated nginx config) answers it. From this one table are derived:

- ``parse``/``match``: URL → (route, typed request), used by ``request.parse`` and ``App``;
- the server's dispatch: ``App`` calls ``getattr(app, route.handler)``;
- the nginx route decision table (``pipeline.hosting.nginx.route_decision``).

Like thumbor's ``url.py``, the grammar and its inverse live together: ``Route.url`` builds the
path a route matches. Adding a route is one ``ROUTES`` entry plus its handler (and, for a new
request form, its builder; tests/test_routes.py checks that both exist).

Pattern syntax: ``/``-separated segments; a plain segment is a literal; ``{field:Name|Other}``
is a choice of literals whose canonical spelling is the field's value; ``{field:converter}``
is a typed segment read by ``CONVERTERS[converter]`` (raises ``NotFound``/``BadRequest``/
``JsonApiError`` for a value it rejects).

Matching (the order of errors is Jellyfin's, as serve.py always answered; the nginx decision
table is generated to follow it, see ``hosting/nginx.py``):

1. The routes with as many segments as the path whose literals all match (case-insensitively,
   except ``case_sensitive`` routes: ART19's Rails routes) are tried in table order: the first
   whose typed segments all convert wins; if none converts, the first one's first error is
   raised. A route matching only by another method → ``MethodNotAllowed``.
2. Otherwise the path is walked left to right over the case-insensitive routes whose earlier
   segments matched (whatever their length): the first typed segment (leftmost, then table
   order) that rejects its value raises its error (Jellyfin binds segment by segment:
   ``/Items/bad.id/Foo`` is "no such item", ``/Items/x/Images/Poster/1/2`` is "unknown image
   type"); without one, 404 "no such resource".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pipeline.art19.jsonapi import JsonApiError
from pipeline.serve import request as rq
from pipeline.serve.request import (Art19Request, BadRequest, ImageRequest, NotFound, ObjectRequest,
                                    OpsRequest, StoreRequest, WriteRequest,
                                    parse_query)

#: Converters of typed segments: name → function (segment text → field value, or raises).
CONVERTERS: dict[str, Callable[[str], object]] = {
    "id": rq.owner_id,              # A-Z a-z 0-9 _ - else 404 "no such item"
    "image_type": rq.image_type,    # ImageType in any case (ChapterImage = Chapter) else 404
    "index": rq.image_index,        # non-negative integer else 400 naming imageIndex
    "raw": str,                     # any text, checked by the request builder (legacy form)
    "name": str,                    # a named item's name, any text (matched by serve.index)
    "uuid": rq.art19_id,            # canonical UUID else JSON:API 400
    "tag": rq.store_tag,            # 32 lowercase hex digits else 404
    "store_name": rq.store_name,    # a file name of the content store else 404
}

ROUTE_ERRORS = (NotFound, BadRequest, JsonApiError)


class MethodNotAllowed(Exception):
    """The path matches routes, none for this method; ``allowed`` lists their methods."""

    def __init__(self, allowed: list[str]):
        self.allowed = allowed
        super().__init__(f"method not allowed; allowed: {', '.join(allowed)}")


@dataclass(frozen=True)
class Segment:
    """One segment of a pattern: ``choices`` (literal spellings, canonical first) or a typed
    ``converter``; ``field``: the request field it fills (None for a plain literal)."""

    field: str | None
    choices: tuple[str, ...] = ()
    converter: str | None = None

    def accepts_literal(self, text: str, case_sensitive: bool) -> str | None:
        """The canonical spelling ``text`` matches, or None."""
        for choice in self.choices:
            if text == choice or (not case_sensitive and text.lower() == choice.lower()):
                return choice
        return None


def parse_pattern(pattern: str) -> tuple[Segment, ...]:
    """``"/Items/{owner_id:id}/Images"`` → its segments. Raises ValueError for a malformed
    pattern or an unknown converter."""
    segments = []
    for text in pattern.strip("/").split("/") if pattern.strip("/") else []:
        if text.startswith("{") and text.endswith("}"):
            name, _, spec = text[1:-1].partition(":")
            if not name.isidentifier() or not spec:
                raise ValueError(f"{pattern}: bad segment {text!r} (expected {{field:converter}})")
            if spec in CONVERTERS:
                segments.append(Segment(name, converter=spec))
            elif all(c.isidentifier() for c in spec.split("|")):
                segments.append(Segment(name, choices=tuple(spec.split("|"))))
            else:
                raise ValueError(f"{pattern}: unknown converter {spec!r} (known: {', '.join(CONVERTERS)})")
        elif not text or "{" in text or "}" in text:
            raise ValueError(f"{pattern}: bad segment {text!r}")
        else:
            segments.append(Segment(None, choices=(text,)))
    return tuple(segments)


@dataclass(frozen=True)
class Route:
    """One URL route (see the module docstring).

    ``name``: unique, used by the nginx decision table; ``pattern``: see ``parse_pattern``;
    ``request``: the type ``parse`` returns; ``handler``: the ``App`` method answering it,
    called as ``handler(http_request, index, parsed_request)``; ``form``: the key of its builder
    in ``request.BUILDERS`` (default: ``name``), also the route family the nginx template
    knows (a new route of an existing form needs no template change); ``methods``: HTTP
    methods; ``static``: the generated nginx config answers it (else nginx answers 404 "no such
    resource"); ``case_sensitive``: literals match exactly (ART19's Rails routes), and the
    route takes part in matching step 1 only.
    """

    name: str
    pattern: str
    request: type
    handler: str
    form: str = ""
    methods: tuple[str, ...] = ("GET", "HEAD")
    static: bool = True
    case_sensitive: bool = False
    segments: tuple[Segment, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "segments", parse_pattern(self.pattern))
        if not self.form:
            object.__setattr__(self, "form", self.name)

    @property
    def fields(self) -> list[str]:
        return [s.field for s in self.segments if s.field]

    def url(self, **values) -> str:
        """The path this route matches for these field values (the inverse of ``parse``);
        a choice field defaults to its canonical spelling. Raises KeyError for a missing field."""
        parts = []
        for s in self.segments:
            if s.field is None:
                parts.append(s.choices[0])
            elif s.choices:
                parts.append(str(values.get(s.field, s.choices[0])))
            else:
                parts.append(str(values[s.field]))
        return "/" + "/".join(parts)

    def literals_match(self, parts: list[str], upto: int) -> dict | None:
        """Canonical values of the choice fields when the first ``upto`` segments' literals
        match, else None."""
        values = {}
        for s, text in zip(self.segments[:upto], parts[:upto]):
            if s.converter is None:
                choice = s.accepts_literal(text, self.case_sensitive)
                if choice is None:
                    return None
                if s.field:
                    values[s.field] = choice
        return values

    def convert(self, parts: list[str]) -> dict:
        """Field values of a path of this route's shape; raises the first converter's error."""
        values = self.literals_match(parts, len(parts))
        for s, text in zip(self.segments, parts):
            if s.converter is not None:
                values[s.field] = CONVERTERS[s.converter](text)
        return values


#: Every route, in matching order. Adding a route: one entry here + its ``App`` handler.
ROUTES: tuple[Route, ...] = (
    # ART19 Content API (api-reference §5) and its content store; Rails: lowercase, exact
    Route("store", "/images/{tag:tag}/{name:store_name}", StoreRequest, "store_answer", case_sensitive=True),
    Route("art19_list", "/{collection:images|media_assets}", Art19Request, "art19_response",
          static=False, case_sensitive=True),
    Route("art19_single", "/{collection:images|media_assets}/{resource_id:uuid}", Art19Request,
          "art19_response", static=False, case_sensitive=True),
    # Jellyfin image and object routes (api-reference §1, §2)
    Route("userimage", "/UserImage", ImageRequest, "image_answer"),
    Route("object", "/{kind:Items|Users}/{owner_id:id}", ObjectRequest, "object_answer"),
    Route("infos", "/{kind:Items}/{owner_id:id}/Images", ObjectRequest, "object_answer"),
    Route("useritem", "/{kind:Users}/{owner_id:id}/Items/{item_id:id}", ObjectRequest, "object_answer"),
    Route("image4", "/{kind:Items|Users}/{owner_id:id}/Images/{image_type:image_type}", ImageRequest,
          "image_answer"),
    Route("image5", "/{kind:Items|Users}/{owner_id:id}/Images/{image_type:image_type}/{index:index}",
          ImageRequest, "image_answer"),
    # named-item images (seed 002; Jellyfin's ImageController): the item of that type and name.
    # nginx answers them after rewriting a known name to its /Items/{id} path (hosting/nginx.py).
    Route("named4", "/{kind:Artists|Genres|MusicGenres|Persons|Studios}/{owner_id:name}/Images"
          "/{image_type:image_type}", ImageRequest, "image_answer", form="image4", static=False),
    Route("named5", "/{kind:Artists|Genres|MusicGenres|Persons|Studios}/{owner_id:name}/Images"
          "/{image_type:image_type}/{index:index}", ImageRequest, "image_answer", form="image5", static=False),
    Route("legacy", "/{kind:Items}/{owner_id:id}/Images/{image_type:image_type}/{index:index}/{tag:raw}"
          "/{format:raw}/{max_width:raw}/{max_height:raw}/{percent_played:raw}/{unplayed_count:raw}",
          ImageRequest, "image_answer"),
    # The write half (seed 002; serve.py --catalog --auth, else 405/404) and remote images
    *(Route(name, pattern, WriteRequest, "write_answer", form=form, methods=methods, static=False)
      for name, pattern, form, methods in (
          ("write_image4", "/{kind:Items}/{owner_id:id}/Images/{image_type:image_type}", "write_image",
           ("POST", "DELETE")),
          ("write_image5", "/{kind:Items}/{owner_id:id}/Images/{image_type:image_type}/{index:index}",
           "write_image", ("POST", "DELETE")),
          ("write_index", "/{kind:Items}/{owner_id:id}/Images/{image_type:image_type}/{index:index}/Index",
           "write_index", ("POST",)),
          ("write_userimage", "/UserImage", "write_user", ("POST", "DELETE")),
          ("write_user4", "/{kind:Users}/{owner_id:id}/Images/{image_type:image_type}", "write_user",
           ("POST", "DELETE")),
          ("write_user5", "/{kind:Users}/{owner_id:id}/Images/{image_type:image_type}/{index:index}",
           "write_user", ("POST", "DELETE")),
          ("remote_images", "/{kind:Items}/{owner_id:id}/RemoteImages", "write_remote_images", ("GET", "HEAD")),
          ("remote_providers", "/{kind:Items}/{owner_id:id}/RemoteImages/Providers", "write_remote_providers",
           ("GET", "HEAD")),
          ("remote_download", "/{kind:Items}/{owner_id:id}/RemoteImages/Download", "write_remote_download",
           ("POST",)),
      )),
    # serve.py's operations (pipeline.serve.ops): not static, so nginx answers them 404
    Route("health", "/health", OpsRequest, "health", static=False),
    Route("metrics", "/metrics", OpsRequest, "metrics", static=False),
)

#: Every method some route answers (others: 405 before routing).
METHODS: tuple[str, ...] = tuple(dict.fromkeys(m for r in ROUTES for m in r.methods))


#: Leading segments Jellyfin strips before routing (LegacyEmbyRouteRewriteMiddleware, until
#: 10.11): Emby's apiclient.js prefixes every URL with ``/emby``. Matched as a whole segment.
PREFIXES = ("emby", "mediabrowser")

#: First segments of the named-item routes, lower-cased.
NAMED = ("artists", "genres", "musicgenres", "persons", "studios")


def split_path(path: str) -> list[str]:
    """The non-empty segments of a decoded path, without a leading ``/emby`` or
    ``/mediabrowser`` (``PREFIXES``); raises ``NotFound`` for a traversal segment (``.``,
    ``..``), a backslash or NUL. A named-item path keeps its name as one segment even when
    the name held an encoded ``/`` (``/Artists/AC%2FDC/Images/Primary``: the name runs to the
    last ``Images`` followed by one or two segments)."""
    parts = [p for p in path.split("/") if p != ""]   # the WSGI path is decoded already: once only
    if any("\\" in p or "\0" in p or p in (".", "..") for p in parts):
        raise NotFound("no such resource")
    if parts and parts[0].lower() in PREFIXES:
        parts = parts[1:]
    if len(parts) > 4 and parts[0].lower() in NAMED:
        for k in (len(parts) - 2, len(parts) - 3):
            if k > 1 and parts[k].lower() == "images":
                return [parts[0], "/".join(parts[1:k]), *parts[k:]]
    return parts


def match(path: str, pairs: list[tuple[str, str]], method: str = "GET",
          routes: tuple[Route, ...] = ROUTES) -> tuple[Route, object]:
    """(route, parsed request) for a decoded URL path, its query pairs and the HTTP method.

    Raises ``NotFound``/``BadRequest``/``JsonApiError`` (see the module's matching rule; the
    route's builder may raise them too, for the query) or ``MethodNotAllowed``. Never touches
    the file system.
    """
    route, values = find(split_path(path), method, routes)
    return route, rq.BUILDERS[route.form](values, parse_query(pairs), pairs)


def find(parts: list[str], method: str = "GET", routes: tuple[Route, ...] = ROUTES) -> tuple[Route, dict]:
    """(route, field values) for the path segments: the routing part of ``match``."""
    n = len(parts)
    first_error, allowed = None, []
    for route in routes:
        if len(route.segments) != n or route.literals_match(parts, n) is None:
            continue
        try:
            values = route.convert(parts)
        except ROUTE_ERRORS as exc:
            first_error = first_error or exc
            continue
        if method not in route.methods:
            allowed += [m for m in route.methods if m not in allowed]
            continue
        return route, values
    if allowed:
        raise MethodNotAllowed(allowed)
    if first_error is not None:
        raise first_error
    alive = [r for r in routes if not r.case_sensitive]
    for i, text in enumerate(parts):
        still = []
        for route in alive:
            if i >= len(route.segments):
                continue
            s = route.segments[i]
            if s.converter is None:
                if s.accepts_literal(text, False) is not None:
                    still.append(route)
            else:
                CONVERTERS[s.converter](text)      # raises its error
                still.append(route)
        alive = still
    raise NotFound("no such resource")


def parse(path: str, pairs: list[tuple[str, str]], method: str = "GET"):
    """The parsed request only (see ``match``)."""
    return match(path, pairs, method)[1]


def by_name(name: str) -> Route:
    """The route called ``name``; KeyError if none."""
    for route in ROUTES:
        if route.name == name:
            return route
    raise KeyError(name)

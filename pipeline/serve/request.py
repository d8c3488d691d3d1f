"""Typed requests and their parsing, as Jellyfin's router would: the segment converters and the
request builders the route table (``pipeline.serve.routes``) names, and ``parse``.

Source: api-reference §1. Path segments and query names are case-insensitive; unknown query
parameters (``api_key``, ``UserId``, ``DeviceId`` …) are ignored; ``ChapterImage`` is
``Chapter``; a ``format`` that cannot be parsed is ignored (Jellyfin does not answer 400);
a size, quality or index that is not a non-negative integer is a 400.
"""

from dataclasses import dataclass, field

from pipeline.model import layout
from pipeline.art19.jsonapi import JsonApiError, canonical_uuid, parse_ids
from pipeline.model.formats import parse_format
from pipeline.model.imagetypes import parse_image_type
from pipeline.model.decoration import (DECORATION_PARAMETERS, Decoration, parse_integer, parse_number,
                                       parse_query_decorations)
from pipeline.model.sizing import SizeRequest

ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class BadRequest(ValueError):
    """A malformed request (HTTP 400); the message names the parameter."""


class NotFound(LookupError):
    """No such route, item or image (HTTP 404); the message says which."""


#: Decoration parameters of api-reference §1 (they change pixels), from the registry
#: ``decoration.DECORATION_PARAMETERS``.
DECORATIONS = tuple(p.name for p in DECORATION_PARAMETERS)


@dataclass(frozen=True)
class ImageRequest:
    """``GET /{Items|Users}/{id}/Images/{type}[/{index}]`` and the legacy form, parsed.

    ``kind``: ``"Items"`` or ``"Users"``; ``size``: the size parameters; ``format``: API name or
    None (``Original`` kept as such); ``quality``: 0–100 or None; ``tag``: as sent or None;
    ``decorations``: the decoration parameters that were set (name → value as sent), and
    ``decoration``: the same, parsed and canonical.
    """

    kind: str
    owner_id: str
    image_type: str
    index: int
    size: SizeRequest = SizeRequest()
    format: str | None = None
    quality: int | None = None
    tag: str | None = None
    decorations: dict = field(default_factory=dict)
    decoration: Decoration = Decoration()


@dataclass(frozen=True)
class ObjectRequest:
    """``GET /Items/{id}``, ``/Items/{id}/Images`` (``images=True``), ``/Users/{id}`` or
    ``/Users/{id}/Items/{item_id}``."""

    kind: str
    owner_id: str
    images: bool = False
    item_id: str | None = None


@dataclass(frozen=True)
class Art19Request:
    """ART19 Content API (api-reference §5): ``GET /images``, ``/images/{id}``,
    ``/media_assets``, ``/media_assets/{id}``. ``collection`` is ``images`` or
    ``media_assets``; ``resource_id`` is set on the single routes, ``ids`` on the list routes."""

    collection: str
    resource_id: str | None = None
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteRequest:
    """A write or remote-image route (seed 002; ``pipeline.serve.writes`` answers it).

    ``action``: ``image`` (POST/DELETE an item image), ``index`` (swap, ``?newIndex=``),
    ``user`` (POST/DELETE a user image), ``remote_images``, ``remote_providers``,
    ``remote_download``; ``kind``: ``Items``/``Users``; ``owner_id``: from the path (None for
    ``/UserImage``: ``?userId=`` or the caller); ``image_type``/``index``: from the path, or
    None; ``query``: lowercased parameter names → first value."""

    action: str
    kind: str
    owner_id: str | None
    image_type: str | None = None
    index: int | None = None
    query: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StoreRequest:
    """A file of the content store, ``/images/{tag}/{name}`` (the ``cdn_url`` of a media
    asset, or any derivative): ``file`` is its path under the output folder."""

    file: str


TAG_CHARS = frozenset("0123456789abcdef")


# --- typed segments (routes.CONVERTERS) ----------------------------------------------------------

def owner_id(text: str) -> str:
    """An item or user id segment as sent; ``NotFound`` unless it is ``ID_CHARS`` only."""
    if not text or not set(text) <= ID_CHARS:
        raise NotFound("no such item")
    return text


def image_type(text: str) -> str:
    """An ImageType segment in any case → its API name; ``NotFound`` for an unknown one."""
    parsed = parse_image_type(text)
    if parsed is None:
        raise NotFound(f"unknown image type {text!r}")
    return parsed


def image_index(text: str) -> int:
    """The index segment; ``BadRequest`` naming imageIndex unless a non-negative integer."""
    return _segment_int(text, "imageIndex")


def art19_id(text: str) -> str:
    """An ART19 resource id segment → canonical UUID; JSON:API 400 otherwise."""
    resource_id = canonical_uuid(text)
    if resource_id is None:
        raise JsonApiError(400, "Invalid id", f"{text!r} is not a UUID")
    return resource_id


def store_tag(text: str) -> str:
    """The tag segment of a content-store file (32 lowercase hex digits); else ``NotFound``."""
    if len(text) != 32 or not set(text) <= TAG_CHARS:
        raise NotFound("no such resource")
    return text


def store_name(text: str) -> str:
    """The file name segment of a content-store file; else ``NotFound``."""
    if not text or not set(text) <= ID_CHARS | {"."} or text.startswith("."):
        raise NotFound("no such resource")
    return text


# --- request builders by route form (routes.Route.form) -----------------------------------------
# Each: (segment field values, parse_query(pairs), pairs) → the typed request.

def _build_userimage(fields: dict, query: dict, pairs: list) -> ImageRequest:
    user_id = query.get("userid")
    if not user_id:
        raise BadRequest("userId is required")
    index = _int(query, "imageIndex") or 0
    return _image_request("Users", owner_id(user_id), "Primary", index, query)


def _build_image(fields: dict, query: dict, pairs: list) -> ImageRequest:
    index = fields["index"] if "index" in fields else _int(query, "imageIndex") or 0
    return _image_request(fields["kind"], fields["owner_id"], fields["image_type"], index, query)


def _build_legacy(fields: dict, query: dict, pairs: list) -> ImageRequest:
    legacy = [fields[k] for k in ("tag", "format", "max_width", "max_height", "percent_played", "unplayed_count")]
    return _image_request(fields["kind"], fields["owner_id"], fields["image_type"], fields["index"], query, legacy)


def _build_object(fields: dict, query: dict, pairs: list) -> ObjectRequest:
    return ObjectRequest(fields["kind"], fields["owner_id"])


def _build_infos(fields: dict, query: dict, pairs: list) -> ObjectRequest:
    return ObjectRequest(fields["kind"], fields["owner_id"], images=True)


def _build_useritem(fields: dict, query: dict, pairs: list) -> ObjectRequest:
    return ObjectRequest(fields["kind"], fields["owner_id"], item_id=fields["item_id"])


def _build_art19_list(fields: dict, query: dict, pairs: list) -> Art19Request:
    return Art19Request(fields["collection"], ids=tuple(parse_ids(pairs)))


def _build_art19_single(fields: dict, query: dict, pairs: list) -> Art19Request:
    return Art19Request(fields["collection"], resource_id=fields["resource_id"])


@dataclass(frozen=True)
class OpsRequest:
    """serve.py's own routes (``pipeline.serve.ops``): ``GET /health``, ``GET /metrics``;
    ``name`` is the route's name."""

    name: str


def _build_store(fields: dict, query: dict, pairs: list) -> StoreRequest:
    return StoreRequest(layout.store_file(fields["tag"], fields["name"]))


def _write_builder(action: str):
    def build(fields: dict, query: dict, pairs: list) -> WriteRequest:
        return WriteRequest(action, fields.get("kind", "Users"), fields.get("owner_id"), fields.get("image_type"),
                            fields.get("index"), query)
    return build


#: Request builders by form name (the forms the nginx template knows by the same names).
BUILDERS = {
    "userimage": _build_userimage, "image4": _build_image, "image5": _build_image,
    "legacy": _build_legacy, "object": _build_object, "infos": _build_infos,
    "useritem": _build_useritem, "art19_list": _build_art19_list,
    "art19_single": _build_art19_single, "store": _build_store,
    **{f"write_{action}": _write_builder(action)
       for action in ("image", "index", "user", "remote_images", "remote_providers", "remote_download")},
    "health": lambda fields, query, pairs: OpsRequest("health"),
    "metrics": lambda fields, query, pairs: OpsRequest("metrics"),
}


def _int(query: dict, name: str, low: int = 0, high: int | None = None) -> int | None:
    raw = query.get(name.lower())
    if raw is None or raw == "":
        return None
    value = _whole(raw, name)
    if value < low or (high is not None and value > high):
        bounds = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise BadRequest(f"{name} must be {bounds}, got {value}")
    return value


def _segment_int(text: str, name: str) -> int:
    value = _whole(text, name)
    if value < 0:
        raise BadRequest(f"{name} must be ≥ 0, got {value}")
    return value


def parse_query(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Query pairs → {lowercased name: first value}; names are case-insensitive."""
    query: dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name.lower(), value)
    return query


def _image_request(kind, owner_id, image_type, index, query, legacy=None) -> ImageRequest:
    size = SizeRequest(**{name: _int(query, name) for name in
                          ("width", "height", "maxWidth", "maxHeight", "fillWidth", "fillHeight")})
    fmt_text = query.get("format")
    fmt = parse_format(fmt_text) if fmt_text else None
    quality = _int(query, "quality", 0, 100)
    tag = query.get("tag") or None
    decorations = _decoration_values(query)
    if legacy:
        tag, fmt_text, max_w, max_h, pp, uc = legacy
        fmt = parse_format(fmt_text)
        size = SizeRequest(maxWidth=_segment_int(max_w, "maxWidth"), maxHeight=_segment_int(max_h, "maxHeight"))
        decorations = {}
        if _number(pp, "percentPlayed") > 0:
            decorations["percentPlayed"] = pp
        if _segment_int(uc, "unplayedCount") > 0:
            decorations["unplayedCount"] = uc
    return ImageRequest(kind, owner_id, image_type, index, size, fmt, quality, tag, decorations,
                        _decoration(decorations))


def _decoration_values(query: dict[str, str]) -> dict[str, str]:
    """The decoration parameters that were set (non-empty), by registry name, as sent; a
    parameter is read from its name or else its aliases (case-insensitively, as every name)."""
    out = {}
    for p in DECORATION_PARAMETERS:
        value = next((query[s.lower()] for s in (p.name, *p.aliases) if query.get(s.lower())), None)
        if value is not None:
            out[p.name] = value
    return out


def _decoration(raw: dict[str, str]) -> Decoration:
    """Parse the decoration parameters (``decoration.parse_query_decorations``); raises
    ``BadRequest`` naming a malformed one."""
    try:
        return parse_query_decorations(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _whole(text: str, name: str) -> int:
    try:
        return parse_integer(text, name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _number(text: str, name: str) -> float:
    try:
        return parse_number(text, name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def parse(path: str, pairs: list[tuple[str, str]], method: str = "GET") -> ImageRequest | ObjectRequest | Art19Request | StoreRequest:
    """Parse a URL path (already percent-decoded, as WSGI gives it) and its query pairs by the
    route table (``pipeline.serve.routes``).

    Raises ``NotFound`` for an unknown route, id or image type, ``BadRequest`` for a malformed
    number, ``JsonApiError`` for a malformed ART19 request. Never touches the file system.
    """
    from pipeline.serve.routes import parse as parse_route   # routes imports this module
    return parse_route(path, pairs, method)

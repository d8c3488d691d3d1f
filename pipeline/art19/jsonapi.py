"""ART19 Content API pieces, pure (no HTTP): ids[] parsing, errors, resources, auth (api-reference §5).

The Content API speaks JSON:API (``application/vnd.api+json``). Shapes follow api-reference §5 and
ART19's published OpenAPI document (``art19.com/swagger_json/external/content.json``):

- ``GET /images?ids[]=…`` and ``GET /media_assets?ids[]=…``: ``ids[]`` is required, an array of
  UUIDs, ``uniqueItems``; pagination must not be combined with it; a malformed query is a 400
  with a JSON:API ``errors[]`` body.
- Authentication: ``Authorization: Token token="…", credential="…"``. 401 "A valid credential was
  not supplied, but one is required"; 403 "The provided credential is not authorized to access
  the requested resource or collection".
"""

import hmac
import re
from datetime import datetime, timezone
from typing import Callable, Collection, Iterable, Literal, Mapping

from pipeline.art19.crop import STYLES, CropData

CONTENT_TYPE = "application/vnd.api+json"
#: ART19 ``bucket_type`` values: the kinds of entity that own an image.
#: ART19's image bucket types, plus Season and Episode (seed 003: artwork "attached to some
#: entity like a series, season, or episode").
BUCKET_TYPES = ("AdRepAccount", "Agency", "Network", "Series", "Season", "Episode", "User")
IMAGE_STATUSES = ("uploaded", "processing", "valid", "invalid")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE)


class JsonApiError(Exception):
    """An error answered as a JSON:API error document.

    ``status``: HTTP status (int); ``title``: short summary, the same for every occurrence;
    ``detail``: this occurrence; ``parameter``: the query parameter at fault, or None.
    """

    def __init__(self, status: int, title: str, detail: str, parameter: str | None = None):
        super().__init__(f"{status} {title}: {detail}")
        self.status, self.title, self.detail, self.parameter = status, title, detail, parameter

    def to_document(self) -> dict:
        """``{"errors": [{"status": "400", "title", "detail", "source": {"parameter"}}]}``.

        ``status`` is a string, as JSON:API requires; ``source`` is left out when there is no
        parameter. Source: api-reference §5, JSON:API "Error Objects".
        """
        error = {"status": str(self.status), "title": self.title, "detail": self.detail}
        if self.parameter is not None:
            error["source"] = {"parameter": self.parameter}
        return {"errors": [error]}


def canonical_uuid(value: str) -> str | None:
    """``value`` as a canonical lower-case UUID (8-4-4-4-12 hex digits), or None if it is not one.

    Hex digits of either case are accepted (RFC 4122 input is case-insensitive); braces, URNs and
    un-hyphenated forms are not (OpenAPI ``format: uuid``). Source: ART19 OpenAPI.
    """
    return value.lower() if _UUID.match(value) else None


def parse_ids(
    query_pairs: Iterable[tuple[str, str]],
    param: str = "ids[]",
    canonical: Callable[[str], str | None] = canonical_uuid,
) -> list[str]:
    """The ids of an ``?ids[]=…&ids[]=…`` filter, canonical, duplicates removed, in request order.

    ``query_pairs``: the URL-decoded (name, value) pairs of the query string, so ``ids%5B%5D``
    arrives as ``ids[]``. ``canonical`` turns a raw value into the stored form of an id, or None
    when the value is malformed (default: ``canonical_uuid``). A repeated id is kept once: the
    OpenAPI says ``uniqueItems``, but a repeat cannot change the answer, so it is not an error.

    Raises ``JsonApiError`` 400 naming the parameter when ``param`` is absent, when a value is
    empty or malformed (a comma-separated list is malformed: repeat the parameter), or when
    ``page[…]`` pagination is combined with it ("Pagination MUST NOT be specified if requesting a
    list of IDs"). Source: api-reference §5, ART19 OpenAPI.
    """
    pairs = list(query_pairs)
    for name, _ in pairs:
        if name.startswith("page["):
            detail = f"pagination must not be combined with {param}"
            raise JsonApiError(400, "Invalid parameter", detail, name)
    ids: dict[str, None] = {}
    for name, value in pairs:
        if name != param:
            continue
        if not value:
            raise JsonApiError(400, "Invalid parameter", f"{param} must not be empty", param)
        ident = canonical(value)
        if ident is None:
            shown = value if len(value) <= 64 else value[:64] + "…"
            raise JsonApiError(400, "Invalid parameter", f"{shown!r} is not a valid ID", param)
        ids[ident] = None
    if not ids:
        detail = f"{param} is required: repeat it once per ID (brackets percent-encoded)"
        raise JsonApiError(400, "Missing parameter", detail, param)
    return list(ids)


def _timestamp(value: str | datetime | None) -> str | None:
    """An ISO 8601 string as given, an aware datetime as UTC with milliseconds
    (``…T12:00:00.000Z``), or None (JSON null: the catalog did not say)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def image_resource(
    image_id: str,
    *,
    crop_data: CropData | Mapping | None,
    created_at: str | datetime,
    updated_at: str | datetime,
    bucket_type: str,
    bucket_id: str,
    media_asset_ids: Iterable[str],
    status: str = "valid",
) -> dict:
    """An ART19 image resource object (``type: "images"``).

    ``crop_data``: a ``CropData``, a mapping {left, top, width, height} in pixels (checked by
    ``CropData.from_mapping``), or None when the image has no crop. Timestamps: ISO 8601 strings
    (passed through) or aware datetimes. ``bucket_type`` ∈ ``BUCKET_TYPES``, ``status`` ∈
    ``IMAGE_STATUSES``, else ``ValueError``. ``media_asset_ids``: the ids of its media assets,
    in the order given. Shape::

        {"id", "type": "images",
         "attributes": {"crop_data": {left, top, width, height} | null, "status",
                        "created_at", "updated_at", "bucket_type", "bucket_id"},
         "relationships": {"media_assets": {"data": [{"id", "type": "media_assets"}, …]}}}

    Source: api-reference §5, ART19 OpenAPI ``Image``.
    """
    if bucket_type not in BUCKET_TYPES:
        raise ValueError(f"bucket_type {bucket_type!r} is not one of {', '.join(BUCKET_TYPES)}")
    if status not in IMAGE_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(IMAGE_STATUSES)}")
    if crop_data is not None and not isinstance(crop_data, CropData):
        crop_data = CropData.from_mapping(crop_data)
    return {
        "id": image_id,
        "type": "images",
        "attributes": {
            "crop_data": None if crop_data is None else crop_data.as_dict(),
            "status": status,
            "created_at": _timestamp(created_at),
            "updated_at": _timestamp(updated_at),
            "bucket_type": bucket_type,
            "bucket_id": bucket_id,
        },
        "relationships": {
            "media_assets": {"data": [{"id": ident, "type": "media_assets"} for ident in media_asset_ids]}
        },
    }


def media_asset_resource(
    asset_id: str,
    *,
    style: str,
    cdn_url: str,
    content_type: str,
    file_name: str,
    file_size: int,
    size_width: int,
    size_height: int,
    attachment_id: str,
) -> dict:
    """An ART19 media asset resource object (``type: "media_assets"``) of an image.

    ``style`` ∈ ``crop.STYLES`` (else ``ValueError``); ``cdn_url``: absolute URL of the file;
    ``file_name``: without any path; ``file_size`` in bytes; ``size_width``/``size_height`` in
    pixels; ``attachment_id``: the image's id (``attachment_type`` is always ``"Image"``). Shape::

        {"id", "type": "media_assets",
         "attributes": {"style", "cdn_url", "content_type", "file_name", "file_size",
                        "size_width", "size_height", "attachment_id", "attachment_type": "Image"}}

    Source: api-reference §5, ART19 OpenAPI ``MediaAsset``.
    """
    if style not in STYLES:
        raise ValueError(f"style {style!r} is not one of {', '.join(STYLES)}")
    return {
        "id": asset_id,
        "type": "media_assets",
        "attributes": {
            "style": style,
            "cdn_url": cdn_url,
            "content_type": content_type,
            "file_name": file_name,
            "file_size": file_size,
            "size_width": size_width,
            "size_height": size_height,
            "attachment_id": attachment_id,
            "attachment_type": "Image",
        },
    }


def collection_document(resources: Iterable[dict], self_link: str) -> dict:
    """``{"data": [resource, …], "links": {"self": self_link}}`` for ``GET /images?ids[]=…``.

    Unknown ids are simply absent from ``resources`` (not an error). ``self_link``: the URL of
    this request. Source: api-reference §5.
    """
    return {"data": list(resources), "links": {"self": self_link}}


def single_document(resource: dict, self_link: str | None = None) -> dict:
    """``{"data": resource}`` for ``GET /images/{id}``, with ``links.self`` when ``self_link`` is given.

    ART19's OpenAPI gives single-resource answers a ``links: {self}`` (``ResourceLink``).
    Source: api-reference §5.
    """
    document = {"data": resource}
    if self_link is not None:
        document["links"] = {"self": self_link}
    return document


# Authorization: Token token="…", credential="…" — scheme and parameter names are
# case-insensitive (RFC 7235); values are quoted strings (backslash escapes) or bare tokens.
_SCHEME = re.compile(r"\s*Token\s+", re.IGNORECASE)
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))\s*(,|\Z)')


def parse_authorization(header: str | None) -> tuple[str, str] | None:
    """``(token, credential)`` from ``Token token="…", credential="…"``, or None when malformed.

    Parameters may come in any order, separated by commas; unknown parameters are ignored. None
    when the header is absent, has another scheme, has a syntax error, repeats a parameter, or
    lacks a non-empty ``token`` or ``credential``. Source: api-reference §5, ART19 OpenAPI.
    """
    scheme = _SCHEME.match(header or "")
    if not scheme:
        return None
    params: dict[str, str] = {}
    pos = scheme.end()
    while pos < len(header):
        match = _PARAM.match(header, pos)
        if not match or match.end() == pos:
            return None
        name = match[1].lower()
        value = re.sub(r"\\(.)", r"\1", match[2]) if match[2] is not None else match[3]
        if name in params:
            return None
        params[name] = value
        pos = match.end()
    token, credential = params.get("token"), params.get("credential")
    return (token, credential) if token and credential else None


def check_credentials(
    header: str | None,
    allowed: Mapping[str, str],
    granted: Collection[str] | None = None,
) -> Literal["ok", "missing", "forbidden"]:
    """Check an ``Authorization`` header against the configured credentials.

    ``allowed``: every valid credential id → its secret token. ``granted``: the credential ids
    that may read the requested resource or collection (None: every valid credential).

    - ``"missing"`` → answer **401**: no header, a malformed one, an unknown credential or a
      wrong token ("a valid credential was not supplied"). These are not told apart, so a caller
      cannot probe which credential ids exist.
    - ``"forbidden"`` → answer **403**: the credential and its token are valid, but the
      credential is not in ``granted``.
    - ``"ok"``: valid and granted.

    The token is compared with ``hmac.compare_digest`` (constant time in the token's content).
    Source: api-reference §5, ART19 OpenAPI responses ``unauthorized`` / ``forbidden``.
    """
    parsed = parse_authorization(header)
    if parsed is None:
        return "missing"
    token, credential = parsed
    # An unknown credential is compared against "" (never equal: parsed tokens are non-empty).
    if not hmac.compare_digest(token.encode(), allowed.get(credential, "").encode()):
        return "missing"
    return "ok" if granted is None or credential in granted else "forbidden"


def auth_error(result: str) -> JsonApiError | None:
    """The ``JsonApiError`` (401 or 403) for a ``check_credentials`` result; None for ``"ok"``.

    Titles and details follow the ART19 OpenAPI response descriptions.
    """
    if result == "missing":
        return JsonApiError(401, "Unauthorized", "A valid credential was not supplied, but one is required.")
    if result == "forbidden":
        detail = "The provided credential is not authorized to access the requested resource or collection."
        return JsonApiError(403, "Forbidden", detail)
    return None

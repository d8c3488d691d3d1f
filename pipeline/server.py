"""The WSGI application behind serve.py: API URLs → precomputed files under ``output/``.

Answers from an index of ``manifest.json`` loaded at start (no directory scan per request) and
reloaded when the manifest changes, so a rebuild is picked up without a restart; the build
writes the manifest last and atomically, so every file it names already exists.

Decorations (``percentPlayed`` …) are served only when precomputed (``selection``); formats are
negotiated from ``Accept`` (AVIF, WebP, original) when the build turned ``negotiate_format``
on, with ``Vary: Accept`` and a per-format ETag.

Caching (api-reference §1 "Caching"): with ``tag`` equal to the image's current tag,
``Cache-Control: public, max-age=31536000, immutable``; otherwise ``public, no-cache`` (the
client revalidates). Always ``ETag`` and ``Last-Modified``; 304 for a matching
``If-None-Match``/``If-Modified-Since``; byte ranges (206/416) via Werkzeug.
"""

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from werkzeug.datastructures import ETags
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from . import layout
from .formats import FORMATS
from .overlays import Decoration
from .plan import Derivative
from .jsonapi import CONTENT_TYPE as JSONAPI_TYPE, JsonApiError, auth_error, check_credentials, \
    collection_document, parse_authorization, single_document
from .request import Art19Request, BadRequest, ImageRequest, NotFound, ObjectRequest, StoreRequest, parse
from .selection import FormatNotAvailable, select

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class ImageRecord:
    """One image of the manifest: upright size (pixels), source format, default quality, files."""

    tag: str
    width: int
    height: int
    format: str
    quality: int
    derivatives: list[Derivative]


class Index:
    """``manifest.json`` loaded into memory: images by tag and owners' tags by ImageType."""

    def __init__(self, output: Path):
        self.output = output
        self.manifest = output / layout.MANIFEST
        self.mtime_ns = self.manifest.stat().st_mtime_ns
        data = json.loads(self.manifest.read_bytes())
        self.images: dict[str, ImageRecord] = {}
        for tag, image in data["images"].items():
            derivatives = [Derivative(d["file"], d["width"], d["height"], d["format"], d["quality"],
                                      d["original"], d["keeps_aspect"],
                                      decoration=Decoration(**d.get("decoration", {})))
                           for d in image["derivatives"]]
            self.images[tag] = ImageRecord(tag, image["width"], image["height"], image["format"],
                                           image["quality"], derivatives)
        self.owners: dict[str, dict[str, dict[str, list[str]]]] = data["owners"]
        self.negotiate_format: bool = data.get("negotiate_format", False)
        podcast = data.get("podcast", {})
        self.art19 = {"images": podcast.get("images", {}),
                      "media_assets": {i: a["resource"] for i, a in podcast.get("media_assets", {}).items()}}
        self.store = {d.file: FORMATS[d.format].mime for image in self.images.values() for d in image.derivatives}
        self.store.update({a["file"]: a["resource"]["attributes"]["content_type"]
                           for a in podcast.get("media_assets", {}).values()})
        self.lower_ids = {kind: {i.lower(): i for i in ids} for kind, ids in self.owners.items()}

    def owner(self, kind: str, owner_id: str) -> tuple[str, dict[str, list[str]]]:
        """(canonical id, {ImageType: [tag…]}); ids match exactly, else case-insensitively.
        Raises ``NotFound``."""
        owners = self.owners.get(kind, {})
        if owner_id not in owners:
            owner_id = self.lower_ids.get(kind, {}).get(owner_id.lower(), owner_id)
        if owner_id not in owners:
            raise NotFound(f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")
        return owner_id, owners[owner_id]


class IndexHolder:
    """Holds the current ``Index`` and swaps in a new one when ``manifest.json`` changes
    (checked at most every ``interval`` seconds)."""

    def __init__(self, output: Path, interval: float = 0.5):
        self.output, self.interval = output, interval
        self.lock = threading.Lock()
        self.index = Index(output)
        self.checked = time.monotonic()

    def current(self) -> Index:
        now = time.monotonic()
        if now - self.checked >= self.interval:
            with self.lock:
                if now - self.checked >= self.interval:
                    self.checked = now
                    try:
                        if self.index.manifest.stat().st_mtime_ns != self.index.mtime_ns:
                            self.index = Index(self.output)
                    except (OSError, ValueError, KeyError):
                        pass  # a manifest being replaced: keep serving the previous index
        return self.index


#: Formats tried, in order, when a request names none and format negotiation is on.
NEGOTIATED = (("image/avif", "Avif"), ("image/webp", "Webp"))


class App:
    """WSGI app: ``App(output_dir)(environ, start_response)``.

    ``strict_decorations``: answer 404 (naming what is missing) when a requested decoration was
    not precomputed, instead of the undecorated image with an ``X-Image-Not-Applied`` header.
    ``art19_credentials``: ``[{"credential", "token", "buckets": ["Series/{id}", …] | None}]``;
    when given, the ART19 JSON:API routes need ``Authorization: Token token="…",
    credential="…"`` (401 without or wrong, 403 for a credential without access to the
    bucket); None leaves them open (local use).
    """

    def __init__(self, output: str | Path, reload_interval: float = 0.5, strict_decorations: bool = False,
                 art19_credentials: list[dict] | None = None):
        self.strict_decorations = strict_decorations
        self.credentials = art19_credentials
        self.output = Path(output).resolve()
        if not (self.output / layout.MANIFEST).is_file():
            raise FileNotFoundError(f"{self.output / layout.MANIFEST} not found: build first (doit)")
        self.indexes = IndexHolder(self.output, reload_interval)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request; every error becomes a 4xx with a plain-text reason."""
        try:
            route = parse(request.path, list(request.args.items(multi=True)))
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
            index = self.indexes.current()
            if isinstance(route, ObjectRequest):
                return self.object_response(request, index, route)
            if isinstance(route, Art19Request):
                return self.art19_response(request, index, route)
            if isinstance(route, StoreRequest):
                return self.store_response(request, index, route)
            return self.image_response(request, index, route)
        except JsonApiError as exc:
            return _jsonapi(exc.status, exc.to_document())
        except BadRequest as exc:
            return _text(400, str(exc))
        except (NotFound, FormatNotAvailable) as exc:
            return _text(404, str(exc))

    def object_response(self, request: Request, index: Index, route: ObjectRequest) -> Response:
        owner_id, _ = index.owner(route.kind, route.owner_id)
        if route.item_id is not None:
            item_id, _ = index.owner("Items", route.item_id)
            rel = layout.user_item_file(owner_id, item_id)
        elif route.images:
            rel = layout.image_infos_file(owner_id)
        else:
            rel = layout.object_file(route.kind, owner_id)
        return self.file_response(request, rel, JSON_TYPE, etag=None, cache_control=REVALIDATE)

    def image_response(self, request: Request, index: Index, route: ImageRequest) -> Response:
        owner_id, slots = index.owner(route.kind, route.owner_id)
        tags = slots.get(route.image_type, [])
        if route.index >= len(tags):
            raise NotFound(f"{owner_id} has no {route.image_type} image at index {route.index}")
        image = index.images[tags[route.index]]
        negotiated = route.format is None and index.negotiate_format
        fmt = self.negotiate(request, image) if negotiated else route.format
        choice = select(image.derivatives, image.width, image.height, image.format, route.size,
                        fmt, route.quality, image.quality, route.decoration)
        not_applied = ", ".join(f"{k}={v}" for k, v in route.decorations.items()) if not choice.applied else ""
        if not_applied and self.strict_decorations:
            raise NotFound(f"not precomputed for this image: {not_applied}")
        d = choice.derivative
        strong = route.tag is not None and route.tag.lower() == image.tag
        etag = f"{image.tag}-{d.format.lower()}" if negotiated else image.tag
        response = self.file_response(request, d.file, FORMATS[d.format].mime, etag=etag,
                                      cache_control=IMMUTABLE if strong else REVALIDATE)
        response.headers["X-Image-Size"] = f"{d.width}x{d.height}"
        response.headers["X-Image-Fit"] = choice.fit
        if not d.decoration.is_empty():
            response.headers["X-Image-Decoration"] = d.decoration.key()
        if not_applied:
            response.headers["X-Image-Not-Applied"] = not_applied
        if negotiated:
            response.headers["Vary"] = "Accept"
        return response

    def art19_response(self, request: Request, index: Index, route: Art19Request) -> Response:
        """JSON:API documents of ART19 images and media assets (api-reference §5)."""
        resources = index.art19[route.collection]
        allowed = self._art19_access(request)
        if route.resource_id is not None:
            resource = resources.get(route.resource_id)
            if resource is None:
                raise JsonApiError(404, "Not found", f"no {route.collection} with id {route.resource_id}")
            if not allowed(index, route.collection, resource):
                raise auth_error("forbidden")
            return _jsonapi(200, single_document(resource, request.url))
        found = [resources[i] for i in route.ids if i in resources]
        return _jsonapi(200, collection_document([r for r in found if allowed(index, route.collection, r)],
                                                 request.url))

    def _art19_access(self, request: Request):
        """Check the ``Authorization`` header (raises the 401 ``JsonApiError``); return a
        predicate telling whether the credential may read a resource."""
        if self.credentials is None:
            return lambda index, collection, resource: True
        header = request.headers.get("Authorization")
        result = check_credentials(header, {c["credential"]: c["token"] for c in self.credentials})
        if result != "ok":
            raise auth_error(result)
        credential = parse_authorization(header)[1]
        buckets = next(c.get("buckets") for c in self.credentials if c["credential"] == credential)

        def allowed(index: Index, collection: str, resource: dict) -> bool:
            if buckets is None:
                return True
            image = resource if collection == "images" else \
                index.art19["images"].get(resource["attributes"]["attachment_id"], {})
            attributes = image.get("attributes", {})
            return f"{attributes.get('bucket_type')}/{attributes.get('bucket_id')}" in buckets
        return allowed

    def store_response(self, request: Request, index: Index, route: StoreRequest) -> Response:
        """A content-named file: immutable, whatever the query."""
        mime = index.store.get(route.file)
        if mime is None:
            raise NotFound("no such file")
        return self.file_response(request, route.file, mime, etag=route.file.split("/", 1)[1],
                                  cache_control=IMMUTABLE)

    @staticmethod
    def negotiate(request: Request, image: ImageRecord) -> str | None:
        """The format for a request that names none: AVIF, then WebP when ``Accept`` lists it and
        the image has derivatives in it; else None (the original's format)."""
        available = {d.format for d in image.derivatives}
        for mime, fmt in NEGOTIATED:
            if fmt in available and request.accept_mimetypes.quality(mime) > 0 \
                    and mime in request.accept_mimetypes.values():
                return fmt
        return None

    def file_response(self, request: Request, rel: str, mimetype: str, etag: str | None,
                      cache_control: str) -> Response:
        """Stream ``output/rel`` with conditional and range handling. Raises ``NotFound`` when the
        path leaves the output folder or the file is missing."""
        path = layout.resolve_inside(self.output, rel)
        if path is None:
            raise NotFound("no such file")
        try:
            f = open(path, "rb")
        except OSError:
            raise NotFound("no such file") from None
        st = os.fstat(f.fileno())
        response = Response(wrap_file(request.environ, f), mimetype=mimetype, direct_passthrough=True)
        response.content_length = st.st_size
        response.last_modified = int(st.st_mtime)
        response.headers["Cache-Control"] = cache_control
        response.headers["Accept-Ranges"] = "bytes"
        if etag is None:
            etag = f"{st.st_size:x}-{st.st_mtime_ns:x}"
        response.set_etag(etag)
        return response.make_conditional(request, accept_ranges=True, complete_length=st.st_size)


def _jsonapi(status: int, document: dict) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, mimetype=JSONAPI_TYPE)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def load_credentials(path: str | Path) -> list[dict]:
    """Read an ART19 credentials file: a YAML list of ``{credential, token, buckets}`` where
    ``buckets`` (optional; absent = every bucket) lists ``"Series/{id}"``-style strings.
    Raises ``ValueError`` naming the file and entry when malformed."""
    import yaml
    try:
        entries = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read credentials: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: must be a list of {{credential, token, buckets}}")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("credential"), str) \
                or not isinstance(entry.get("token"), str) or set(entry) - {"credential", "token", "buckets"}:
            raise ValueError(f"{path}: entry {i} must have string credential and token (and optional buckets)")
        buckets = entry.get("buckets")
        if buckets is not None and not (isinstance(buckets, list) and all(isinstance(b, str) for b in buckets)):
            raise ValueError(f"{path}: entry {i}: buckets must be a list such as [Series/abc]")
        out.append({"credential": entry["credential"], "token": entry["token"], "buckets": buckets})
    return out

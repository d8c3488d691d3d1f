"""The WSGI application behind serve.py: API URLs → precomputed files under ``output/``.

Answers from ``output/index.sqlite`` (``serve.index.ServeIndex``: a few indexed queries per
request, nothing loaded at start; no directory scan per request), reopened when the build renames
a new index over it, so a rebuild is picked up without a restart and at the cost of one open;
the build writes the index after every file it names, so every file it names already exists.

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
from urllib.parse import quote
from pathlib import Path

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from pipeline.model import layout
from pipeline.serve.ops import AccessLog, Operations, WaitingApp, health_response, metrics_response
from pipeline.model.formats import FORMATS
from pipeline.model.http import IMMUTABLE, JSON_TYPE, REVALIDATE
from pipeline.art19.jsonapi import CONTENT_TYPE as JSONAPI_TYPE, JsonApiError, auth_error, check_credentials, \
    collection_document, parse_authorization, single_document
from pipeline.serve.request import Art19Request, BadRequest, ImageRequest, NotFound, ObjectRequest, StoreRequest, \
    WriteRequest
from pipeline.serve.routes import METHODS, MethodNotAllowed as RouteMethodNotAllowed, match
from pipeline.outputs.manifest import ImageEntry, ManifestError
from pipeline.outputs.sqlindex import IndexFileError
from pipeline.serve.index import ServeIndex
from pipeline.serve.selection import FormatNotAvailable, select
from pipeline.serve.writes import Writes, writes_from_environment

CACHE_SIZE = 50_000   # resolved answers kept per index (cleared when full)
ANSWER_BYTES = 64_000_000       # bytes of whole answers kept per worker (App._keep_answer)
ANSWER_FILE_BYTES = 2_000_000   # larger files are always streamed from disk
#: Bodies up to this many bytes are read whole and handed to the server as one buffer (see
#: ``App.file_response``); larger files are streamed in 8 KiB chunks through a Python thread.
WHOLE_BODY_LIMIT = 64 * 1024 * 1024


class IndexHolder:
    """Holds the current ``ServeIndex`` and opens the new one when the build renames a new
    ``index.sqlite`` over it (``ServeIndex.changed``, one ``stat``, at most every ``interval``
    seconds). A missing or broken new file keeps the previous index serving (``/health`` says
    503 when the file is gone); ``error`` holds why the last reopen failed (None: it did not)."""

    def __init__(self, output: Path, interval: float = 0.5):
        self.output, self.interval = output, interval
        self.lock = threading.Lock()
        self.index = ServeIndex(output)
        self.checked = time.monotonic()
        self.error: str | None = None
        self._failed = None      # the stamp of a file that failed to open: not tried again

    def current(self) -> ServeIndex:
        now = time.monotonic()
        if now - self.checked >= self.interval:
            with self.lock:
                if now - self.checked >= self.interval:
                    self.checked = now
                    if self.index.changed():
                        self._reopen()
        return self.index

    def _reopen(self) -> None:
        try:
            st = os.stat(self.index.path)
        except OSError:
            return                        # gone: keep answering from the open file
        if (st.st_ino, st.st_mtime_ns) == self._failed:
            return
        try:
            self.index = ServeIndex(self.output)
            self.error = self._failed = None
        except (OSError, ValueError) as exc:   # IndexFileError is a ValueError
            self.error, self._failed = str(exc), (st.st_ino, st.st_mtime_ns)


def route_handler(method):
    """Mark an ``App`` method as the handler of routes (``routes.Route.handler`` names it);
    called as ``handler(http_request, index, parsed_request)``. tests/test_routes.py checks that
    every marked method is named by a route and every route's handler is marked."""
    method.route_handler = True
    return method


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
                 art19_credentials: list[dict] | None = None, writes: Writes | None = None,
                 access_log: AccessLog | None = None):
        self.strict_decorations = strict_decorations
        self.writes = writes    # the write routes (pipeline.serve.writes), or None: read-only
        self.credentials = art19_credentials
        self.output = Path(output).resolve()
        self.indexes = IndexHolder(self.output, reload_interval)
        self.ops = Operations(access_log)     # metrics, access log (pipeline.serve.ops)
        self._cache: dict = {}
        self._cache_index = None
        self._answers: dict = {}          # _answer_key -> (WSGI header list, file bytes)
        self._answers_index = None
        self._answers_bytes = 0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        hit = self._answers.get(self._answer_key(environ))
        if hit is not None and self._answers_index is self.indexes.current():
            start_response("200 OK", hit[0])
            self.ops.observe(environ, 200, hit[0], len(hit[1]), started, self._answers_index)
            return [hit[1]]
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        if response.status_code >= 400:   # error bodies are text: never sniffed as HTML or script
            response.headers["X-Content-Type-Options"] = "nosniff"
        length = response.content_length if environ.get("REQUEST_METHOD") != "HEAD" else 0
        self.ops.observe(environ, response.status_code, response.headers, length, started, self.indexes.index)
        return response(environ, start_response)

    @staticmethod
    def _answer_key(environ) -> tuple | None:
        """Key of a plain GET (no range, no condition) in the ready-answer cache, else None."""
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_RANGE" in environ \
                or "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ \
                or "HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ:
            return None
        return environ.get("PATH_INFO"), environ.get("QUERY_STRING"), environ.get("HTTP_ACCEPT")

    def _keep_answer(self, request: Request, resolved: "Resolved", index: "ServeIndex") -> Response | None:
        """Keep the whole 200 answer (headers and bytes) of a plain GET for a content-named file
        (an image or store file: its ETag comes from the tag, so its bytes never change while
        this index is current), so that the next identical request is one dict lookup.
        Bounded by ``ANSWER_BYTES`` per worker; cleared with the index. Returns the answer, or
        None when it is not kept (then ``file_response`` streams the file)."""
        key = self._answer_key(request.environ)
        if key is None or resolved.etag is None:
            return None
        if self._answers_index is not index:
            self._answers, self._answers_index, self._answers_bytes = {}, index, 0
        try:
            with open(resolved.path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_size > ANSWER_FILE_BYTES or self._answers_bytes + st.st_size > ANSWER_BYTES:
                    return None
                body = f.read()
        except OSError:
            return None
        response = self.file_response(request, resolved)
        response.close()
        if response.status_code != 200 or response.content_length != len(body):
            return None
        headers = response.headers.to_wsgi_list()
        self._answers[key] = (headers, body)
        self._answers_bytes += len(body)
        return Response(body, status=200, headers=headers)

    def dispatch(self, request: Request) -> Response:
        """Route one request; every error becomes a 4xx with a plain-text (or JSON:API) reason.

        Image, object and store answers are a pure function of (path, query, ``Accept`` when
        negotiating) for one index, so their resolution is cached until the index changes;
        conditional and range handling runs on every request."""
        if request.method not in METHODS:
            return MethodNotAllowed(valid_methods=list(METHODS)).get_response(request.environ)
        index = self.indexes.current()
        if index is not self._cache_index:
            self._cache, self._cache_index = {}, index
        key = (request.path, request.query_string,
               request.headers.get("Accept") if index.negotiate_format else None,
               "GET" if request.method == "HEAD" else request.method)
        resolved = self._cache.get(key)
        if resolved is None:
            resolved = self.resolve(request, index)
            if isinstance(resolved, Response):      # ART19 JSON:API: depends on Authorization
                return resolved
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = resolved
        if isinstance(resolved, Failure):
            return _text(resolved.status, resolved.message)
        kept = self._keep_answer(request, resolved, index)
        return kept if kept is not None else self.file_response(request, resolved)

    def resolve(self, request: Request, index: ServeIndex) -> "Resolved | Failure | Response":
        """Parse a request by the route table (``routes.match``) and answer it with the route's
        handler, without touching the file's bytes."""
        try:
            try:
                route, parsed = match(request.path, list(request.args.items(multi=True)), request.method)
                return getattr(self, route.handler)(request, index, parsed)
            except (JsonApiError, BadRequest, NotFound):
                if self.writes is None and request.method not in ("GET", "HEAD"):   # read-only: as nginx
                    return MethodNotAllowed(valid_methods=["GET", "HEAD"]).get_response(request.environ)
                raise
        except RouteMethodNotAllowed as exc:
            return MethodNotAllowed(valid_methods=exc.allowed).get_response(request.environ)
        except JsonApiError as exc:
            return _jsonapi(exc.status, exc.to_document())
        except BadRequest as exc:
            return Failure(400, str(exc))
        except (NotFound, FormatNotAvailable) as exc:
            return Failure(404, str(exc))
        except (IndexFileError, ManifestError) as exc:   # the index file is damaged: not cached
            return _text(503, str(exc))

    @route_handler
    def write_answer(self, request: Request, index: ServeIndex, route: WriteRequest) -> Response:
        """The write routes and remote images (``pipeline.serve.writes``); never cached. Without
        ``--catalog``/``--auth``: 405 for a write, as static hosting answers, and 404 for the
        remote-image lists (there is no catalog to read them from)."""
        if self.writes is not None:
            return self.writes.handle(request, route)
        if request.method in ("GET", "HEAD"):
            raise NotFound("remote images need serve.py --catalog and --auth")
        return MethodNotAllowed(valid_methods=["GET", "HEAD"]).get_response(request.environ)

    @route_handler
    def object_answer(self, request: Request, index: ServeIndex, route: ObjectRequest) -> "Resolved":
        owner_id, _ = index.owner(route.kind, route.owner_id)
        if route.item_id is not None:
            item_id, _ = index.owner("Items", route.item_id)
            rel = layout.user_item_file(owner_id, item_id)
        elif route.images:
            rel = layout.image_infos_file(owner_id)
        else:
            rel = layout.object_file(route.kind, owner_id)
        return self._resolved(rel, JSON_TYPE, None, REVALIDATE, {})

    @route_handler
    def image_answer(self, request: Request, index: ServeIndex, route: ImageRequest) -> "Resolved":
        owner_id, slots = index.owner(route.kind, route.owner_id)
        tags = slots.get(route.image_type, [])
        if route.index >= len(tags):
            raise NotFound(f"{owner_id} has no {route.image_type} image at index {route.index}")
        image = index.image(tags[route.index])
        negotiated = route.format is None and index.negotiate_format
        fmt = self.negotiate(request, image) if negotiated else route.format
        choice = select(image.derivatives, image.width, image.height, image.format, route.size,
                        fmt, route.quality, image.quality, route.decoration)
        not_applied = ", ".join(f"{k}={_header_safe(v)}" for k, v in route.decorations.items()) \
            if not choice.applied else ""
        if not_applied and self.strict_decorations:
            raise NotFound(f"not precomputed for this image: {not_applied}")
        d = choice.derivative
        strong = route.tag is not None and route.tag.lower() == image.tag
        headers = {"X-Image-Size": f"{d.width}x{d.height}", "X-Image-Fit": choice.fit}
        if not d.decoration.is_empty():
            headers["X-Image-Decoration"] = d.decoration.key()
        if not_applied:
            headers["X-Image-Not-Applied"] = not_applied
        if negotiated:
            headers["Vary"] = "Accept"
        etag = f"{image.tag}-{d.format.lower()}" if negotiated else image.tag
        return self._resolved(d.file, FORMATS[d.format].mime, etag, IMMUTABLE if strong else REVALIDATE, headers)

    def _resolved(self, rel: str, mime: str, etag: str | None, cache_control: str, headers: dict) -> "Resolved":
        path = layout.resolve_inside(self.output, rel)
        if path is None:
            raise NotFound("no such file")
        return Resolved(str(path), mime, etag, cache_control, headers)

    @route_handler
    def art19_response(self, request: Request, index: ServeIndex, route: Art19Request) -> Response:
        """JSON:API documents of ART19 images and media assets (api-reference §5)."""
        allowed = self._art19_access(request)
        if route.resource_id is not None:
            resource = index.art19(route.collection, route.resource_id)
            if resource is None:
                raise JsonApiError(404, "Not found", f"no {route.collection} with id {route.resource_id}")
            if not allowed(index, route.collection, resource):
                raise auth_error("forbidden")
            return _jsonapi(200, single_document(resource, _self_link(request)))
        found = [r for r in (index.art19(route.collection, i) for i in route.ids) if r is not None]
        return _jsonapi(200, collection_document([r for r in found if allowed(index, route.collection, r)],
                                                 _self_link(request)))

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

        def allowed(index: ServeIndex, collection: str, resource: dict) -> bool:
            if buckets is None:
                return True
            image = resource if collection == "images" else \
                index.art19("images", resource["attributes"]["attachment_id"]) or {}
            attributes = image.get("attributes", {})
            return f"{attributes.get('bucket_type')}/{attributes.get('bucket_id')}" in buckets
        return allowed

    @route_handler
    def health(self, request: Request, index: ServeIndex, route) -> Response:
        """``GET /health``: 200 with the index's build time and image count (``ops``)."""
        return health_response(index)

    @route_handler
    def metrics(self, request: Request, index: ServeIndex, route) -> Response:
        """``GET /metrics``: Prometheus text format, summed over serve.py's workers (``ops``)."""
        return metrics_response()

    @route_handler
    def store_answer(self, request: Request, index: ServeIndex, route: StoreRequest) -> "Resolved":
        """A content-named file: immutable, whatever the query."""
        mime = index.store_mime(route.file)
        if mime is None:
            raise NotFound("no such file")
        return self._resolved(route.file, mime, route.file.split("/", 1)[1], IMMUTABLE, {})

    @staticmethod
    def negotiate(request: Request, image: ImageEntry) -> str | None:
        """The format for a request that names none: AVIF, then WebP when ``Accept`` lists it and
        the image has derivatives in it; else None (the original's format)."""
        available = {d.format for d in image.derivatives}
        for mime, fmt in NEGOTIATED:
            if fmt in available and request.accept_mimetypes.quality(mime) > 0 \
                    and mime in request.accept_mimetypes.values():
                return fmt
        return None

    def file_response(self, request: Request, resolved: "Resolved") -> Response:
        """Answer a resolved file with conditional and range handling (Werkzeug); 404 when the
        file vanished (a pruned tag).

        The body (or the range's bytes) of a file up to ``WHOLE_BODY_LIMIT`` is read once and
        handed to the server as one buffer: a client that stops reading then holds only its
        connection and those bytes, never one of the few Python threads (issue 13)."""
        try:
            f = open(resolved.path, "rb")
        except OSError:
            return _text(404, "no such file")
        with f:
            st = os.fstat(f.fileno())
            whole = st.st_size <= WHOLE_BODY_LIMIT
            body = [] if whole else wrap_file(request.environ, open(resolved.path, "rb"))
            response = Response(body, mimetype=resolved.mime, direct_passthrough=True)
            response.content_length = st.st_size
            response.last_modified = int(st.st_mtime)
            headers = response.headers
            headers["Cache-Control"] = resolved.cache_control
            headers["Accept-Ranges"] = "bytes"
            for name, value in resolved.headers.items():
                headers[name] = value
            etag = resolved.etag or f"{st.st_size:x}-{st.st_mtime_ns:x}"
            response.set_etag(etag)
            status = _precondition(request, etag, int(st.st_mtime))
            if status is not None:
                return _bodiless(status, response)
            # conditions are decided above; Werkzeug does the range (and If-Range) only, and a
            # malformed, multiple or non-byte range is ignored: a 200 (RFC 9110 §14.2)
            drop = {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
            ranges = parse_range_header(request.environ.get("HTTP_RANGE"))
            if ranges is None or ranges.units != "bytes" or len(ranges.ranges) != 1:
                drop.add("HTTP_RANGE")
            environ = {k: v for k, v in request.environ.items() if k not in drop}
            response = response.make_conditional(environ, accept_ranges=True, complete_length=st.st_size)
            if whole and request.method != "HEAD" and response.status_code in (200, 206):
                start, stop = (response.content_range.start, response.content_range.stop) \
                    if response.status_code == 206 else (0, st.st_size)
                f.seek(start)
                response.response = [f.read(stop - start)]
        return response


def _precondition(request: Request, etag: str, mtime: int) -> int | None:
    """RFC 9110 §13.2.2, in its order: 412 for a failed ``If-Match`` (strong comparison) or,
    without one, a failed ``If-Unmodified-Since``; then 304 for a matching ``If-None-Match``
    (weak) or, without one, an unmodified ``If-Modified-Since``, even with a ``Range`` (§13.2.2
    puts the range last); None to answer normally."""
    if_match = request.if_match
    if request.headers.get("If-Match") is not None:
        if not (if_match.star_tag or if_match.contains(etag)):
            return 412
    elif request.if_unmodified_since is not None and mtime > request.if_unmodified_since.timestamp():
        return 412
    if request.headers.get("If-None-Match") is not None:
        if request.if_none_match.star_tag or request.if_none_match.contains_weak(etag):
            return 304
    elif request.if_modified_since is not None and mtime <= request.if_modified_since.timestamp():
        return 304
    return None


def _bodiless(status: int, response: Response) -> Response:
    """The 304 of ``response`` (its validators and caching headers, no body; Werkzeug's 304 as
    ``make_conditional`` makes it), or a 412 with no body."""
    if status == 412:
        return Response(b"", status=412, mimetype="text/plain")
    response.status_code, response.response = 304, []
    return response


@dataclass(frozen=True)
class Resolved:
    """Where a request's answer is: absolute ``path``, ``mime``, ``etag`` (None: from size and
    mtime), ``cache_control`` and extra response ``headers``."""

    path: str
    mime: str
    etag: str | None
    cache_control: str
    headers: dict


@dataclass(frozen=True)
class Failure:
    """A 4xx answer: ``status`` and the plain-text ``message``."""

    status: int
    message: str


#: Characters echoed as they are in a header value: printable ASCII but ``%`` (RFC 9110 field-vchar).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7f) if chr(c) not in "%" and not chr(c).isalnum())


def _header_safe(value: str) -> str:
    """``value`` for an echoing header: control characters, ``%`` and non-ASCII
    percent-encoded (UTF-8), so no request can put a line break or a byte the HTTP server
    refuses into an answer's headers (issue 13)."""
    return quote(value, safe=_HEADER_SAFE)


def _self_link(request: Request) -> str:
    """A JSON:API ``links.self`` as a relative reference (path and query): never built from the
    request's ``Host``, which any client sets (issue 13)."""
    query = request.query_string.decode("latin-1")
    return quote(request.path, safe="/:@!$&'()*+,;=") + (f"?{query}" if query else "")


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


def app_from_environment():
    """The WSGI app that serve.py's worker processes run, configured by environment variables:
    ``PIPELINE_OUTPUT`` (folder), ``PIPELINE_STRICT_DECORATIONS`` ("1" or empty),
    ``PIPELINE_ART19_CREDENTIALS`` (credentials file or empty), ``PIPELINE_ACCESS_LOG``
    (``combined``/``json`` or empty) and ``PIPELINE_ACCESS_LOG_FILE``, ``PIPELINE_WAIT_FOR_BUILD``
    ("1": start before the first build, answering 503 until ``index.sqlite`` exists)."""
    credentials = os.environ.get("PIPELINE_ART19_CREDENTIALS")
    writes = writes_from_environment()
    output = Path(os.environ["PIPELINE_OUTPUT"])

    def make() -> App:
        return App(output, reload_interval=0 if writes else 0.5,   # writes: a 204 is visible to the next read
                   strict_decorations=os.environ.get("PIPELINE_STRICT_DECORATIONS") == "1",
                   art19_credentials=load_credentials(credentials) if credentials else None,
                   writes=writes, access_log=AccessLog.from_environment())
    if os.environ.get("PIPELINE_WAIT_FOR_BUILD") == "1" and not (output / layout.INDEX).is_file():
        return WaitingApp(output / layout.INDEX, make)
    return make()

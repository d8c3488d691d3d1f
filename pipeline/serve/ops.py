"""serve.py operations: ``GET /health``, ``GET /metrics`` (Prometheus) and the access log.

- ``/health``: 200 ``{"status": "ok", "build_time", "images", "items", "users", "reloads"}``
  (``build_time``: the loaded ``index.sqlite``'s modification time, ISO 8601 UTC, since the
  build itself writes no clock time so that its output stays byte-identical); 503
  ``{"status": "no index", "reason"}`` while no index is loaded (serve.py ``--wait-for-build``
  before the first build, or after ``index.sqlite`` was removed; the reason names the file and,
  for a file that cannot be read, why).
- ``/metrics``: prometheus-client's text format (``CONTENT_TYPE_LATEST``):

  - ``pipeline_http_requests_total{route, status}``: ``route`` is the route table's name
    (``image4``, ``image5``, ``legacy``, ``object``, ``store``…, ``health``, ``metrics``), or
    ``none`` when no route matched;
  - ``pipeline_http_request_duration_seconds{route}``: histogram of the time to the response's
    headers (the body streams after; Granian sends it);
  - ``pipeline_image_answers_total{fit}``: images by ``X-Image-Fit`` (exact, larger, largest);
  - ``pipeline_decorations_not_applied_total{parameter}``: each parameter named in an
    ``X-Image-Not-Applied`` header (``blur``, ``percentPlayed``…);
  - ``pipeline_index_reloads_total``: new index files opened after the first;
  - ``pipeline_index_images`` (gauge): images in the index last loaded.

  serve.py runs several Granian worker processes. It sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh
  folder, unless the operator set one) before they start, so each worker writes its samples
  there and ``/metrics``, whichever worker answers, reports the sum over workers
  (prometheus-client's multiprocess mode; ``pipeline_index_images`` is the most recent value).
  Index reloads are counted per worker: one rebuild counts once in each worker.
- Access log (``--access-log combined|json``): one line per request, after the response
  headers, on stdout or ``--access-log-file`` (opened for append; one ``write`` per line).
  ``combined`` is Apache/nginx's combined format; ``json`` has ``time, remote, method, path,
  query, status, bytes, duration_ms, route, referer, user_agent`` (+ ``fit``, ``size``,
  ``not_applied`` for images). Credentials in the query (``api_key``, ``ApiKey``, ``token``…)
  are written as ``REDACTED``, and the ``Authorization`` header never is.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode

#: Query parameters whose values are credentials (Jellyfin/Emby clients send ``api_key``).
SECRET_PARAMETERS = frozenset({"api_key", "apikey", "x-emby-token", "x-mediabrowser-token", "token",
                               "access_token"})
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5)


class _Metrics:
    """The process's metric objects (one set per process: prometheus-client refuses a second
    registration, and in multiprocess mode every object writes to this worker's files)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        self.registry = CollectorRegistry()
        r = self.registry
        self._children: dict = {}
        self.requests = Counter("pipeline_http_requests_total", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.latency = Histogram("pipeline_http_request_duration_seconds",
                                 "Time to the response headers, by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.fit = Counter("pipeline_image_answers_total", "Image answers by X-Image-Fit", ["fit"], registry=r)
        self.not_applied = Counter("pipeline_decorations_not_applied_total",
                                   "Requested decorations that were not precomputed (X-Image-Not-Applied)",
                                   ["parameter"], registry=r)
        self.reloads = Counter("pipeline_index_reloads_total", "index.sqlite reopens after the first",
                               registry=r)
        self.images = Gauge("pipeline_index_images", "Images in the loaded index", registry=r,
                            multiprocess_mode="mostrecent")

    def child(self, metric, *labels):
        """``metric.labels(*labels)``, kept: a dict lookup instead of prometheus-client's
        label validation on every request."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def exposition(self) -> bytes:
        """The text format of every sample: summed over worker processes in multiprocess mode."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


_METRICS: _Metrics | None = None
_LOCK = threading.Lock()


def metrics() -> _Metrics:
    """This process's metrics (created on first use, after serve.py set the environment)."""
    global _METRICS
    if _METRICS is None:
        with _LOCK:
            if _METRICS is None:
                _METRICS = _Metrics()
    return _METRICS


@lru_cache(maxsize=8192)
def route_name(path: str, method: str) -> str:
    """The route table's name for a path (``none`` when no route matches); cached per path."""
    from pipeline.serve.routes import ROUTE_ERRORS, MethodNotAllowed, find, split_path
    try:
        return find(split_path(path), "GET" if method == "HEAD" else method)[0].name
    except (*ROUTE_ERRORS, MethodNotAllowed):
        return "none"


def redact(query: str) -> str:
    """The query string with credential values replaced by ``REDACTED``."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(k.lower() in SECRET_PARAMETERS for k, _ in pairs):
        return query
    return urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMETERS else v) for k, v in pairs],
                     safe="[]")


class AccessLog:
    """Writes one line per request in ``fmt`` (``combined`` or ``json``) to ``stream``."""

    FORMATS = ("combined", "json")

    def __init__(self, fmt: str, stream=None):
        if fmt not in self.FORMATS:
            raise ValueError(f"access log format must be one of {', '.join(self.FORMATS)}, got {fmt!r}")
        self.fmt = fmt
        self.stream = stream or sys.stdout

    @classmethod
    def from_environment(cls) -> "AccessLog | None":
        """``PIPELINE_ACCESS_LOG`` (format or empty) and ``PIPELINE_ACCESS_LOG_FILE`` (path or
        empty: stdout), as serve.py sets them."""
        fmt = os.environ.get("PIPELINE_ACCESS_LOG")
        if not fmt:
            return None
        path = os.environ.get("PIPELINE_ACCESS_LOG_FILE")
        stream = open(path, "a", buffering=1, encoding="utf-8") if path else None
        return cls(fmt, stream)

    def line(self, environ: dict, status: int, headers, length: int | None, seconds: float, route: str) -> str:
        now = datetime.now(timezone.utc)
        path = quote(environ.get("PATH_INFO", ""), safe="/%[]@:+,;=!$&'()*~")
        query = redact(environ.get("QUERY_STRING", ""))
        remote = environ.get("REMOTE_ADDR", "-") or "-"
        referer = environ.get("HTTP_REFERER", "")
        agent = environ.get("HTTP_USER_AGENT", "")
        if self.fmt == "json":
            record = {"time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                      "remote": remote, "method": environ.get("REQUEST_METHOD", ""), "path": path,
                      "query": query, "status": status, "bytes": length or 0,
                      "duration_ms": round(seconds * 1000, 3), "route": route,
                      "referer": referer, "user_agent": agent}
            for header, key in (("X-Image-Fit", "fit"), ("X-Image-Size", "size"),
                                ("X-Image-Not-Applied", "not_applied")):
                if headers.get(header):
                    record[key] = headers.get(header)
            return json.dumps(record, ensure_ascii=False) + "\n"
        target = path + ("?" + query if query else "")
        protocol = environ.get("SERVER_PROTOCOL", "HTTP/1.1")

        def q(text: str) -> str:
            return text.replace("\\", "\\\\").replace('"', '\\"')
        return (f'{remote} - - [{now.strftime("%d/%b/%Y:%H:%M:%S %z")}] '
                f'"{q(environ.get("REQUEST_METHOD", ""))} {q(target)} {q(protocol)}" {status} '
                f'{length if length else "-"} "{q(referer) or "-"}" "{q(agent) or "-"}"\n')

    def write(self, *args):
        try:
            self.stream.write(self.line(*args))
        except (OSError, ValueError):
            pass    # a full disk or a closed stream never fails a request


class Operations:
    """Per-``App`` hook: ``observe`` each answer (metrics, access log, index reloads), and
    answer ``/health`` and ``/metrics``."""

    def __init__(self, access_log: AccessLog | None = None):
        self.access_log = access_log
        self.metrics = metrics()
        self._index = None

    def index_seen(self, index):
        """Count a reload when the app's index changed since the last request."""
        if index is not self._index:
            if self._index is not None:
                self.metrics.reloads.inc()
            self._index = index
            if index is not None:
                self.metrics.images.set(index.image_count)

    def observe(self, environ: dict, status: int, headers, length: int | None, started: float, index=None):
        """Count one answer: ``status``, its ``headers`` (a Werkzeug ``Headers`` or a WSGI list
        of pairs), body ``length`` in bytes (None: unknown), ``started`` (``perf_counter``)."""
        seconds = time.perf_counter() - started
        route = route_name(environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET"))
        m = self.metrics
        m.child(m.requests, route, str(status)).inc()
        m.child(m.latency, route).observe(seconds)
        if isinstance(headers, list):
            headers = {k: v for k, v in headers if k.startswith("X-")}
        fit = headers.get("X-Image-Fit")
        if fit:
            m.child(m.fit, fit).inc()
        not_applied = headers.get("X-Image-Not-Applied")
        if not_applied:
            for part in not_applied.split(","):
                name = part.strip().split("=", 1)[0]
                if name:
                    m.child(m.not_applied, name).inc()
        self.index_seen(index)
        if self.access_log is not None:
            self.access_log.write(environ, status, headers, length, seconds, route)


def health_document(index, reason: str | None = None) -> tuple[int, dict]:
    """(status, body) of ``/health`` for a ``ServeIndex`` (None: no index loaded → 503, with
    ``reason`` when known, e.g. why the index file could not be opened)."""
    if index is None or not index.path.is_file():
        reason = (reason or "no index.sqlite loaded: build first (doit)") if index is None else \
            f"{index.path} is gone: build again (doit)"
        return 503, {"status": "no index", "reason": reason}
    built = datetime.fromtimestamp(index.mtime_ns / 1e9, timezone.utc)
    body = {"status": "ok", "build_time": built.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "images": index.image_count, "items": index.owner_counts.get("Items", 0),
            "users": index.owner_counts.get("Users", 0)}
    return 200, body


def health_response(index, reason: str | None = None):
    """The Werkzeug response of ``/health`` (never cached: ``Cache-Control: no-store``)."""
    from werkzeug.wrappers import Response
    status, body = health_document(index, reason)
    return Response(json.dumps(body) + "\n", status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def metrics_response():
    """The Werkzeug response of ``/metrics`` (Prometheus text format)."""
    from prometheus_client import CONTENT_TYPE_LATEST
    from werkzeug.wrappers import Response
    return Response(metrics().exposition(), status=200, content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


class WaitingApp:
    """serve.py ``--wait-for-build``: answers ``/health`` (503) and ``/metrics`` while no
    usable ``index_file`` (``index.sqlite``) exists, everything else 503 (the reason, naming
    the file, when it exists but cannot be opened); then hands every request to the app that
    ``make_app()`` builds once the index is there (checked at most every ``interval`` s)."""

    def __init__(self, index_file, make_app, interval: float = 0.5):
        self.index_file, self.make_app, self.interval = index_file, make_app, interval
        self.error: str | None = None
        self.app = None
        self.checked = 0.0
        self.lock = threading.Lock()
        self.ops = Operations(AccessLog.from_environment())

    def __call__(self, environ, start_response):
        if self.app is None and time.monotonic() - self.checked >= self.interval:
            with self.lock:
                if self.app is None:
                    self.checked = time.monotonic()
                    if self.index_file.is_file():
                        try:
                            self.app = self.make_app()
                            self.error = None
                        except (OSError, ValueError, KeyError) as exc:
                            self.app, self.error = None, str(exc)
        if self.app is not None:
            return self.app(environ, start_response)
        from werkzeug.wrappers import Response
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "").rstrip("/").lower()
        if path == "/metrics":
            response = metrics_response()
        elif path == "/health":
            response = health_response(None, self.error)
        else:
            response = Response(f"{self.error or 'no index loaded yet: build first (doit)'}\n", status=503,
                                mimetype="text/plain", headers={"Retry-After": "1"})
        self.ops.observe(environ, response.status_code, response.headers, response.content_length, started)
        return response(environ, start_response)

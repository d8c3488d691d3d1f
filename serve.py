"""Serve a built output folder with the media-server image API's URLs.

    python serve.py --output output --host 127.0.0.1 --port 8096
    python serve.py --output output --catalog catalog.yaml --auth tokens.yaml   # with the write routes

The routing, selection and caching logic lives in pipeline.serve.app (a WSGI app); this entry point
runs it on Granian (a Rust HTTP server) with one worker process per core.

Slow and idle clients cannot starve it (README "Serve", limits): HTTP/1.1 only, so a connection
that completes no request header within ``--header-timeout`` seconds (silent, partial-header or
idle keep-alive) is closed; each worker holds up to ``--connections / workers`` connections
(Granian's backpressure; more wait in the kernel's backlog); and the app hands Granian each
body whole (``App.file_response``), so a client that never reads holds a connection, not one of
the ``--threads`` Python threads.
"""

import argparse
import math
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings

from pipeline.model import layout
from pipeline.serve.app import App, load_credentials
from pipeline.serve.ops import AccessLog

ROOT = Path(__file__).resolve().parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve a built output folder with the Jellyfin/Emby "
                                                 "image API's URLs and the ART19 image routes.")
    parser.add_argument("--output", default="output", help="the built folder (default: output)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8096, help="port (default: 8096, Jellyfin's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    parser.add_argument("--threads", type=int, default=None,
                        help="Python threads per worker (default: 2, or 8 with --catalog, since a write "
                             "holds its thread until its build is published; answers are CPU-bound and "
                             "files are small, so more threads mostly add contention)")
    parser.add_argument("--connections", type=int, default=4096,
                        help="open connections held at once, over all workers (default: 4096); "
                             "more wait in the listen backlog. Capped by the open-files limit")
    parser.add_argument("--header-timeout", type=float, default=5.0,
                        help="seconds a connection may take to send a complete request header, "
                             "and may stay idle between requests (default: 5)")
    parser.add_argument("--strict-decorations", action="store_true",
                        help="answer 404 for a decoration (percentPlayed, blur, …) that was not "
                             "precomputed, instead of the plain image with an X-Image-Not-Applied header")
    parser.add_argument("--art19-credentials", metavar="FILE",
                        help="YAML list of {credential, token, buckets} that may read the ART19 "
                             "routes (/images, /media_assets); without it they are open")
    parser.add_argument("--access-log", choices=AccessLog.FORMATS,
                        help="log every request: combined (Apache/nginx) or json (one object a line)")
    parser.add_argument("--access-log-file", metavar="FILE",
                        help="append the access log to FILE (default: standard output)")
    parser.add_argument("--wait-for-build", action="store_true",
                        help="start before the first build: /health answers 503 (and other routes 503) "
                             "until index.sqlite exists")
    parser.add_argument("--catalog", metavar="FILE",
                        help="enable the write routes (upload, delete, reorder, remote images): each "
                             "write edits this catalog and rebuilds it into --output (needs --auth)")
    parser.add_argument("--auth", metavar="FILE",
                        help="YAML list of {token, user, admin} allowed to write (needs --catalog)")
    parser.add_argument("--max-upload-mb", type=float, default=50,
                        help="largest image a write accepts, in MB (default: 50; 413 above)")
    parser.add_argument("--remote-timeout", type=float, default=10,
                        help="seconds a remote image download may take (default: 10)")
    parser.add_argument("--publish", action="store_true",
                        help="after each write's build, run `doit publish` (S3_BUCKET, … as for doit)")
    args = parser.parse_args(argv)
    if args.threads is None:
        args.threads = 8 if args.catalog else 2
    if bool(args.catalog) != bool(args.auth):
        parser.error("--catalog and --auth go together (writes need both)")
    if args.catalog:
        os.environ.update(PIPELINE_CATALOG=str(Path(args.catalog).resolve()),
                          PIPELINE_AUTH=str(Path(args.auth).resolve()),
                          PIPELINE_MAX_UPLOAD=str(int(args.max_upload_mb * 1024 * 1024)),
                          PIPELINE_REMOTE_TIMEOUT=str(args.remote_timeout),
                          PIPELINE_PUBLISH="1" if args.publish else "")
    metrics_dir = prepare_metrics_dir()   # before anything imports prometheus_client
    try:  # fail here, with a clear message, rather than in every worker
        if args.art19_credentials:
            load_credentials(args.art19_credentials)
        if args.catalog:
            from pipeline.errors import CatalogErrors
            from pipeline.serve.builds import BuildFailed
            from pipeline.serve.writes import Writes
            try:
                writes = Writes(args.catalog, args.output, args.auth, publish=args.publish)
                writes.editor.remove_stale_temporaries()
                print("building the catalog before serving writes…", flush=True)
                writes.builds.publish()   # the output matches the catalog (also after a crash)
            except CatalogErrors as exc:
                raise ValueError(f"catalog has errors:\n{exc}") from None
            except BuildFailed as exc:
                print(f"serve.py: warning: {exc}", file=sys.stderr)
        if not (args.wait_for_build and not (Path(args.output) / layout.INDEX).is_file()):
            App(args.output)
        if args.access_log_file:
            open(args.access_log_file, "a").close()
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"serve.py: {exc}", file=sys.stderr)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        return 2
    os.environ["PIPELINE_ACCESS_LOG"] = args.access_log or ""
    os.environ["PIPELINE_ACCESS_LOG_FILE"] = str(Path(args.access_log_file).resolve()) if args.access_log_file else ""
    os.environ["PIPELINE_WAIT_FOR_BUILD"] = "1" if args.wait_for_build else ""
    os.environ["PIPELINE_OUTPUT"] = str(Path(args.output).resolve())
    os.environ["PIPELINE_STRICT_DECORATIONS"] = "1" if args.strict_decorations else ""
    os.environ["PIPELINE_ART19_CREDENTIALS"] = str(Path(args.art19_credentials).resolve()) if args.art19_credentials else ""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    print(f"serving {os.environ['PIPELINE_OUTPUT']} on http://{args.host}:{args.port}/", flush=True)
    per_worker = connections_per_worker(args.connections, args.workers)
    Granian("pipeline.serve.app:app_from_environment", factory=True, interface=Interfaces.WSGI,
            address=args.host, port=args.port, workers=args.workers, working_dir=ROOT,
            blocking_threads=args.threads, backpressure=per_worker, log_access=False,
            http=HTTPModes.http1,   # "auto" waits for the first bytes before any timeout runs
            http1_settings=HTTP1Settings(header_read_timeout=max(1, round(args.header_timeout * 1000)))).serve()
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def connections_per_worker(wanted: int, workers: int) -> int:
    """Connections each worker may hold so that all of them hold ``wanted``: raises this
    process's open-files soft limit (the workers inherit it) towards its hard limit when needed,
    and caps the share to leave 256 descriptors per worker for files, pipes and the listener."""
    share = max(1, math.ceil(wanted / workers))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < share + 256:
        soft = share + 256 if hard == resource.RLIM_INFINITY else min(share + 256, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return share if soft == resource.RLIM_INFINITY else max(1, min(share, soft - 256))


def prepare_metrics_dir() -> str | None:
    """Point prometheus-client's multiprocess mode at a folder every worker writes its samples
    to (``/metrics`` sums them): a fresh temporary one, removed at exit, unless the operator set
    ``PROMETHEUS_MULTIPROC_DIR`` (then its old samples are removed, as prometheus-client asks).
    Returns the folder to remove at exit, or None."""
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own:
        os.makedirs(own, exist_ok=True)
        for name in os.listdir(own):
            if name.endswith(".db"):
                os.unlink(os.path.join(own, name))
        return None
    folder = tempfile.mkdtemp(prefix="serve-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


if __name__ == "__main__":
    sys.exit(main())

"""Slow and idle connections against serve.py: the most under which it still answers.

    .venv/bin/python bench/slow_clients.py [--output DIR] [--max 3200] [--workers 2] [--header-timeout 5]

Starts ``serve.py`` on a free 127.0.0.1 port (loopback only) over ``--output`` (default: a
two-image library built into a temporary folder), then for n = 100, 200, 400, … up to
``--max`` opens n connections of *each* kind at once:

* ``idle``: connects and sends nothing;
* ``partial``: sends half a request header and stops (slowloris);
* ``noread``: requests an image file and never reads the answer (receive buffer 4 KiB);

and, while they are all open, sends ordinary requests (``GET /Items/{id}/Images/Primary``
with a size, on a fresh connection each) with a 1 s timeout. It prints, per n, the slowest of
those answers and how many slow connections were still open after them, and at the end the
most slow connections open at once while every ordinary request was answered within 1 s. Every loop is bounded in count and time; the connections are closed between
steps. The same functions are used by ``tests/reliability/test_connections.py``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port, running_process  # noqa: E402  (the tests' server runner)

HOST = "127.0.0.1"
KINDS = ("idle", "partial", "noread")


@contextmanager
def serve(output: Path, *extra: str):
    """Run ``serve.py`` over ``output`` on a free loopback port; yield its port; stop it."""
    port = free_port()
    with running_process([sys.executable, str(ROOT / "serve.py"), "--output", str(output),
                          "--host", HOST, "--port", str(port), *extra], port, "serve.py"):
        yield port


def open_slow(port: int, kind: str, count: int, path: str) -> list[socket.socket]:
    """Open ``count`` connections of one ``kind`` (``idle``, ``partial``, ``noread``; ``path``
    is what ``noread`` asks for). Connections the kernel refuses are left out."""
    socks = []
    for _ in range(count):
        try:
            s = socket.socket()
            if kind == "noread":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(5)
            s.connect((HOST, port))
            if kind == "partial":
                s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUser-Ag")
            elif kind == "noread":
                s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        except OSError:
            s.close()
    return socks


def is_closed_by_server(s: socket.socket) -> bool:
    """True when the server has closed (or reset) ``s``; reads and drops what is pending."""
    s.setblocking(False)
    try:
        while True:
            if s.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def ordinary(port: int, path: str, timeout: float) -> float | None:
    """Seconds an ordinary GET of ``path`` (fresh connection) took, or None when it got no
    200 within ``timeout`` seconds."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as resp:
            resp.read()
            return time.monotonic() - start if resp.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


LIBRARY = textwrap.dedent("""\
    settings:
      sizes: [{maxWidth: [160, 320]}]
      formats: [Original, Webp]
      variants: []
    items:
      - id: show
        name: Show
        type: Series
        images: {Primary: media/poster-wood.jpg, Backdrop: [media/Dune.jpg]}
""")
PROBE = "/Items/show/Images/Primary?maxWidth=160"
NOREAD = "/Items/show/Images/Backdrop"            # the 1 MB original


def build_library(folder: Path) -> Path:
    """Build the two-image library into ``folder/output`` with the repository's doit."""
    (folder / "media").mkdir(parents=True, exist_ok=True)
    for name in ("poster-wood.jpg", "Dune.jpg"):
        (folder / "media" / name).write_bytes((ROOT / "media" / name).read_bytes())
    (folder / "catalog.yaml").write_text(LIBRARY)
    subprocess.run([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
                    f"catalog={folder / 'catalog.yaml'}", f"output={folder / 'output'}"],
                   check=True, capture_output=True, timeout=600)
    return folder / "output"


def step(port: int, count: int, probes: int = 5) -> tuple[float | None, int]:
    """Open ``count`` connections of each kind, then time ``probes`` ordinary requests (1 s
    timeout each, after the server has had up to 10 s to take the ``noread`` requests in);
    close everything. Returns (the slowest answer in seconds, or None if one was not answered
    within 1 s; how many slow connections were still open after the probes: the server closes
    idle and partial ones after its header timeout, which a large step can outlast)."""
    socks = []
    try:
        for kind in KINDS:
            socks += open_slow(port, kind, count, NOREAD)
        deadline = time.monotonic() + 10           # the noread requests are real work: let it finish
        while ordinary(port, PROBE, 1.0) is None and time.monotonic() < deadline:
            pass
        times = [ordinary(port, PROBE, 1.0) for _ in range(probes)]
        still_open = sum(not is_closed_by_server(s) for s in socks)
        return (None if None in times else max(times)), still_open
    finally:
        for s in socks:
            s.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="a built output folder with item 'show' "
                        "(default: build a two-image library into a temporary folder)")
    parser.add_argument("--max", type=int, default=3200, help="largest n tried (default 3200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--header-timeout", default="5", help="serve.py's --header-timeout (default 5; "
                        "a long one keeps idle connections open through a large step)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        output = args.output or build_library(Path(tmp))
        best = 0
        with serve(output, "--workers", str(args.workers), "--header-timeout", args.header_timeout) as port:
            n = 100
            while n <= args.max:
                slowest, still_open = step(port, n)
                shown = "not answered within 1 s" if slowest is None else f"slowest {slowest * 1000:.0f} ms"
                print(f"{n:5d} connections of each kind ({n * len(KINDS)} opened, {still_open} still open "
                      f"after the probes): {shown}", flush=True)
                if slowest is None:
                    break
                best = max(best, still_open)
                n *= 2
                time.sleep(1)
        print(f"ordinary requests answered within 1 s with up to {best} slow connections (idle, "
              f"partial-header and non-reading) open at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""serve.py keeps answering while hundreds of slow, idle, partial-header and non-reading
connections are open (issue 13 item 1), and closes the ones that send no request in time.

Real sockets against the real serve.py on 127.0.0.1; every loop is bounded in count and time.
No wall-clock assertion: an ordinary request must be *answered* (a starved server never
answers while the slow connections stay open); `bench/slow_clients.py` measures how fast.
"""

import random
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, copy_media, run_doit

sys.path.insert(0, str(ROOT / "bench"))
from slow_clients import is_closed_by_server, open_slow, ordinary, serve  # noqa: E402

CATALOG = textwrap.dedent("""\
    settings:
      sizes: [{maxWidth: [160]}]
      formats: [Original]
      variants: []
    items:
      - id: show
        name: Show
        type: Series
        images: {Primary: media/poster-wood.jpg, Backdrop: [media/noise.png]}
""")
PROBE = "/Items/show/Images/Primary?maxWidth=160"
BIG = "/Items/show/Images/Backdrop"      # the original: ~17 MB, more than the socket buffers hold


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slow")
    copy_media(root, "poster-wood.jpg")
    noise = random.Random(13).randbytes(2400 * 2400 * 3)
    Image.frombytes("RGB", (2400, 2400), noise).save(root / "media" / "noise.png", compress_level=0)
    (root / "catalog.yaml").write_text(CATALOG)
    run_doit(root / "catalog.yaml", root / "output", check=True)
    return root / "output"


def test_answers_under_hundreds_of_slow_connections(output):
    """300 idle + 300 partial-header + 300 non-reading connections (the issue starved the
    server with ~100 of any kind) while ordinary requests are still answered."""
    with serve(output, "--workers", "2", "--header-timeout", "30") as port:
        socks = []
        try:
            for kind in ("idle", "partial", "noread"):
                socks += open_slow(port, kind, 300, PROBE)
            assert len(socks) == 900
            answers = [ordinary(port, PROBE, timeout=20) for _ in range(5)]
            assert None not in answers, answers
            assert not any(is_closed_by_server(s) for s in socks[:600])   # none was dropped to make room
        finally:
            for s in socks:
                s.close()


def test_clients_that_never_read_a_big_body_hold_no_thread(output):
    """One worker with one Python thread: 20 clients request a 17 MB file and never read it.
    The body is handed to Granian whole, so the thread is free for the next request."""
    with serve(output, "--workers", "1", "--threads", "1") as port:
        socks = open_slow(port, "noread", 20, BIG)
        try:
            assert len(socks) == 20
            answers = [ordinary(port, PROBE, timeout=20) for _ in range(3)]
            assert None not in answers, answers
        finally:
            for s in socks:
                s.close()


def test_silent_partial_and_idle_keep_alive_connections_are_closed(output):
    """``--header-timeout 1``: connections that send nothing, half a header, or nothing after
    a first answer (keep-alive) are closed by the server, so they cannot pile up."""
    with serve(output, "--workers", "2", "--header-timeout", "1") as port:
        socks = open_slow(port, "idle", 50, PROBE) + open_slow(port, "partial", 50, PROBE)
        kept = open_slow(port, "noread", 20, PROBE)        # a small answer, then keep-alive idle
        socks += kept
        try:
            time.sleep(0.5)
            for s in kept:                                   # read the first answer
                s.settimeout(10)
                assert s.recv(65536).startswith(b"HTTP/1.1 200")
            open_ = socks
            for _ in range(100):                             # at most ~20 s
                open_ = [s for s in open_ if not is_closed_by_server(s)]
                if not open_:
                    break
                time.sleep(0.2)
            assert not open_, f"{len(open_)} of {len(socks)} connections still open"
            assert ordinary(port, PROBE, timeout=20) is not None
        finally:
            for s in socks:
                s.close()

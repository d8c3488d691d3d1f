"""Fault tests of the write routes: a concurrent burst (50 items + 10 writes to one image), and
serve.py killed with SIGKILL in the middle of a burst, then restarted. Bounded in count and time."""

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT, copy_media, free_port, run_doit
from pipeline.catalog.loader import load_catalog
from test_writes_e2e import ADMIN, SETTINGS, small_jpeg

ITEMS = 50


@pytest.fixture
def library(tmp_path):
    copy_media(tmp_path, "avatar-meadow.jpg")
    lines = ["# fault-test library", SETTINGS, "items:"]
    for i in range(ITEMS):
        lines += [f"  - id: item{i:02d}", f"    name: Item {i}", "    type: Movie",
                  "    images: {Primary: media/avatar-meadow.jpg}"]
    lines += ["  - id: target", "    name: Target", "    type: Movie",
              "    images: {Primary: media/avatar-meadow.jpg}", "users:", "  - {id: alice, name: alice}"]
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("\n".join(lines) + "\n")
    (tmp_path / "tokens.yaml").write_text(f'- {{token: "{ADMIN}", user: alice, admin: true}}\n')
    output = tmp_path / "output"
    run_doit(catalog, output, check=True)
    return catalog, output


def start(catalog: Path, output: Path, port: int) -> subprocess.Popen:
    """serve.py with writes, in its own session (so a kill reaches its workers and builds)."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--output", str(output), "--catalog",
                             str(catalog), "--auth", str(catalog.parent / "tokens.yaml"), "--port", str(port),
                             "--workers", "2", "--threads", "8"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            assert proc.poll() is None, "serve.py exited"
            time.sleep(0.1)
    kill(proc)
    raise AssertionError("serve.py did not open its port")


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def upload(base: str, item: str, image: bytes) -> int:
    req = urllib.request.Request(f"{base}/Items/{item}/Images/Primary", data=base64.b64encode(image), method="POST",
                                 headers={"Content-Type": "image/jpeg", "X-Emby-Token": ADMIN})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0          # connection dropped (the server was killed)


def get(base: str, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def relpath(image: bytes) -> str:
    return f"media/uploads/{hashlib.sha256(image).hexdigest()}.jpg"


def test_concurrent_burst_every_204_is_in_the_catalog_and_built(library):
    catalog, output = library
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(catalog, output, port)
    try:
        builds_before = json.loads((output / ".cache" / "writes.json").read_text())["builds"]
        jobs = [(f"item{i:02d}", small_jpeg(i)) for i in range(ITEMS)]
        jobs += [("target", small_jpeg(100 + i)) for i in range(10)]
        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(lambda job: upload(base, *job), jobs))
        assert statuses == [204] * len(jobs)
        library = load_catalog(catalog)                       # valid
        for item, image in jobs[:ITEMS]:
            assert library.items[item].images["Primary"][0].relpath == relpath(image)
            status, body = get(base, f"/Items/{item}/Images/Primary")
            assert status == 200 and body == image            # built and served
        final = library.items["target"].images["Primary"][0].relpath
        assert final in {relpath(image) for _, image in jobs[ITEMS:]}
        status, body = get(base, "/Items/target/Images/Primary")
        assert relpath(body) == final
        state = json.loads((output / ".cache" / "writes.json").read_text())
        builds = state["builds"] - builds_before
        print(f"{len(jobs)} concurrent uploads caused {builds} builds")
        assert 1 <= builds <= len(jobs) // 5                  # coalesced (7 measured on 2 busy cores)
    finally:
        kill(proc)


def test_kill_9_mid_burst_then_restart_keeps_every_204(library):
    catalog, output = library
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(catalog, output, port)
    jobs = [(f"item{i:02d}", small_jpeg(200 + i)) for i in range(30)]
    acknowledged = []
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            futures = [(job, pool.submit(upload, base, *job)) for job in jobs]
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and sum(f.done() for _, f in futures) < 3:
                time.sleep(0.05)
            kill(proc)                                         # SIGKILL to serve.py, workers and builds
            for job, future in futures:
                if future.result(timeout=300) == 204:
                    acknowledged.append(job)
    finally:
        kill(proc)
    assert acknowledged, "no upload finished before the kill"
    assert len(acknowledged) < len(jobs), "the kill came after the burst"
    load_catalog(catalog)                                      # the catalog parses and validates
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(catalog, output, port)                        # restart: builds what the catalog says
    try:
        library = load_catalog(catalog)
        for item, image in acknowledged:
            assert library.items[item].images["Primary"][0].relpath == relpath(image)
            status, body = get(base, f"/Items/{item}/Images/Primary")
            assert status == 200 and body == image
        assert not [p for p in catalog.parent.iterdir() if ".tmp-" in p.name]
        assert upload(base, "target", small_jpeg(300)) == 204  # and writes work again
    finally:
        kill(proc)

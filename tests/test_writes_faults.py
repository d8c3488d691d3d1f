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


def test_a_corrupt_source_elsewhere_fails_the_build_but_not_the_write(tmp_path):
    """issue 13: a catalog with a source that does not decode (probe) and one cut short (found
    by its render) fails every build, which still publishes the rest; writes that do not touch
    those sources answer 204 and are visible, and replacing a broken source works too."""
    from PIL import Image
    copy_media(tmp_path, "avatar-meadow.jpg")
    (tmp_path / "media" / "garbage.jpg").write_bytes(b"\xff\xd8\xff not a jpeg at all" * 10)
    Image.effect_noise((400, 300), 60).convert("RGB").save(tmp_path / "media" / "cut.jpg", quality=90)
    data = (tmp_path / "media" / "cut.jpg").read_bytes()
    (tmp_path / "media" / "cut.jpg").write_bytes(data[: len(data) // 2])     # header intact, scan cut
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(textwrap.dedent(f"""\
        {SETTINGS}
        items:
          - {{id: good, name: Good, type: Movie,
              images: {{Primary: media/avatar-meadow.jpg, Backdrop: [media/avatar-meadow.jpg, media/cut.jpg]}}}}
          - {{id: garbage, name: Garbage, type: Movie, images: {{Primary: media/garbage.jpg}}}}
          - {{id: cut, name: Cut, type: Movie, images: {{Primary: media/cut.jpg}}}}
        users:
          - {{id: alice, name: alice}}
    """))
    (tmp_path / "tokens.yaml").write_text(f'- {{token: "{ADMIN}", user: alice, admin: true}}\n')
    output = tmp_path / "output"
    assert run_doit(catalog, output).returncode != 0                  # fails naming both, publishes the rest
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(catalog, output, port)
    try:
        image = small_jpeg(7)
        assert upload(base, "good", image) == 204
        assert get(base, "/Items/good/Images/Primary") == (200, image)
        assert upload(base, "garbage", small_jpeg(8)) == 204           # the broken source replaced
        assert get(base, "/Items/garbage/Images/Primary") == (200, small_jpeg(8))
        req = urllib.request.Request(f"{base}/Items/good/Images/Backdrop/0", method="DELETE",
                                     headers={"X-Emby-Token": ADMIN})
        with urllib.request.urlopen(req, timeout=300) as resp:        # the failed backdrop stays listed
            assert resp.status == 204
        status, body = get(base, "/Items/good")
        assert status == 200 and json.loads(body)["BackdropImageTags"] == []
        assert [s.relpath for s in load_catalog(catalog).items["good"].images["Backdrop"]] == ["media/cut.jpg"]
    finally:
        kill(proc)
    assert run_doit(catalog, output).returncode != 0                  # cut.jpg still fails the build

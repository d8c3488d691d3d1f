"""Shared fixtures: run the real doit build and the real serve.py in subprocesses."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT / "media"


def run_doit(catalog: Path, output: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``doit`` (from the project root, with its dodo.py) on a catalog and output folder."""
    cmd = [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
           *args, f"catalog={catalog}", f"output={output}"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"doit failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(output: Path, *extra: str):
    """Start ``serve.py`` on a free 127.0.0.1 port; yield its base URL; stop it afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--output", str(output),
                             "--host", "127.0.0.1", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve.py did not start: {proc.stdout.read()}")
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def copy_media(dest: Path, *names: str) -> None:
    """Copy files of the sample library (media/) into ``dest/media``."""
    (dest / "media").mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(MEDIA / name, dest / "media" / name)


class Http:
    """Minimal HTTP client over urllib that never raises on 4xx/5xx."""

    def __init__(self, base: str):
        self.base = base

    def request(self, path: str, method: str = "GET", headers: dict | None = None):
        req = urllib.request.Request(self.base + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

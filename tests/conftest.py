"""Shared fixtures: run the real doit build and the real serve.py in subprocesses."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


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
def running_process(cmd: list[str], port: int, what: str, env: dict | None = None, log=lambda: "",
                    cwd: Path | None = None):
    """Start ``cmd`` (a server that listens on 127.0.0.1:``port``), wait at most ~30 s for the
    port, yield the process, and stop it afterwards. Its output goes to a temporary file, not a
    pipe: a chatty server (moto logs every request) would block once a pipe nobody reads is
    full. That output, and ``log()``, are added to the failure message."""
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)

        def output() -> str:
            out.seek(0)
            return out.read()

        try:
            for _ in range(600):                       # at most ~30 s
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if proc.poll() is not None:
                        raise AssertionError(f"{what} did not start: {output()} {log()}")
                    time.sleep(0.05)
            else:
                raise AssertionError(f"{what} did not open its port: {output()} {log()}")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


#: Credentials of the moto S3 server the publish and S3-store tests run.
AWS_TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}


@contextmanager
def moto_server():
    """moto's standalone S3 server on a free 127.0.0.1 port; yields its endpoint URL."""
    port = free_port()
    with running_process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                         port, "moto server", env={**os.environ, **AWS_TEST_CREDENTIALS}):
        yield f"http://127.0.0.1:{port}"


def use_test_aws_credentials(monkeypatch) -> None:
    """Point boto3 at the test credentials only: no profile, endpoint or bucket from the
    developer's environment leaks into a test."""
    for name, value in AWS_TEST_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_PREFIX"):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def running_server(output: Path, *extra: str):
    """Start ``serve.py`` on a free 127.0.0.1 port; yield its base URL; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, str(ROOT / "serve.py"), "--output", str(output),
           "--host", "127.0.0.1", "--port", str(port), *extra]
    with running_process(cmd, port, "serve.py"):
        yield f"http://127.0.0.1:{port}"


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

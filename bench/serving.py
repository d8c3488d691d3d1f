"""Serving throughput: serve.py against nginx on the same output tree, same run.

Loopback only: every server listens on 127.0.0.1 and every request goes there.

For each server, ``wrk -t2 -c100 -d{seconds}s --latency`` (100 concurrent
keep-alive connections on 2 client threads; bounded in time) requests the
same list of URLs in turn (a generated wrk Lua script cycles through it),
after a short warm-up run. Figures: requests/s, latency p50/p99 in
milliseconds, transfer in bytes/s, and the count of non-2xx/3xx responses and
socket errors (a server answering errors fast would look good: those counts
must be 0 for the figures to mean anything).

Servers:
  * nginx (Debian package), from a minimal generated nginx.conf in a temporary
    folder: ``worker_processes auto`` (2 here), ``sendfile on``, access log off,
    keep-alive requests unlimited in practice, pid/error log/temp paths in the
    temporary folder; run as ``nginx -p TMP -e TMP/error.log -c TMP/nginx.conf
    -g 'daemon off;'`` (a child of this process, stopped with SIGQUIT then
    SIGTERM);
  * ``python serve.py --output DIR --host 127.0.0.1 --port N`` from the repo root.
Both are started before the runs and stay idle while the other one is measured.
wrk runs on the same 2-core machine as the server (it takes CPU from it); both
servers are measured under that same handicap.

URLs: the files of the output tree, relative to it, in groups: the legacy path
links (``Items/{id}/Images/{Type}/{i}/{tag}/{Format}/{w}/{h}/0/0``), the
derivatives (``images/{tag}/*``) and the JSON objects. A group is used only if
a sample of its URLs answers 200 on *both* servers, so both get the same list.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from corpus import REPO_DIR
from measure import children_rusage, machine_busy_s, tree_cpu_s

HOST = "127.0.0.1"  # loopback only, never anything else
NGINX = "/usr/sbin/nginx"
URL_LIMIT = 20000


def _log(msg: str) -> None:
    print(f"[serve] {msg}", file=sys.stderr, flush=True)


def ensure_tools() -> dict:
    """Paths of wrk and nginx; installs the Debian packages ``wrk`` and
    ``nginx`` with apt-get when missing (root only; otherwise raises with the
    command to run)."""
    missing = [pkg for pkg, path in (("wrk", shutil.which("wrk")),
                                     ("nginx", shutil.which("nginx") or (NGINX if os.path.exists(NGINX) else None)))
               if not path]
    if missing:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        if os.geteuid() != 0:
            raise RuntimeError(f"missing {', '.join(missing)}: run `sudo {' '.join(cmd)}`")
        _log(f"{', '.join(missing)} not found: running `{' '.join(cmd)}` "
             "(policy-rc.d / no init: the nginx service is not expected to start)")
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode != 0:
            _log("apt-get install failed; trying apt-get update first")
            subprocess.run(["apt-get", "update"], capture_output=True)
            r = subprocess.run(cmd, capture_output=True, text=True,
                               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-1500:]}")
    return {"wrk": shutil.which("wrk"), "nginx": shutil.which("nginx") or NGINX}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """Wait until 127.0.0.1:port accepts a connection; raise if the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {HOST}:{port} after {timeout_s} s")


def nginx_conf(root: Path, port: int, tmp: Path, workers: str = "auto") -> Path:
    """Write TMP/nginx.conf serving ``root`` on 127.0.0.1:port; return its path."""
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""\
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ image/jpeg jpg jpeg; image/webp webp; image/avif avif; image/png png;
            application/json json; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {HOST}:{port};
        root {root};
        location / {{ try_files $uri =404; }}
    }}
}}
""")
    return conf


def start_nginx(root: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    """Start nginx (foreground, our child) serving ``root``; return (proc, port)."""
    nginx = ensure_tools()["nginx"]
    port = free_port()
    conf = nginx_conf(Path(root).resolve(), port, tmp)
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "nginx.stderr", "wb"))
    try:
        wait_listening(port, proc)
    except RuntimeError:
        stop(proc, signal.SIGQUIT)
        log = tmp / "error.log"
        raise RuntimeError("nginx did not start:\n" + (tmp / "nginx.stderr").read_text()[-1500:]
                           + (log.read_text()[-1500:] if log.exists() else ""))
    return proc, port


def start_serve_py(root: Path, tmp: Path, serve_py: Path = REPO_DIR / "serve.py") -> tuple[subprocess.Popen, int]:
    """Start ``python serve.py --output ROOT --host 127.0.0.1 --port N`` (our child)."""
    if not serve_py.exists():
        raise RuntimeError(f"{serve_py} not found: serve.py is not there yet")
    port = free_port()
    python = REPO_DIR / ".venv" / "bin" / "python"
    proc = subprocess.Popen([python if python.exists() else sys.executable, serve_py,
                             "--output", str(Path(root).resolve()), "--host", HOST, "--port", str(port)],
                            cwd=REPO_DIR, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "serve.stderr", "wb"))
    try:
        wait_listening(port, proc, timeout_s=30)
    except RuntimeError as exc:
        stop(proc)
        raise RuntimeError(f"serve.py did not start: {exc}\n" + (tmp / "serve.stderr").read_text()[-1500:])
    return proc, port


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 10) -> None:
    """Stop a server this module started (by its own Popen), then make sure."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def url_groups(root: Path, limit: int = URL_LIMIT) -> dict[str, list[str]]:
    """Candidate URL paths (with a leading /) by group, from the files under ``root``."""
    root = Path(root)
    groups: dict[str, list[str]] = {"legacy": [], "images": [], "objects": [], "files": []}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            rel = Path(dirpath, name).relative_to(root).as_posix()
            parts = rel.split("/")
            if parts[0] == "Items" and len(parts) == 11:
                groups["legacy"].append("/" + rel)
            elif parts[0] == "images" and name != "render.json":   # build record, not an image
                groups["images"].append("/" + rel)
            elif name.endswith(".json"):
                groups["objects"].append("/" + rel)
            else:
                groups["files"].append("/" + rel)
    return {k: v[:limit] for k, v in groups.items() if v}


def answers_200(port: int, paths: list[str], sample: int = 8) -> bool:
    """True if an evenly spread sample of ``paths`` answers 200 on 127.0.0.1:port."""
    step = max(1, len(paths) // sample)
    for path in paths[::step][:sample]:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as r:
                r.read()
                if r.status != 200:
                    return False
        except (urllib.error.URLError, OSError):
            return False
    return True


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def parse_wrk(out: str) -> dict:
    """wrk --latency output → {requests_per_s, p50_ms, p99_ms, mean_ms,
    transfer_bytes_per_s, requests, non_2xx_3xx, socket_errors}."""
    res = {"non_2xx_3xx": 0, "socket_errors": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        res["requests_per_s"] = float(m.group(1))
    if m := re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out):
        res["transfer_bytes_per_s"] = float(m.group(1)) * _SIZE[m.group(2)]
    if m := re.search(r"^\s+Latency\s+(\S+)", out, re.M):
        res["mean_ms"] = _ms(m.group(1))
    for pct in ("50", "99"):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M):
            res[f"p{pct}_ms"] = _ms(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        res["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        res["non_2xx_3xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        res["socket_errors"] = sum(map(int, m.groups()))
    return res


def write_wrk_script(paths: list[str], tmp: Path) -> Path:
    """A wrk Lua script that requests ``paths`` in turn (GET, keep-alive)."""
    lua = tmp / "paths.lua"
    quoted = ",\n".join('  "' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
    lua.write_text(f"""local paths = {{
{quoted}
}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
""")
    return lua


def run_wrk(port: int, script: Path, seconds: int = 10, connections: int = 100,
            threads: int = 2) -> dict:
    """One bounded wrk run against 127.0.0.1:port; returns parse_wrk's dict."""
    wrk = ensure_tools()["wrk"]
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "-s", str(script), f"http://{HOST}:{port}/"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed: {r.stderr[-800:]}")
    res = parse_wrk(r.stdout)
    res["raw"] = r.stdout
    return res


def serve_bench(root: Path, seconds: int = 10, warmup_s: int = 2, with_serve_py: bool = True,
                with_nginx: bool = True, connections: int = 100, repeat: int = 1) -> dict:
    """Measure the servers on the output tree ``root``, ``repeat`` wrk runs each (alternating),
    keeping each server's best. Returns {"urls": {group: count}, "nginx": wrk dict, "serve.py":
    wrk dict (or {"error": …})}; each wrk dict also has ``server_cpu_s`` (the server's process
    tree) and ``others_cpu_s`` (the rest of the machine but wrk: > 0 means disturbed)."""
    root = Path(root).resolve()
    ensure_tools()
    res: dict = {}
    procs: dict[str, tuple[subprocess.Popen, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as t:
        tmp = Path(t)
        try:
            if with_nginx:
                procs["nginx"] = start_nginx(root, tmp)
            if with_serve_py:
                try:
                    procs["serve.py"] = start_serve_py(root, tmp)
                except RuntimeError as exc:
                    res["serve.py"] = {"error": str(exc)}
            if not procs:
                return res
            groups = url_groups(root)
            usable = {g: p for g, p in groups.items()
                      if all(answers_200(port, p) for _, port in procs.values())}
            res["urls"] = {g: len(p) for g, p in usable.items()}
            res["url_groups_refused"] = sorted(set(groups) - set(usable))
            paths = [p for g in ("legacy", "images", "objects", "files") for p in usable.get(g, [])]
            if not paths:
                raise RuntimeError(f"no URL group answers 200 on every server (tried {sorted(groups)})")
            script = write_wrk_script(paths[:URL_LIMIT], tmp)
            for rep in range(repeat):      # rounds alternate the servers; the best run is kept
                for name, (proc, port) in procs.items():
                    _log(f"{name}: wrk -t2 -c{connections} -d{seconds}s on {len(paths)} URLs"
                         + (f" (run {rep + 1}/{repeat})" if repeat > 1 else ""))
                    if warmup_s and rep == 0:
                        run_wrk(port, script, warmup_s, connections)
                    busy, server, wrk = machine_busy_s(), tree_cpu_s(proc.pid), children_rusage()
                    r = run_wrk(port, script, seconds, connections)
                    after = children_rusage()
                    r["server_cpu_s"] = tree_cpu_s(proc.pid) - server
                    used = r["server_cpu_s"] + (after.ru_utime - wrk.ru_utime) + (after.ru_stime - wrk.ru_stime)
                    r["others_cpu_s"] = max(0.0, machine_busy_s() - busy - used)
                    if proc.poll() is not None:
                        r["error"] = f"{name} exited {proc.returncode} during the run"
                    if name not in res or r.get("requests_per_s", 0) > res[name].get("requests_per_s", 0):
                        res[name] = r
        finally:
            for name, (proc, _) in procs.items():
                stop(proc, signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
    return res

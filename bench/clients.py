"""Client recipes against the default catalog: served size vs Jellyfin's, and the ladder's cost.

    .venv/bin/python bench/clients.py [--catalog catalog.yaml] [--output bench/.cache/clients] [--baseline]

Builds the catalog (doit, incremental), starts serve.py on a free 127.0.0.1 port, and for every
recipe of tests/clients.py (nine clients, their source files, default settings per device)
requests the URL the client builds and compares the served size (``X-Image-Size``) with
Jellyfin's answer for the same request (``pipeline.model.sizing.output_size``, Jellyfin's
rule, on the image's upright size). Target (issue 9): never smaller than Jellyfin's answer
(unless the source is) and at most 1.25× its width and height. Then the storage the build
costs: bytes under ``images/`` (originals + derivatives) and of the derivatives alone, per
byte of the catalog's sources.

``--baseline`` measures the defaults as they were before issue 9's ladder (no client ladder, no
full-size entries), built in-process with those settings into ``bench/.cache/clients-baseline``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from clients import RECIPES  # noqa: E402  (tests/clients.py: the recipes and their sources)
from pipeline.model.sizing import output_size  # noqa: E402
from pipeline.outputs import manifest  # noqa: E402
from pipeline.serve.index import Index  # noqa: E402
from pipeline.serve.routes import match  # noqa: E402

BOUND = 1.25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, target: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def _quote(url: str) -> str:
    path, _, query = url.partition("?")
    return urllib.parse.quote(path, safe="/%") + ("?" + query if query else "")


def measure(output: Path, port: int) -> list[dict]:
    """One row per recipe: client, what, device, url, jellyfin (w, h), served (w, h), ratio, ok."""
    index = Index(output)
    rows = []
    for recipe in RECIPES:
        kind = "Users" if recipe.user else "Items"
        dto = json.loads((output / kind / recipe.item / "index.json").read_text())
        url = recipe.url(dto)
        path, _, query = url.partition("?")
        _, request = match(path, urllib.parse.parse_qsl(query, keep_blank_values=True))
        _, slots = index.owner(request.kind, request.owner_id)
        image = index.images[slots[request.image_type][request.index]]
        jellyfin = output_size(image.width, image.height, request.size)
        status, headers = _get(port, _quote(url))
        served = tuple(int(v) for v in headers.get("x-image-size", "0x0").split("x"))
        ratio = max(served[0] / jellyfin[0], served[1] / jellyfin[1]) if status == 200 else 0.0
        ok = status == 200 and served[0] >= jellyfin[0] and served[1] >= jellyfin[1] and ratio <= BOUND
        rows.append({"client": recipe.client, "what": recipe.what, "device": recipe.device, "url": url,
                     "status": status, "jellyfin": jellyfin, "served": served, "ratio": ratio, "ok": ok})
    return rows


def storage(output: Path) -> dict:
    """Bytes of the sources, of everything under images/ and of the derivatives alone."""
    data = manifest.read(output)
    catalog_root = None
    sources = 0
    for image in data.images.values():
        original = next((f for f in image.files if f.derivative.original), None)
        sources += original.bytes if original else 0
    published = sum(f.bytes for image in data.images.values() for f in image.files)
    derivatives = sum(f.bytes for image in data.images.values() for f in image.files if not f.derivative.original)
    files = sum(len(image.files) for image in data.images.values())
    del catalog_root
    return {"images": len(data.images), "files": files, "source_bytes": sources, "published_bytes": published,
            "derivative_bytes": derivatives}


def _baseline_defaults() -> None:
    """Put the pre-issue-9 defaults back in ``settings.DEFAULTS``: no full-size entries, no
    client-ladder variants (in place; for this process and the build it forks)."""
    from pipeline.catalog import settings
    ladders = (settings._LADDER, settings._BACKDROP_LADDER)
    defaults = settings.DEFAULTS
    for entry in [defaults, *defaults["types"].values()]:
        if "sizes" in entry:
            entry["sizes"] = [s for s in entry["sizes"] if s != settings.FULL_SIZE]
        if "variants" in entry:
            entry["variants"] = [v for v in entry["variants"] if v not in ladders]


def _build(catalog: Path, output: Path, baseline: bool) -> bool:
    if not baseline:
        build = subprocess.run([sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "-d", str(REPO), "-n", "2",
                                f"catalog={catalog}", f"output={output}"], capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stdout[-2000:], build.stderr[-2000:])
        return build.returncode == 0
    _baseline_defaults()
    from doit.doit_cmd import DoitMain
    args = ["-f", str(REPO / "dodo.py"), "-d", str(REPO), "-n", "2", f"catalog={catalog}", f"output={output}"]
    sys.argv = ["doit", *args]
    return DoitMain().run(args) == 0      # dodo.py imports the patched settings module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=REPO / "catalog.yaml")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--baseline", action="store_true", help="the defaults before issue 9's ladder")
    args = parser.parse_args(argv)
    args.output = args.output or REPO / "bench" / ".cache" / ("clients-baseline" if args.baseline else "clients")
    started = time.monotonic()
    if not _build(args.catalog.resolve(), args.output.resolve(), args.baseline):
        return 1
    print(f"build: {time.monotonic() - started:.1f} s ({args.catalog} → {args.output})")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "serve.py"), "--output", str(args.output),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        rows = measure(args.output, port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"\n{'client':<26}{'request':<48}{'device':<10}{'jellyfin':>11}{'served':>11}{'ratio':>7}")
    for r in rows:
        jf, sv = "x".join(map(str, r["jellyfin"])), "x".join(map(str, r["served"]))
        mark = "" if r["ok"] else f"  <-- {'HTTP ' + str(r['status']) if r['status'] != 200 else 'outside 1–1.25×'}"
        print(f"{r['client']:<26}{r['what'][:46]:<48}{r['device']:<10}{jf:>11}{sv:>11}{r['ratio']:>7.3f}{mark}")
    good = sum(r["ok"] for r in rows)
    worst = max(r["ratio"] for r in rows)
    print(f"\n{good}/{len(rows)} requests within [1, {BOUND}]× Jellyfin's size; worst ratio {worst:.3f}")
    s = storage(args.output)
    print(f"storage: {s['images']} images, {s['files']} files; sources {s['source_bytes'] / 1e6:.2f} MB, "
          f"published {s['published_bytes'] / 1e6:.2f} MB ({s['published_bytes'] / s['source_bytes']:.2f}× sources), "
          f"derivatives {s['derivative_bytes'] / 1e6:.2f} MB ({s['derivative_bytes'] / s['source_bytes']:.2f}×)")
    return 0 if good == len(rows) or args.baseline else 2


if __name__ == "__main__":
    sys.exit(main())

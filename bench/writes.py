"""Benchmark of the write routes: upload-to-visible latency and burst throughput.

    .venv/bin/python bench/writes.py                     # both figures, minimal ladder
    .venv/bin/python bench/writes.py --settings default  # the documented default ladders and decorations
    .venv/bin/python bench/writes.py --burst 50 --repeat 5

Builds a temporary library of ``--items`` Movies (each Primary: media/avatar-meadow.jpg), starts
serve.py with ``--catalog``/``--auth`` (2 workers, 8 threads), then measures:

- **one upload**: POST of a base64 JPEG (a 320×480 crop of a real photograph, distinct per run)
  until the 204, which comes only when the catalog is durable and the build that includes it
  has published; then the time until ``GET /Items/{id}`` shows the new tag (it already does:
  read-your-writes). Median and range over ``--repeat`` uploads, one at a time.
- **a burst**: ``--burst`` uploads to different items, all at once (as many client threads),
  from the first request to the last 204: uploads per second, and how many builds ran.
"""

import argparse
import base64
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import copy_media, free_port, run_doit, running_process  # noqa: E402

TOKEN = "bench-admin-token"
SETTINGS = {"minimal": "settings: {formats: [Original], sizes: [{maxWidth: [160, 320]}], qualities: [90]}\n",
            "default": ""}


def photo(seed: int) -> bytes:
    """A distinct 320×480 JPEG cut from a real photograph."""
    with Image.open(ROOT / "media" / "Wood.jpg") as source:
        crop = source.convert("RGB").crop((seed * 7, seed * 5, seed * 7 + 640, seed * 5 + 960)).resize((320, 480))
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=90)
    return out.getvalue()


def upload(base: str, item: str, image: bytes) -> int:
    req = urllib.request.Request(f"{base}/Items/{item}/Images/Primary", data=base64.b64encode(image),
                                 method="POST", headers={"Content-Type": "image/jpeg", "X-Emby-Token": TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def tag(base: str, item: str) -> str:
    with urllib.request.urlopen(f"{base}/Items/{item}", timeout=30) as resp:
        return json.loads(resp.read())["ImageTags"].get("Primary", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--settings", choices=sorted(SETTINGS), default="minimal")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp:
        root = Path(tmp)
        copy_media(root, "avatar-meadow.jpg")
        lines = [SETTINGS[args.settings] + "items:"]
        for i in range(args.items):
            lines.append(f"  - {{id: item{i}, name: Item {i}, type: Movie, images: {{Primary: media/avatar-meadow.jpg}}}}")
        catalog = root / "catalog.yaml"
        catalog.write_text("\n".join(lines) + "\nusers:\n  - {id: admin, name: admin}\n")
        (root / "tokens.yaml").write_text(f"- {{token: {TOKEN}, user: admin, admin: true}}\n")
        output = root / "output"
        run_doit(catalog, output, "-n", "2", check=True)
        port = free_port()
        cmd = [sys.executable, str(ROOT / "serve.py"), "--output", str(output), "--catalog", str(catalog),
               "--auth", str(root / "tokens.yaml"), "--port", str(port), "--workers", "2", "--threads", "8"]
        with running_process(cmd, port, "serve.py"):
            base = f"http://127.0.0.1:{port}"
            latencies, visible = [], []
            for n in range(args.repeat):
                image, before = photo(n), tag(base, "item0")
                start = time.perf_counter()
                status = upload(base, "item0", image)
                done = time.perf_counter()
                assert status == 204, status
                while tag(base, "item0") == before:
                    time.sleep(0.001)
                latencies.append(done - start)
                visible.append(time.perf_counter() - start)
            print(f"one upload ({args.settings} settings), {args.repeat} runs: 204 after median "
                  f"{statistics.median(latencies):.2f} s (min {min(latencies):.2f}, max {max(latencies):.2f}); "
                  f"new tag visible after median {statistics.median(visible):.2f} s")
            state = output / ".cache" / "writes.json"
            builds_before = json.loads(state.read_text())["builds"]
            jobs = [(f"item{1 + i % (args.items - 1)}", photo(100 + i)) for i in range(args.burst)]
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.burst) as pool:
                statuses = list(pool.map(lambda job: upload(base, *job), jobs))
            elapsed = time.perf_counter() - start
            builds = json.loads(state.read_text())["builds"] - builds_before
            ok = statuses.count(204)
            print(f"burst of {args.burst} uploads ({args.settings} settings): {ok} × 204 in {elapsed:.1f} s, "
                  f"{ok / elapsed:.1f} uploads/s, {builds} builds")
            load = subprocess.run(["cat", "/proc/loadavg"], capture_output=True, text=True).stdout.split()[:3]
            print(f"load average during the run: {' '.join(load)} (2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

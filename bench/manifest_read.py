"""How long ``outputs.manifest.read`` (typed, every field checked) takes on a large manifest.

A synthetic manifest of ``--images`` images × ``--files`` derivatives (one in five decorated,
as with the default percent-played ladder) is written to a temporary folder and read back three
times; the best time is printed next to ``json.loads`` alone. Run from the repository root:

    .venv/bin/python bench/manifest_read.py [--images 5000] [--files 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.outputs import manifest  # noqa: E402


def synthetic(images: int, files: int) -> dict:
    """A version-1 manifest value with ``images`` images of ``files`` derivatives each."""
    out = {}
    for i in range(images):
        tag = f"{i:032x}"
        derivatives = []
        for j in range(files):
            d = {"file": f"images/{tag}/{100 + j}x{50 + j}-q80.jpg", "width": 100 + j, "height": 50 + j,
                 "format": "Jpg", "quality": 80, "original": False, "keeps_aspect": True, "bytes": 1000 + j}
            if j % 5 == 0:
                d["decoration"] = {"percent_played": 10 * (j % 9 + 1)}
            derivatives.append(d)
        out[tag] = {"type": "Primary", "source": f"media/{i}.jpg", "width": 1000, "height": 1500,
                    "format": "Jpg", "quality": 90, "derivatives": derivatives}
    owners = {"Items": {f"item{i}": {"Primary": [tag]} for i, tag in enumerate(out)}, "Users": {}}
    return {"version": manifest.MANIFEST_VERSION, "negotiate_format": False, "images": out, "owners": owners,
            "podcast": {}, "failed": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--files", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.json"
        path.write_bytes(manifest.dumps(synthetic(args.images, args.files)))
        best = best_json = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            manifest.read(folder)
            best = min(best, time.perf_counter() - start)
            start = time.perf_counter()
            json.loads(path.read_bytes())
            best_json = min(best_json, time.perf_counter() - start)
        print(f"{args.images} images x {args.files} files ({path.stat().st_size / 1e6:.1f} MB): "
              f"manifest.read {best:.2f} s, json.loads alone {best_json:.2f} s")


if __name__ == "__main__":
    main()

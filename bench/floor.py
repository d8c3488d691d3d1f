"""The floor: the least work any tool producing the benchmark's outputs must do,
measured with Pillow in the same run as the tools.

Definition (per source, in a pool of ``--processes`` worker processes, 2 by
default like the tools; sources handed out largest first):
  1. decode the source once, at the scale needed: for a JPEG, ``Image.draft``
     to the largest output size (libjpeg DCT scaling by 1/2, 1/4 or 1/8, the
     smallest decode that is still at least as large as the largest output);
     a PNG is decoded at full size (PNG has no reduced decode);
  2. convert once to each pixel mode the encoders need (RGB for JPEG — alpha is
     dropped, not composited; RGB or RGBA, if the source has alpha, for WebP and
     AVIF): conversion is work every tool must also do;
  3. for every output (format, width, height) of the plan (corpus.plan_outputs:
     widths 160/400/1280 no larger than the source), encode once an image of
     exactly the output's pixel count *without resampling*: the centred
     width x height crop of the decoded image (``Image.crop`` copies pixels; no
     filter runs), and write it to a file, as the tools do.

So the floor is decode-at-draft-scale + mode conversion + encode + write, with
no resampling at all. What it leaves out is exactly what a tool adds: the
resize filter, metadata/ICC handling, scheduling and bookkeeping. Caveat: a
crop of a large image is smoother per pixel than a downscale of the whole
image, so for the 160/400 px outputs the encode is a little cheaper and the
files smaller than a real output's; the floor's *time* is a lower bound, its
*bytes* are not comparable with the tools' and are shown for information only.

Encoder settings (``encode_options``): the pipeline's (pipeline/imaging/render.py
``encode``): JPEG quality 90, ``optimize=True`` (optimised Huffman tables, as
sharp's default ``optimiseCoding``), Pillow's default 4:2:0 subsampling,
baseline; WebP quality 90, method 4 (= libwebp's and sharp's default effort);
AVIF quality 90, speed 8 (Pillow's default is 6; sharp's default effort 4 is
slower still). Keep them equal to the pipeline's, or the ours/floor ratio
measures encoder settings instead of pipeline overhead.

Run as a child process by bench/run.py:
    python bench/floor.py JOBS.json OUTDIR [--formats jpeg,webp] [--quality 90] [--processes 2]
JOBS.json is peer.write_jobs's list of {"src", "widths"}. Prints one JSON line:
counts, bytes, and the workers' summed decode/convert/encode seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

from PIL import Image

EXT = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}


def encode_options(fmt: str, quality: int) -> dict:
    """Pillow save() options for ``fmt`` (see module docstring)."""
    if fmt == "jpeg":
        return {"format": "JPEG", "quality": quality, "optimize": True}
    if fmt == "webp":
        return {"format": "WEBP", "quality": quality, "method": 4}
    if fmt == "avif":
        return {"format": "AVIF", "quality": quality, "speed": 8}
    raise ValueError(fmt)


def _target_mode(fmt: str, mode: str) -> str:
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or mode == "P"  # P: may have tRNS
    if fmt == "jpeg":
        return "L" if mode == "L" else "RGB"
    return "RGBA" if has_alpha else "RGB"


def render(job: dict) -> dict:
    """Floor work for one source; returns counts, bytes and seconds."""
    src, widths, formats, quality, out_dir = (job["src"], job["widths"], job["formats"],
                                              job["quality"], job["out_dir"])
    res = {"outputs": 0, "by_format": {}, "decode_s": 0.0, "convert_s": 0.0, "encode_s": 0.0}
    if not widths:
        return res
    t0 = time.perf_counter()
    im = Image.open(src)
    W, H = im.size
    sizes = [(w, max(1, round(w * H / W))) for w in widths]
    if im.format == "JPEG":
        im.draft("RGB" if im.mode in ("RGB", "YCbCr") else im.mode, max(sizes))
    im.load()
    t1 = time.perf_counter()
    res["decode_s"] = t1 - t0
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    converted = {}
    for fmt in formats:
        m = _target_mode(fmt, im.mode)
        if m not in converted:
            converted[m] = im if im.mode == m else im.convert(m)
    t2 = time.perf_counter()
    res["convert_s"] = t2 - t1
    dw, dh = im.size
    stem = os.path.splitext(os.path.basename(src))[0]
    for w, h in sizes:
        box = ((dw - w) // 2, (dh - h) // 2, (dw - w) // 2 + w, (dh - h) // 2 + h)
        for fmt in formats:
            tile = converted[_target_mode(fmt, im.mode)].crop(box)
            path = os.path.join(out_dir, f"{stem}-{w}{EXT[fmt]}")
            tile.save(path, **encode_options(fmt, quality))
            c = res["by_format"].setdefault(fmt, {"count": 0, "bytes": 0})
            c["count"] += 1
            c["bytes"] += os.path.getsize(path)
            res["outputs"] += 1
    res["encode_s"] = time.perf_counter() - t2
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Pillow decode+encode floor (see module docstring)")
    ap.add_argument("jobs")
    ap.add_argument("out_dir")
    ap.add_argument("--formats", default="jpeg,webp")
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--processes", type=int, default=2)
    a = ap.parse_args(argv)
    with open(a.jobs) as f:
        jobs = json.load(f)
    sizes = {}
    for j in jobs:
        with Image.open(j["src"]) as im:
            sizes[j["src"]] = im.width * im.height
    jobs.sort(key=lambda j: -sizes[j["src"]])  # largest first: the best schedule
    formats = a.formats.split(",")
    os.makedirs(a.out_dir, exist_ok=True)
    work = [dict(j, formats=formats, quality=a.quality, out_dir=a.out_dir) for j in jobs]
    t0 = time.perf_counter()
    total = {"outputs": 0, "by_format": {}, "decode_s": 0.0, "convert_s": 0.0, "encode_s": 0.0}
    with mp.get_context("fork").Pool(a.processes) as pool:
        for r in pool.imap_unordered(render, work, chunksize=1):
            total["outputs"] += r["outputs"]
            for k in ("decode_s", "convert_s", "encode_s"):
                total[k] += r[k]
            for fmt, c in r["by_format"].items():
                t = total["by_format"].setdefault(fmt, {"count": 0, "bytes": 0})
                t["count"] += c["count"]
                t["bytes"] += c["bytes"]
    total.update(tool="floor (Pillow)", pillow=Image.__version__, sources=len(jobs),
                 formats=formats, quality=a.quality, processes=a.processes,
                 bytes=sum(c["bytes"] for c in total["by_format"].values()),
                 elapsed_ms=(time.perf_counter() - t0) * 1000)
    sys.stdout.write(json.dumps(total) + "\n")
    return 0


# ----------------------------------------------------- used by bench/run.py ---

def run_floor(sources, out_dir, formats=("jpeg", "webp"), quality=90, widths=None,
              processes: int = 2, timeout_s: float | None = 3600) -> dict:
    """Run this file as a measured child process (see measure.py; s, bytes).
    Returns {"measure", "summary", "tree"} like peer.run_peer."""
    import shutil
    from pathlib import Path

    from corpus import WIDTHS
    from measure import run_child, tree_bytes
    from peer import write_jobs

    out_dir = Path(out_dir).resolve()
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    jobs = write_jobs(sources, out_dir.with_name(out_dir.name + "-jobs.json"), widths or WIDTHS)
    m = run_child([sys.executable, os.path.abspath(__file__), jobs, out_dir,
                   "--formats", ",".join(formats), "--quality", str(quality),
                   "--processes", str(processes)], timeout_s=timeout_s).check("floor run")
    summary = json.loads(m.stdout.strip().splitlines()[-1])
    return {"measure": m, "summary": summary, "tree": tree_bytes(out_dir)}


if __name__ == "__main__":
    sys.exit(main())

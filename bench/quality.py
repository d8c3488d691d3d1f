"""Pixel quality of every output: SSIM against a reference resize of the full-resolution source.

A speed-up that costs sharpness must show, so the build section scores each tool's outputs:

* **reference** (:func:`reference`): the source decoded at full resolution with the
  pipeline's own ``decode`` (EXIF orientation applied, ICC profile converted to sRGB — what
  every tool is expected to do), resized in one step to the output's exact size with Pillow's
  Lanczos and no ``reducing_gap`` (no box pre-reduction, no JPEG DCT scaling), alpha
  premultiplied while resampling;
* **output**: the file decoded by Pillow;
* both composited over black (the pipeline's and sharp's JPEG background for transparent
  sources) to RGB;
* **SSIM** (:func:`ssim`): ``skimage.metrics.structural_similarity`` with the parameters of
  Wang et al. 2004 (Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, population covariance,
  data range 255), averaged over the R, G, B channels. 1.0 is identical; JPEG/WebP at
  quality 90 of a good resize typically scores 0.95–0.99.

An output whose size differs from the reference's by a rounding pixel (tools round heights
differently) is compared with a reference of its own size.

Sources are matched to outputs by the tools' own records: ours through ``manifest.json``
(``images[tag].source`` is ``media/NAME`` and NAME is the corpus file's name), eleventy-img
through run.mjs's summary (``files``: source and output path of every output).
Needs scikit-image (requirements-dev.txt).
"""

from __future__ import annotations

import statistics
import sys
from functools import lru_cache
from pathlib import Path

from corpus import REPO_DIR, WIDTHS

sys.path.insert(0, str(REPO_DIR))


@lru_cache(maxsize=2)
def _full(path: str):
    from pipeline.imaging.decode import decode
    image = decode(Path(path).read_bytes())
    return image.convert("RGBa") if image.mode == "RGBA" else image


def _rgb(image):
    """An ``RGB`` image: alpha composited over black."""
    from PIL import Image
    if image.mode == "RGBa":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        canvas = Image.new("RGB", image.size, (0, 0, 0))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")


def reference(source: str, size: tuple[int, int]):
    """The reference of ``source`` (a path) at ``size`` (w, h px): an ``RGB`` Pillow image."""
    from PIL import Image
    full = _full(source)
    return _rgb(full.resize(size, Image.Resampling.LANCZOS, reducing_gap=None))


def ssim(a, b) -> float:
    """SSIM of two same-size ``RGB`` Pillow images (mean over channels), 0–1."""
    import numpy as np
    from skimage.metrics import structural_similarity
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        raise ValueError(f"sizes differ: {a.size} and {b.size}")
    if min(x.shape[:2]) < 7:   # below the 7-px window: fall back to equality of means
        return float(1.0 - abs(x.mean() - y.mean()) / 255)
    return float(structural_similarity(x, y, channel_axis=2, data_range=255, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def score(source: str, output: str | Path) -> dict:
    """``{"width", "height", "ssim"}`` of one output file against the reference of ``source``."""
    from PIL import Image
    with Image.open(output) as im:
        im.load()
        out = _rgb(im)
    return {"width": out.width, "height": out.height, "ssim": ssim(out, reference(source, out.size))}


def ours_files(out_dir: Path, sources) -> list[tuple[str, str, str]]:
    """(source path, output path, format) of ours' rendered outputs, from the manifest."""
    from pipeline.outputs import manifest
    by_name = {Path(s.path).name: s.path for s in sources}
    files = []
    for image in manifest.read(out_dir).images.values():
        src = by_name.get(Path(image.source).name)
        if src is None:
            continue
        for d in image.derivatives:
            if not d.original:
                files.append((src, str(Path(out_dir) / d.file), d.format.lower().replace("jpg", "jpeg")))
    return files


def peer_files(summary: dict) -> list[tuple[str, str, str]]:
    """(source path, output path, format) of eleventy-img's outputs, from run.mjs's summary."""
    return [(f["src"], f["path"], f["format"]) for f in summary.get("files", [])]


def score_all(files: list[tuple[str, str, str]]) -> list[dict]:
    """Score every (source, output, format); grouped by source so each is decoded once."""
    rows = []
    for src, path, fmt in sorted(files):
        rows.append({"source": Path(src).name, "file": path, "format": fmt, **score(src, path)})
    return rows


def rung(width: int) -> int:
    """The benchmark width an output answers: 160, 400, or 1280 (the largest, which is the
    source's own width when that is narrower)."""
    return width if width in WIDTHS[:-1] else WIDTHS[-1]


def summarize(rows: list[dict]) -> dict[tuple[str, int], dict]:
    """(format, rung) -> {"n", "mean", "min"} of the rows' SSIM."""
    groups: dict[tuple[str, int], list[float]] = {}
    for r in rows:
        groups.setdefault((r["format"], rung(r["width"])), []).append(r["ssim"])
    return {k: {"n": len(v), "mean": statistics.fmean(v), "min": min(v)} for k, v in sorted(groups.items())}


def compare(ours: list[dict], theirs: list[dict]) -> dict:
    """Pair outputs by (source, format, rung): ``{"pairs", "mean_delta" (ours − theirs),
    "worse" (pairs where ours is lower by more than 0.005), "worst" (the lowest pair)}``."""
    key = lambda r: (r["source"], r["format"], rung(r["width"]))  # noqa: E731
    theirs_by = {key(r): r for r in theirs}
    deltas = [(r["ssim"] - theirs_by[key(r)]["ssim"], key(r)) for r in ours if key(r) in theirs_by]
    if not deltas:
        return {"pairs": 0}
    worst = min(deltas)
    return {"pairs": len(deltas), "mean_delta": statistics.fmean(d for d, _ in deltas),
            "worse": sum(1 for d, _ in deltas if d < -0.005), "worst": {"delta": worst[0], "output": worst[1]}}

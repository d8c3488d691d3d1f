"""The benchmark corpus: real large photographs, cached in bench/.cache/.

Sources, in this order (the order ``--limit N`` cuts in):
  1. the sample library /work/shared/sample-media/*.jpg|*.png;
  2. the JPEG/PNG files of Debian wallpaper packages (``WALLPAPER_PACKAGES``),
     fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into
     a temporary folder under bench/.cache/ (deleted after the scan);
     package by package, files sorted by path.
Kept: files Pillow opens as JPEG or PNG whose width is >= ``MIN_WIDTH`` px
(1000); byte-identical duplicates are dropped (first one wins).

Every kept file is copied into bench/.cache/corpus/ (so later hard links never
point into the shared sample library or into a package tree) and listed in
bench/.cache/corpus.json; both are reused on the next run. Sizes are in pixels
and bytes; ``megapixels`` is width*height/1e6.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
SAMPLE_DIR = Path("/work/shared/sample-media")
MIN_WIDTH = 1000  # px

# Debian (bookworm) packages with large JPEG/PNG wallpapers. Missing ones are
# skipped with a message. Download sizes (.deb, fetched once; only the kept
# images stay, in .cache/corpus/): mate-backgrounds 47 MB,
# lomiri-wallpapers-20.04 11 MB, lomiri-wallpapers-16.04 16 MB,
# ukui-wallpapers 21 MB, plasma-workspace-wallpapers 94 MB.
WALLPAPER_PACKAGES = [
    "mate-backgrounds",
    "lomiri-wallpapers-20.04",
    "lomiri-wallpapers-16.04",
    "ukui-wallpapers",
    "plasma-workspace-wallpapers",
]
# Not used: gnome-backgrounds 43 ships only WebP/SVG/JXL; desktop-base's
# images are mostly flat GRUB/Plymouth artwork; ubuntu-wallpapers-* and
# kde-wallpapers do not exist in Debian bookworm.

# Widths (px) and formats of the benchmark's work, for every tool.
WIDTHS = (160, 400, 1280)
QUALITY = 90


@dataclasses.dataclass(frozen=True)
class Source:
    """One corpus image. ``path`` is absolute, in bench/.cache/corpus/."""

    path: str
    width: int  # px
    height: int  # px
    bytes: int
    format: str  # "jpeg" | "png"
    mode: str  # Pillow mode, e.g. RGB, RGBA, LA
    sha256: str
    origin: str  # "sample-media" or the Debian package name

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


def plan_widths(width: int, widths=WIDTHS) -> list[int]:
    """Output widths (px) for a source ``width`` px wide, ascending, without
    upscaling: a requested width larger than the source becomes the source's
    own width (duplicates dropped). This is what both tools do on their own:
    eleventy-img's ``getValidWidths`` (default ``minimumThreshold`` 1.25: for
    sources >= 1000 px wide the 1280 request always yields one output at the
    source width) and the pipeline's ``maxWidth`` (sizing.output_size never
    upscales). The peer and the floor get this list per source."""
    return sorted({min(w, width) for w in widths})


def plan_outputs(src: Source, widths=WIDTHS, formats=("jpeg", "webp")) -> list[tuple[str, int, int]]:
    """(format, width px, height px) of every output of ``src``; the height
    keeps the aspect ratio, rounded (at least 1)."""
    return [(fmt, w, max(1, round(w * src.height / src.width)))
            for w in plan_widths(src.width, widths) for fmt in formats]


def _log(msg: str) -> None:
    print(f"[corpus] {msg}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _probe(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format not in ("JPEG", "PNG"):
                return None
            return im.format.lower(), im.width, im.height, im.mode
    except Exception:
        return None


def _package_available(pkg: str) -> bool:
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg],
                       capture_output=True, text=True)
    return r.returncode == 0 and "Package:" in r.stdout


def fetch_package(pkg: str, workdir: Path) -> Path | None:
    """Download one Debian package and unpack it into ``workdir``/PKG.

    Returns the unpacked folder, or None (with a message) when the package does
    not exist here or cannot be fetched. The caller deletes ``workdir``.
    """
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        _log(f"skip {pkg}: apt-get/dpkg-deb not found")
        return None
    if not _package_available(pkg):
        if os.geteuid() == 0 and not getattr(fetch_package, "_updated", False):
            _log("apt-cache does not know the package: running apt-get update once")
            subprocess.run(["apt-get", "update"], capture_output=True)
            fetch_package._updated = True  # type: ignore[attr-defined]
        if not _package_available(pkg):
            _log(f"skip {pkg}: no such Debian package here (apt-cache show failed)")
            return None
    debs = workdir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    _log(f"apt-get download {pkg}")
    r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    if r.returncode != 0 or not found:
        _log(f"skip {pkg}: apt-get download failed: {r.stderr.strip()[-300:]}")
        return None
    dest = workdir / pkg
    r = subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(dest)], capture_output=True, text=True)
    found[-1].unlink()
    if r.returncode != 0:
        _log(f"skip {pkg}: dpkg-deb -x failed: {r.stderr.strip()[-300:]}")
        return None
    return dest


def _candidates(root: Path):
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files):
            if name.lower().endswith((".jpg", ".jpeg", ".png")):
                p = Path(dirpath, name)
                if p.is_file() and not p.is_symlink():
                    yield p


def build_corpus(packages=WALLPAPER_PACKAGES, cache: Path = CACHE_DIR,
                 sample_dir: Path = SAMPLE_DIR, limit: int | None = None,
                 refresh: bool = False) -> list[Source]:
    """Return the corpus (first ``limit`` sources), fetching what is missing.

    The manifest is rebuilt when ``refresh`` is true or the package list
    changed. Fetching stops early once ``limit`` sources are known.
    """
    manifest = cache / "corpus.json"
    store = cache / "corpus"
    if manifest.exists() and not refresh:
        data = json.loads(manifest.read_text())
        if data.get("packages") == list(packages):
            srcs = [Source(**s) for s in data["sources"]]
            # a complete manifest serves any limit; a partial one (written by
            # a run with --limit) serves limits up to its length
            usable = data.get("complete") or (limit and len(srcs) >= limit)
            if usable and all(Path(s.path).exists() for s in srcs[:limit or None]):
                return srcs[:limit] if limit else srcs
    store.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    sources: list[Source] = []

    def add(p: Path, origin: str) -> None:
        probe = _probe(p)
        if probe is None:
            return
        fmt, w, h, mode = probe
        if w < MIN_WIDTH:
            return
        digest = _sha256(p)
        if digest in seen:
            return
        seen.add(digest)
        ext = ".jpg" if fmt == "jpeg" else ".png"
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in p.stem)[:60]
        dst = store / f"{len(sources) + 1:04d}-{stem}{ext}"
        if not dst.exists() or dst.stat().st_size != p.stat().st_size:
            shutil.copyfile(p, dst)
        sources.append(Source(str(dst), w, h, dst.stat().st_size, fmt, mode, digest, origin))

    def full() -> bool:
        return bool(limit) and len(sources) >= limit

    if sample_dir.is_dir():
        for p in _candidates(sample_dir):
            add(p, "sample-media")
            if full():
                break
    else:
        _log(f"no sample library at {sample_dir}")
    complete = True
    for pkg in packages:
        if full():
            complete = False
            break
        with tempfile.TemporaryDirectory(dir=cache, prefix="unpack-") as tmp:
            root = fetch_package(pkg, Path(tmp))
            if root is None:
                continue
            n0 = len(sources)
            for p in _candidates(root):
                add(p, pkg)
                if full():
                    break
            _log(f"{pkg}: {len(sources) - n0} sources kept")
    if full():
        complete = False
    # A partial manifest (stopped by --limit) is written too but not reused
    # for a larger limit: "complete" tells.
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({"packages": list(packages), "complete": complete,
                               "min_width": MIN_WIDTH,
                               "sources": [dataclasses.asdict(s) for s in sources]}, indent=1))
    tmp.replace(manifest)
    return sources[:limit] if limit else sources


def describe(sources: list[Source]) -> str:
    """One line: count, total megapixels, bytes, formats."""
    mp = sum(s.megapixels for s in sources)
    mb = sum(s.bytes for s in sources) / 1e6
    fmts = {}
    for s in sources:
        fmts[s.format] = fmts.get(s.format, 0) + 1
    biggest = max(sources, key=lambda s: s.width * s.height) if sources else None
    extra = f", largest {biggest.width}x{biggest.height}" if biggest else ""
    return (f"{len(sources)} sources, {mp:.1f} MP total, {mb:.1f} MB "
            f"({', '.join(f'{v} {k}' for k, v in sorted(fmts.items()))}){extra}")


def source_digests(sources: list[Source]) -> dict[int, set[str]]:
    """size in bytes -> sha256 digests, for :func:`measure.tree_bytes`."""
    d: dict[int, set[str]] = {}
    for s in sources:
        d.setdefault(s.bytes, set()).add(s.sha256)
    return d


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int)
    ap.add_argument("--refresh", action="store_true")
    a = ap.parse_args()
    srcs = build_corpus(limit=a.limit, refresh=a.refresh)
    for s in srcs:
        print(f"{s.width:5d}x{s.height:<5d} {s.mode:5s} {s.bytes:>9d} {s.origin:28s} {Path(s.path).name}")
    print(describe(srcs))

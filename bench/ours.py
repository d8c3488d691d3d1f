"""Our pipeline (dodo.py + pipeline/) run by the benchmark: catalogs, builds, rebuilds.

The pipeline is run exactly as a user runs it, from the repository root:
    .venv/bin/doit -n JOBS catalog=CATALOG.yaml output=OUTDIR
as one measured child process (measure.py: times in s, memory in bytes; CPU
time includes doit's worker processes). doit keeps its state in
OUTDIR/.cache/ (dodo.py's ``dep_file``), so a fresh OUTDIR is a full build.

Catalogs are written into a work folder that holds the sources (catalog paths
must stay inside the catalog's folder): WORK/catalog.yaml and WORK/media/,
whose files are hard links to bench/.cache/corpus/ (copies if linking fails)
or, for the rebuild figures, unique variants (see :func:`unique_variant`).
Every item is a ``Movie`` with one ``Primary`` image; the settings give every
type the same work as the peer (sizes maxWidth 160/400/1280, formats, quality
90). The pipeline also copies each original as-is; those files are recognised
by content (sha256 equal to a source's) and counted apart.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

import yaml

from corpus import CACHE_DIR, QUALITY, REPO_DIR, WIDTHS, Source, source_digests
from measure import Measurement, run_child, tree_bytes

DOIT = REPO_DIR / ".venv" / "bin" / "doit"
PIPELINE_FORMAT = {"jpeg": "Jpg", "webp": "Webp", "avif": "Avif"}
PAINTING = "Painting-Colors_by__herobrine7gamer"  # the 6000x4000 sample

_SUMMARY = re.compile(r"build: (\d+) sources \((\d+) rendered, (\d+) up to date, (\d+) failed\), "
                      r"(\d+) files written")


def _log(msg: str) -> None:
    print(f"[ours] {msg}", file=sys.stderr, flush=True)


def settings_block(formats=("jpeg", "webp"), quality: int = QUALITY, widths=WIDTHS) -> dict:
    """The catalog ``settings`` giving every ImageType the benchmark's work."""
    return {
        "quality": quality,
        "qualities": [quality],
        "formats": [PIPELINE_FORMAT[f] for f in formats],
        "sizes": [{"maxWidth": list(widths)}],
    }


def write_catalog(workdir: Path, media: list[Path], formats=("jpeg", "webp"),
                  quality: int = QUALITY, widths=WIDTHS) -> Path:
    """Write WORKDIR/catalog.yaml with one Movie per file in ``media`` (paths
    inside WORKDIR); ids bench0001…; returns the catalog path."""
    items = [{"id": f"bench{i:04d}", "name": f"bench {i}", "type": "Movie",
              "images": {"Primary": p.relative_to(workdir).as_posix()}}
             for i, p in enumerate(media, 1)]
    catalog = workdir / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"settings": settings_block(formats, quality, widths),
                                       "items": items}, sort_keys=False))
    return catalog


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def link_media(sources: list[Source], workdir: Path) -> list[Path]:
    """WORKDIR/media/NAME hard links to the corpus files (fresh folder)."""
    media = workdir / "media"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True)
    out = []
    for s in sources:
        dst = media / Path(s.path).name
        _link_or_copy(Path(s.path), dst)
        out.append(dst)
    return out


def unique_variant(data: bytes, fmt: str, marker: bytes) -> bytes:
    """``data`` with ``marker`` embedded so that its bytes (and so the
    pipeline's content tag) differ while the pixels stay the same: a JPEG COM
    segment after the APPn segments (JFIF, EXIF, ICC stay first), or a PNG
    tEXt chunk right before IEND."""
    if fmt == "jpeg":
        assert data[:2] == b"\xff\xd8"
        pos = 2
        while data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:
            pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        com = b"\xff\xfe" + struct.pack(">H", len(marker) + 2) + marker
        return data[:pos] + com + data[pos:]
    if fmt == "png":
        iend = data.rindex(b"IEND") - 4
        body = b"tEXt" + b"bench\0" + marker
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:iend] + chunk + data[iend:]
    raise ValueError(fmt)


def variant_media(sources: list[Source], workdir: Path, count: int) -> list[Path]:
    """WORKDIR/media/NNNN-NAME: ``count`` files cycling through ``sources``,
    each a unique variant (distinct bytes, same pixels) so that the pipeline
    sees ``count`` distinct sources (it de-duplicates identical content)."""
    media = workdir / "media"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True)
    out = []
    cache: dict[str, bytes] = {}
    for i in range(count):
        s = sources[i % len(sources)]
        data = cache.setdefault(s.path, Path(s.path).read_bytes())
        dst = media / f"{i + 1:04d}-{Path(s.path).name}"
        dst.write_bytes(unique_variant(data, s.format, f"bench variant {i + 1}".encode()))
        out.append(dst)
    return out


def byte_compile() -> None:
    """Write the ``__pycache__`` bytecode of ``pipeline/`` (and dodo.py's imports) as
    ``pip install`` does for an installed package, so a timed build does not compile ~60
    modules from source first: with ``PYTHONDONTWRITEBYTECODE`` set (as in some sandboxes
    and containers) every doit run would, ~0.04 s of its serial start (bench/RESULTS.md).
    Idempotent and quiet; ``compileall`` writes even when that variable is set."""
    import compileall
    compileall.compile_dir(REPO_DIR / "pipeline", quiet=2)


def run_doit(catalog: Path, out_dir: Path, jobs: int = 2,
             timeout_s: float | None = 7200) -> Measurement:
    """One ``doit -n JOBS catalog=… output=…`` from the repository root (the package
    byte-compiled first: ``byte_compile``)."""
    if not DOIT.exists():
        raise RuntimeError(f"{DOIT} not found: create the venv (requirements.txt) first")
    if not (REPO_DIR / "dodo.py").exists():
        raise RuntimeError(f"{REPO_DIR / 'dodo.py'} not found: the pipeline is not there yet")
    byte_compile()
    return run_child([DOIT, "-n", str(jobs), f"catalog={catalog}", f"output={out_dir}"],
                     cwd=REPO_DIR, timeout_s=timeout_s)


def build_summary(m: Measurement) -> dict:
    """The pipeline reporter's closing line, parsed (empty dict if absent)."""
    found = _SUMMARY.findall(m.stdout + m.stderr)
    if not found:
        return {}
    total, rendered, uptodate, failed, files = map(int, found[-1])
    return {"sources": total, "rendered": rendered, "up_to_date": uptodate,
            "failed": failed, "files_written": files}


def _doit_error(m: Measurement) -> str:
    text = (m.stderr.strip() or m.stdout.strip()).splitlines()
    return "\n".join(text[-12:])


def run_ours(sources: list[Source], base: Path, formats=("jpeg", "webp"),
             quality: int = QUALITY, widths=WIDTHS, jobs: int = 2) -> dict:
    """Full build of ``sources`` into a fresh BASE/out (work folder BASE/work).

    Returns {"measure", "summary" (reporter line), "tree" (TreeBytes, originals
    counted apart)}; raises RuntimeError with doit's message on failure (e.g. a
    format the pipeline does not know yet)."""
    base = Path(base).resolve()
    work, out = base / "work", base / "out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    catalog = write_catalog(work, link_media(sources, work), formats, quality, widths)
    m = run_doit(catalog, out, jobs)
    if not m.ok:
        raise RuntimeError(f"doit exited {m.returncode}:\n{_doit_error(m)}")
    return {"measure": m, "summary": build_summary(m),
            "tree": tree_bytes(out, source_digests(sources))}


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """relative path -> (inode, mtime ns, size) of the files under ``root``,
    except its own .cache/ (doit state, probe cache)."""
    snap = {}
    root = Path(root)
    for dirpath, dirnames, files in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != ".cache"]
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            snap[os.path.relpath(p, root)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return snap


def files_written(before: dict, after: dict) -> int:
    """Files new or replaced between two snapshots."""
    return sum(1 for k, v in after.items() if before.get(k) != v)


def rebuild_figures(sources: list[Source], base: Path, count: int = 1000,
                    formats=("jpeg", "webp"), jobs: int = 2, keep: bool = False) -> dict:
    """The no-op and one-changed-source rebuild figures on ``count`` sources.

    1. WORK/media gets ``count`` unique variants cycling through ``sources``
       and a catalog of ``count`` Movies; ``doit -n JOBS`` builds it (the
       "initial" figure: a full build of ``count`` sources);
    2. the same command again: the no-op rebuild ("noop");
    3. one source (the first item's file) gets new bytes — a new embedded
       marker, written to a temporary file and renamed over it, so a new mtime
       too — and the command runs again ("changed").
    Returns {"initial", "noop", "changed"}: each {"measure", "summary",
    "files_touched" (output files new or replaced by that run, .cache/ aside)}.
    BASE/work and BASE/out are deleted afterwards unless ``keep``.
    """
    base = Path(base).resolve()
    work, out = base / "work", base / "out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _log(f"writing {count} source variants into {work / 'media'}")
    media = variant_media(sources, work, count)
    catalog = write_catalog(work, media, formats)
    res = {}
    try:
        for step in ("initial", "noop", "changed"):
            if step == "changed":
                first = sources[0]
                data = unique_variant(Path(first.path).read_bytes(), first.format, b"bench changed")
                tmp = media[0].with_name(media[0].name + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(media[0])
            before = snapshot(out) if out.exists() else {}
            _log(f"{step}: doit -n {jobs} on {count} sources")
            m = run_doit(catalog, out, jobs)
            if not m.ok:
                raise RuntimeError(f"{step} build: doit exited {m.returncode}:\n{_doit_error(m)}")
            res[step] = {"measure": m, "summary": build_summary(m),
                         "files_touched": files_written(before, snapshot(out))}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
    return res


def worker_rss(base: Path, source: Path | None = None, formats=("jpeg", "webp")) -> dict:
    """Peak RSS of one worker rendering one source (default: the 6000x4000
    sample): a one-item catalog built with ``doit -n 1`` (doit then renders in
    its own process, so ``ru_maxrss`` of that child is the worker's peak,
    including doit's and the interpreter's own memory). Returns {"measure",
    "summary", "source"}."""
    base = Path(base).resolve()
    if source is None:
        found = sorted((CACHE_DIR / "corpus").glob(f"*{PAINTING}.jpg"))
        source = found[0] if found else Path("/work/shared/sample-media") / f"{PAINTING}.jpg"
    work, out = base / "work", base / "out"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    (work / "media").mkdir(parents=True)
    dst = work / "media" / Path(source).name
    _link_or_copy(Path(source), dst)
    catalog = write_catalog(work, [dst], formats)
    m = run_doit(catalog, out, jobs=1)
    if not m.ok:
        raise RuntimeError(f"doit exited {m.returncode}:\n{_doit_error(m)}")
    return {"measure": m, "summary": build_summary(m), "source": str(source)}

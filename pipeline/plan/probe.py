"""Probe each source image once: content hash, upright size, format, alpha.

A probe reads the file and its header only (no pixels are decoded: decoding happens once, in
the render task, which also computes the BlurHash). A file that is not an image is found here
and fails only its own image; one that fails later, while decoding, is handled by the render
task and the objects step. Results are cached in ``output/.cache/probe.json`` by (path, size,
mtime): a no-op build re-reads nothing.
"""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline import RENDERER_VERSION
from pipeline.imaging.decode import open_image, upright_size
from pipeline.errors import SourceError
from pipeline.model.formats import FORMATS, source_format
from pipeline.store.atomic import atomic_write_bytes

_CACHE_VERSION = f"3/{RENDERER_VERSION}"


@dataclass(frozen=True)
class Probe:
    """What the plan needs to know of one source file.

    ``md5``: hex of the file bytes; ``size``: bytes; ``width``/``height``: upright pixels;
    ``format``: the API format of the file (``Jpg``, ``Png``…; for a file in another format
    such as TIFF, the format it is published in, and ``native`` is False); ``alpha``: its mode
    has an alpha channel or a transparent colour; ``blurhash``: BlurHash string, filled in from
    the render task's record (empty in a fresh probe); ``error``: why the file cannot be used
    (then the other fields are empty).
    """

    md5: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    format: str = ""
    alpha: bool = False
    blurhash: str = ""
    error: str = ""
    native: bool = True


def probe_bytes(data: bytes) -> Probe:
    """Probe encoded image bytes (header only). Never raises for bad data: the error is in
    ``Probe.error``."""
    md5 = hashlib.md5(data).hexdigest()
    try:
        header = open_image(data)
        width, height = upright_size(header)
    except SourceError as exc:
        return Probe(md5=md5, size=len(data), error=str(exc))
    if width <= 0 or height <= 0:
        return Probe(md5=md5, size=len(data), error=f"image has no pixels ({width}x{height})")
    fmt = header.format
    alpha = "A" in header.mode or "transparency" in header.info
    published = source_format(fmt, alpha)
    native = FORMATS[published].pillow == fmt or (published == "Jpg" and fmt == "MPO")
    return Probe(md5, len(data), width, height, published, alpha, native=native)


def probe_file(path: Path) -> Probe:
    """Probe one file; a missing or unreadable file gives a ``Probe`` with ``error`` set."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Probe(error=f"cannot read file: {exc.strerror}")
    return probe_bytes(data)


def probe_all(paths: list[Path], cache_file: Path, progress=None, save: bool = True) -> dict[Path, Probe]:
    """Probe every path, reusing ``cache_file`` entries whose size and mtime still match.

    Uncached files are probed in a thread pool (reading and hashing release the GIL).
    ``progress(done, total)`` is called as files finish. The cache is rewritten atomically
    (unless ``save`` is False: ``doit list`` must not create the output folder).
    """
    cache = _read_cache(cache_file)
    results: dict[Path, Probe] = {}
    todo = []
    stats = {}
    for path in dict.fromkeys(paths):
        try:
            st = path.stat()
            stats[path] = [st.st_size, st.st_mtime_ns]
        except OSError:
            stats[path] = None
        entry = cache.get(str(path))
        try:
            if stats[path] and entry["stat"] == stats[path]:
                results[path] = Probe(**entry["probe"])
                continue
        except (KeyError, TypeError):
            pass  # absent or malformed entry: probe again
        todo.append(path)
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for n, (path, result) in enumerate(zip(todo, pool.map(probe_file, todo)), 1):
                results[path] = result
                if progress:
                    progress(n, len(todo))
    if todo and save:
        entries = {str(p): {"stat": stats[p], "probe": asdict(results[p])}
                   for p in results if stats.get(p) and not results[p].error.startswith("cannot read")}
        atomic_write_bytes(cache_file, json.dumps({"version": _CACHE_VERSION, "entries": entries},
                                                  sort_keys=True).encode())
    return results


def _read_cache(cache_file: Path) -> dict:
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}

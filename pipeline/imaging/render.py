"""Render every derivative of one source image (one render job per source).

``render(source plan, source bytes) -> Rendered`` is pure: ``(relpath, bytes)`` pairs plus the
render record (BlurHash or error); ``write_rendered`` puts them into a ``store.Store``, the
record last. ``render_source`` does both for one ``SourcePlan``. Rendering: decode once at the smallest JPEG scale that covers
the largest derivative, orient, convert to sRGB (``decode``), then make each size from the
smallest already-made larger image (a resize cascade, Lanczos-3 with libvips: ``resize``,
alpha premultiplied while resampling), draw each derivative's decoration (``overlays``) at its
output size, and encode each (format, quality) on a small thread pool (``ENCODE_THREADS``: Pillow
releases the GIL while encoding, pyvips while resampling, so the next size is resized while the previous
ones encode). The store writes each file atomically. Output is
deterministic: the same inputs give byte-identical files. Animated sources (GIF, WebP) give
their first frame in every rendered derivative; only the ``original`` copy keeps the animation.
"""

import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import blurhash
from PIL import Image

from pipeline.model import layout
from pipeline.store import Store, as_store
from pipeline.imaging.decode import decode
from pipeline.errors import SourceError
from pipeline.model.formats import FORMATS
from pipeline.imaging.overlays import decorate
from pipeline.imaging.resize import Resizer
from pipeline.plan.planner import Derivative, SourcePlan

#: Encoder threads inside one render job (bench/RESULTS.md: balances a parallel build's tail).
ENCODE_THREADS = min(4, os.cpu_count() or 1)


def flatten(image: Image.Image, background_color: tuple[int, int, int]) -> Image.Image:
    """An ``RGBA`` image composited over ``background_color`` (RGB 0–255), as ``RGB``; any
    other image unchanged."""
    if image.mode != "RGBA":
        return image
    canvas = Image.new("RGB", image.size, background_color)
    canvas.paste(image, mask=image.getchannel("A"))
    return canvas


def encode(image: Image.Image, format: str, quality: int | None,
           background_color: tuple[int, int, int]) -> bytes:
    """Encode an ``RGB``/``RGBA`` image to ``format`` (API name) at ``quality`` (0–100, lossy only).

    Formats without alpha (Jpg, Bmp) get transparent pixels composited over
    ``background_color`` (RGB 0–255; seed 000 "backgroundColor", Jellyfin's result is black).
    No metadata is written; pixels are sRGB. Raises KeyError for an unknown format.
    """
    spec = FORMATS[format]
    if not spec.alpha:
        image = flatten(image, background_color)
    buffer = io.BytesIO()
    if format == "Jpg":
        image.save(buffer, "JPEG", quality=quality, optimize=True)
    elif format == "Webp":
        image.save(buffer, "WEBP", quality=quality, method=4)
    elif format == "Png":
        image.save(buffer, "PNG", compress_level=6)
    elif format == "Avif":
        image.save(buffer, "AVIF", quality=quality, speed=8)
    else:
        image.save(buffer, spec.pillow)
    return buffer.getvalue()


#: Long side of the thumbnail a BlurHash is computed on (``image_blurhash``); a render hashes
#: the smallest whole-picture size it made whose short side is at least this, else the decode.
BLURHASH_SIDE = 64


def image_blurhash(image: Image.Image) -> str:
    """BlurHash of an upright sRGB image (4×3 components for landscape, 3×4 for portrait),
    computed on a ≤ 64 px thumbnail (``BLURHASH_SIDE``; Jellyfin's SkiaEncoder hashes a
    ≤ 128 px one). ``render`` passes the smallest aspect-keeping size it resized (e.g. the
    160 px rung) rather than the full decode: the same picture, ~0.06 CPU s less per 24
    bench sources (bench/RESULTS.md)."""
    small = image.copy() if max(image.size) <= BLURHASH_SIDE else image.resize(
        _fit(image.size, BLURHASH_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    x, y = (4, 3) if image.width >= image.height else (3, 4)
    return blurhash.encode(small.convert("RGB"), x_components=x, y_components=y)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


@dataclass(frozen=True)
class Rendered:
    """What rendering one source produced: ``files``, ``(relpath, bytes)`` pairs under the
    output root (``model.layout`` paths), and ``record``, the render record: ``{"blurhash": str}``
    or ``{"error": "relpath: reason"}`` (then ``files`` is empty)."""

    files: tuple[tuple[str, bytes], ...]
    record: dict

    @property
    def error(self) -> str | None:
        return self.record.get("error")


def render(source: SourcePlan, data: bytes) -> Rendered:
    """Pure: every derivative of ``source`` from the source's bytes ``data``.

    Decodes once (``decode``), makes each size by the resize cascade, decorates and encodes; the
    ``original`` derivative is ``data`` itself. A source that cannot be decoded or encoded
    (truncated, corrupt) does not raise: the record says why and no file is produced. Same
    inputs give the same bytes on every machine. Touches no file.
    """
    return recorded(source.relpath, lambda: _render(source, data))


def recorded(relpath: str, work) -> Rendered:
    """``Rendered`` from ``work() -> (files, blurhash or None)``; a ``SourceError`` it raises
    becomes the record ``{"error": "relpath: reason"}`` with no files."""
    try:
        files, blurhash = work()
    except SourceError as exc:
        return Rendered((), {"error": f"{relpath}: {exc}"})
    return Rendered(tuple(files), {"blurhash": blurhash} if blurhash else {})


def record_bytes(record: dict) -> bytes:
    """The bytes of ``images/{tag}/render.json`` for a render record."""
    return json.dumps(record, sort_keys=True).encode()


def write_rendered(store: Store, tag: str, rendered: Rendered) -> dict:
    """Put every file of ``rendered`` into ``store``, then the render record (last: a tag
    whose record exists has all its files, so a killed build never leaves a tag that looks
    done). Returns doit values ``{"files": n, "bytes": total}`` (+ ``"blurhash"`` or
    ``"error"``)."""
    written = sum(store.put(relpath, payload) for relpath, payload in rendered.files)
    store.put(layout.render_record_file(tag), record_bytes(rendered.record))
    return {"files": len(rendered.files), "bytes": written, **rendered.record}


def read_source(path: Path, relpath: str, md5: str) -> bytes:
    """The bytes of a source, checked against the MD5 it was planned with. Raises
    ``SourceError`` when the file vanished or changed since planning (its tag would lie)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{relpath}: cannot read file: {exc.strerror}") from None
    if hashlib.md5(data).hexdigest() != md5:
        raise SourceError(f"{relpath}: changed while the build was running; run the build again")
    return data


def render_source(source: SourcePlan, store: "Store | str | Path") -> dict:
    """Read ``source``, ``render`` it and write the result into ``store`` (a ``Store``, or a
    folder for ``open_store``); return the doit values of ``write_rendered``.

    A source that cannot be decoded does not raise: its record says why and the values carry
    ``{"error": message, "files": 0}``; the objects step leaves it out and fails the run.
    Raises ``SourceError`` only when the file changed since it was planned, or vanished.
    """
    data = read_source(source.path, source.relpath, source.probe.md5)
    return write_rendered(as_store(store), source.tag, render(source, data))


#: Freed memory glibc's malloc keeps for reuse in a rendering process (``keep_freed_memory``).
MALLOC_KEEP_BYTES = 256 * 1024 * 1024
_malloc_tuned: bool | None = None


def keep_freed_memory(limit: int = MALLOC_KEEP_BYTES) -> bool:
    """Ask glibc's malloc to keep up to ``limit`` bytes of freed memory for reuse (``mallopt``
    ``M_TRIM_THRESHOLD`` and ``M_MMAP_THRESHOLD``) instead of unmapping every large image buffer
    and page-faulting a new one in for the next image. A render process then keeps the memory
    of its largest image until it exits (its peak RSS is unchanged) and spends less system time:
    0.8 → 0.25 s per 24 bench sources (bench/RESULTS.md). Once per process; returns whether it
    applied (False outside glibc, e.g. macOS or musl: nothing changes there)."""
    global _malloc_tuned
    if _malloc_tuned is None:
        try:
            import ctypes
            mallopt = ctypes.CDLL("libc.so.6").mallopt
            _malloc_tuned = bool(mallopt(-1, limit)) and bool(mallopt(-3, limit))  # M_TRIM/M_MMAP_THRESHOLD
        except (OSError, AttributeError):
            _malloc_tuned = False
    return _malloc_tuned


def _render(source: SourcePlan, data: bytes) -> tuple[list[tuple[str, bytes]], str]:
    keep_freed_memory()
    rendered = source.rendered
    largest = (max(d.width for d in rendered), max(d.height for d in rendered)) if rendered else (64, 64)
    base = decode(data, covering=largest)           # decoded once: a corrupt file fails here
    hashed = base                                    # what the BlurHash is computed from
    files = [(d.file, data) for d in source.derivatives if d.original]
    try:
        # Encoders run on a small thread pool (Pillow releases the GIL while encoding and
        # resampling): the next size is resized while the previous ones encode, and the
        # last job of a parallel build still uses every core. Files keep the plan's order.
        with ThreadPoolExecutor(ENCODE_THREADS) as pool:
            pending = []
            for image, group in _cascade(base, rendered):
                if min(image.size) >= BLURHASH_SIDE and all(d.keeps_aspect for d in group):
                    hashed = image                   # the smallest whole-picture size so far
                rgba = None
                for d in group:
                    pixels = image
                    if not d.decoration.is_empty():
                        rgba = rgba or (image if image.mode == "RGBA" else image.convert("RGBA"))
                        pixels = decorate(rgba, d.decoration)
                    # its own Image object: Image.save keeps its options on the object
                    pending.append((d.file, pool.submit(encode, pixels.copy(), d.format, d.quality,
                                                        source.profile.background_color)))
            hash_ = image_blurhash(hashed)            # while the encoders run
            files += [(relpath, payload.result()) for relpath, payload in pending]
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot render: {exc}") from None
    return files, hash_


def _cascade(base: Image.Image, derivatives: tuple[Derivative, ...]):
    """Yield (image, derivatives of that size), largest first; each size is resized from the
    smallest aspect-keeping image already made that covers it, else from ``base``
    (``resize.Resizer``)."""
    resizer = Resizer(base)
    by_size: dict[tuple[int, int], list[Derivative]] = {}
    for d in derivatives:
        by_size.setdefault((d.width, d.height), []).append(d)
    for size in sorted(by_size, key=lambda s: (s[0] * s[1], s), reverse=True):
        group = by_size[size]
        yield resizer.to(size, keep=all(d.keeps_aspect for d in group)), group

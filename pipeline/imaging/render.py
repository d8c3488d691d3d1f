"""Render every derivative of one source image (one doit task per source).

A function of (source bytes, ``SourcePlan``): decode once at the smallest JPEG scale that covers
the largest derivative, orient, convert to sRGB (``decode``), then make each size from the
smallest already-made larger image (a resize cascade, Lanczos with Pillow's ``reducing_gap``,
alpha premultiplied while resampling), draw each derivative's decoration (``overlays``) at its
output size, and encode each (format, quality). Every file is written atomically. Output is
deterministic: the same inputs give byte-identical files. Animated sources (GIF, WebP) give
their first frame in every rendered derivative; only the ``original`` copy keeps the animation.
"""

import hashlib
import io
import json
from pathlib import Path

import blurhash
from PIL import Image

from pipeline.model import layout
from pipeline.store.atomic import atomic_write_bytes
from pipeline.imaging.decode import decode
from pipeline.errors import SourceError
from pipeline.model.formats import FORMATS
from pipeline.imaging.overlays import decorate
from pipeline.plan.planner import Derivative, SourcePlan

#: Resampling: Lanczos, with a fast box reduction first while the image is > 3× the target.
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0


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


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)


def image_blurhash(image: Image.Image) -> str:
    """BlurHash of an upright sRGB image (4×3 components for landscape, 3×4 for portrait),
    computed on a ≤ 64 px thumbnail."""
    small = image.copy() if max(image.size) <= 64 else image.resize(
        _fit(image.size, 64), Image.Resampling.BOX, reducing_gap=2.0)
    x, y = (4, 3) if image.width >= image.height else (3, 4)
    return blurhash.encode(small.convert("RGB"), x_components=x, y_components=y)


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    scale = side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def write_record(output: Path, tag: str, record: dict) -> None:
    """Write ``images/{tag}/render.json``: ``{"blurhash": …}`` or ``{"error": …}``."""
    atomic_write_bytes(output / layout.render_record_file(tag), json.dumps(record, sort_keys=True).encode())


def render_source(source: SourcePlan, output: str | Path) -> dict:
    """Write every derivative of ``source`` under ``output`` and its render record; return doit
    values ``{"files": n, "bytes": total bytes written, "blurhash": str}``.

    A source that cannot be decoded (truncated, corrupt) does not raise: its record says why and
    the values are ``{"error": message, "files": 0, "bytes": 0}``; the objects step leaves it
    out and fails the run. Raises ``SourceError`` only when the file changed since it was
    planned (its tag would lie) or vanished.
    """
    return render_recorded(source.path, source.relpath, source.probe.md5, source.tag, Path(output),
                           lambda data, out: _render(source, data, out))


def render_recorded(path: Path, relpath: str, md5: str, tag: str, output: Path, work) -> dict:
    """Read a source, check it is the planned content, run ``work(data, output)`` and write the
    render record: ``{"blurhash"}`` (when ``work`` returns one) or ``{"error"}`` when ``work``
    raises ``SourceError`` (then the values are ``{"error", "files": 0, "bytes": 0}``).
    Raises ``SourceError`` when the file vanished or changed since planning."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{relpath}: cannot read file: {exc.strerror}") from None
    if hashlib.md5(data).hexdigest() != md5:
        raise SourceError(f"{relpath}: changed while the build was running; run the build again")
    try:
        values = work(data, output)
    except SourceError as exc:
        message = f"{relpath}: {exc}"
        write_record(output, tag, {"error": message})
        return {"error": message, "files": 0, "bytes": 0}
    write_record(output, tag, {k: v for k, v in values.items() if k == "blurhash"})
    return values


def _render(source: SourcePlan, data: bytes, output: Path) -> dict:
    written = files = 0
    rendered = source.rendered
    largest = (max(d.width for d in rendered), max(d.height for d in rendered)) if rendered else (64, 64)
    base = decode(data, covering=largest)           # decoded once: a corrupt file fails here
    hash_ = image_blurhash(base)
    for d in source.derivatives:
        if d.original:
            written += atomic_write_bytes(output / d.file, data)
            files += 1
    try:
        for image, group in _cascade(base, rendered):
            rgba = None
            for d in group:
                pixels = image
                if not d.decoration.is_empty():
                    rgba = rgba or (image if image.mode == "RGBA" else image.convert("RGBA"))
                    pixels = decorate(rgba, d.decoration)
                payload = encode(pixels, d.format, d.quality, source.profile.background_color)
                written += atomic_write_bytes(output / d.file, payload)
                files += 1
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot render: {exc}") from None
    return {"files": files, "bytes": written, "blurhash": hash_}


def _cascade(base: Image.Image, derivatives: tuple[Derivative, ...]):
    """Yield (image, derivatives of that size), largest first; each size is resized from the
    smallest aspect-keeping image already made that covers it (else from ``base``)."""
    premultiplied = base.mode == "RGBA"
    work = base.convert("RGBa") if premultiplied else base
    by_size: dict[tuple[int, int], list[Derivative]] = {}
    for d in derivatives:
        by_size.setdefault((d.width, d.height), []).append(d)
    made: list[Image.Image] = []  # aspect-keeping intermediates, largest first
    for size in sorted(by_size, key=lambda s: (s[0] * s[1], s), reverse=True):
        group = by_size[size]
        parent = work
        for candidate in made:
            if candidate.width >= size[0] and candidate.height >= size[1]:
                parent = candidate
        image = _resize(parent, size)
        if all(d.keeps_aspect for d in group):
            made.append(image)
        yield (image.convert("RGBA") if premultiplied else image), group

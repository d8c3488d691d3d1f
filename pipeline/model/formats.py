"""Output image formats: names, file extensions, MIME types and Pillow encoder names.

Names follow Jellyfin's ``ImageFormat`` enum (``Bmp``, ``Gif``, ``Jpg``, ``Png``, ``Webp``,
``Avif``) plus ``Original`` (seed 000 "Image Format": by default the original's format). Request values are
case-insensitive; ``jpeg`` and Emby's documented typo ``jpp`` mean ``Jpg``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    """One output format.

    ``name`` is the API spelling, ``pillow`` the Pillow encoder, ``alpha`` whether the format
    keeps transparency (else transparent pixels are composited over ``background_color``),
    ``lossy`` whether ``quality`` (0–100) changes the bytes.
    """

    name: str
    extension: str
    mime: str
    pillow: str
    alpha: bool
    lossy: bool


FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("Jpg", "jpg", "image/jpeg", "JPEG", alpha=False, lossy=True),
        ImageFormat("Png", "png", "image/png", "PNG", alpha=True, lossy=False),
        ImageFormat("Webp", "webp", "image/webp", "WEBP", alpha=True, lossy=True),
        ImageFormat("Gif", "gif", "image/gif", "GIF", alpha=True, lossy=False),
        ImageFormat("Bmp", "bmp", "image/bmp", "BMP", alpha=False, lossy=False),
        ImageFormat("Avif", "avif", "image/avif", "AVIF", alpha=True, lossy=True),
    )
}

ORIGINAL = "Original"

#: Every accepted spelling (lowercase) → the API format name (``parse_format``'s table; the
#: nginx generator emits it as a map).
FORMAT_NAMES: dict[str, str] = {name.lower(): name for name in FORMATS} | {
    "jpeg": "Jpg", "jpp": "Jpg", "original": ORIGINAL,
}

#: Pillow's ``Image.format`` of a source → the API format it is "originally" in.
_FROM_PILLOW = {"JPEG": "Jpg", "MPO": "Jpg", "PNG": "Png", "WEBP": "Webp", "GIF": "Gif", "BMP": "Bmp",
                "AVIF": "Avif"}


def parse_format(text: str) -> str | None:
    """Canonical format name for a request or catalog value, or None when unknown.

    ``"webp"`` → ``"Webp"``, ``"jpeg"``/``"jpp"`` → ``"Jpg"``, ``"original"`` → ``"Original"``.
    """
    return FORMAT_NAMES.get(text.strip().lower())


def source_format(pillow_format: str | None, has_alpha: bool) -> str:
    """The API format a source file is in, from Pillow's ``Image.format``.

    Sources in a format no client decodes everywhere (TIFF, …) are published as ``Png`` when
    they have alpha, else ``Jpg``.
    """
    name = _FROM_PILLOW.get(pillow_format or "")
    if name:
        return name
    return "Png" if has_alpha else "Jpg"

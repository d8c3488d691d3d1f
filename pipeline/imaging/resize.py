"""Lanczos resizing with libvips (pyvips), Pillow images in and out.

``Resizer(image).to((w, h))`` gives ``image`` (a Pillow ``RGB``/``RGBA``/``L``/``LA`` image)
resized to exactly w×h pixels with a Lanczos-3 kernel: libvips ``reduce`` (``kernel=lanczos3``,
separable, no box pre-shrink), a fifth of the CPU of Pillow's ``resize(LANCZOS)`` on the
benchmark's corpus for the same kernel (bench/RESULTS.md, "Resize with libvips"). Alpha is
premultiplied while resampling (as Pillow's ``resize`` does for ``RGBA``/``LA``). Each size is
reduced from the smallest aspect-keeping result already made that covers it (``keep=True``), else
from the image: asked largest first, that is a cascade (1280 → 400 → 160).

A size larger than the image on either side (ART19's ``itunes`` style, always 1400 px) is
enlarged with Pillow's Lanczos instead: libvips enlarges with a bicubic interpolator, not the
kernel, and ``reduce`` only shrinks.

libvips is a requirement (requirements.txt: ``pyvips`` and the ``pyvips-binary`` wheel, which
bundles libvips, so no system package is needed); without it this module fails at import with
an ``ImportError`` saying so. Its settings here: no operation cache (each image is used once),
one worker thread per process unless ``VIPS_CONCURRENCY`` says otherwise (the build already
runs one render process per core). Output is deterministic: libvips' SIMD (Highway) and plain
C ``reduce`` give byte-identical pixels on the corpus (``VIPS_NOVECTOR=1``).
"""

import os

from PIL import Image

try:
    import pyvips
except Exception as exc:  # ImportError, or OSError/… when the libvips shared library is missing
    raise ImportError(
        "pipeline.imaging.resize needs libvips through pyvips: "
        "pip install -r requirements.txt (pyvips and pyvips-binary, which bundles libvips); "
        f"importing pyvips failed: {exc}") from exc

pyvips.cache_set_max(0)
if not os.environ.get("VIPS_CONCURRENCY"):
    pyvips.concurrency_set(1)

#: Pillow mode → (mode resampled in, premultiplied), bands are ``len(mode)`` bytes a pixel.
_WORKING = {"RGB": "RGB", "RGBA": "RGBa", "L": "L", "LA": "La", "RGBa": "RGBa", "La": "La"}
#: Enlarging: Pillow's Lanczos (see the module docstring).
ENLARGE = Image.Resampling.LANCZOS


def to_vips(image: Image.Image) -> "pyvips.Image":
    """A libvips image (uchar, ``len(mode)`` bands) of a Pillow image's pixels (one copy)."""
    return pyvips.Image.new_from_memory(image.tobytes(), image.width, image.height,
                                        len(image.mode), "uchar")


def to_pillow(pixels: bytes, size: tuple[int, int], mode: str) -> Image.Image:
    """A Pillow image of ``mode`` from packed pixel bytes (``len(mode)`` bytes a pixel)."""
    return Image.frombuffer(mode, size, pixels, "raw", mode, 0, 1)


class Resizer:
    """Resize one Pillow image to several sizes (see the module docstring).

    ``image``: mode ``RGB``, ``RGBA``, ``L`` or ``LA`` (premultiplied ``RGBa``/``La`` are taken
    as they are and given back premultiplied). Raises ValueError for another mode.
    """

    def __init__(self, image: Image.Image):
        if image.mode not in _WORKING:
            raise ValueError(f"cannot resize an image of mode {image.mode!r}")
        self.mode = image.mode
        self._original = image
        self._working = _WORKING[image.mode]
        self._image = image if image.mode == self._working else image.convert(self._working)
        self._vips = None
        self._made: list["pyvips.Image"] = []     # aspect-keeping results

    def to(self, size: tuple[int, int], keep: bool = True) -> Image.Image:
        """The image resized to ``size`` (width, height px, each ≥ 1), in the image's mode.
        ``keep``: the result keeps the image's aspect ratio, so later (smaller) sizes may be
        made from it. The image itself when ``size`` is its size."""
        w, h = size
        if w < 1 or h < 1:
            raise ValueError(f"size must be positive, got {w}x{h}")
        if size == self._image.size:
            return self._original
        if w > self._image.width or h > self._image.height:
            return self._back(self._image.resize(size, ENLARGE))
        if self._vips is None:
            self._vips = to_vips(self._image)
        covering = [m for m in self._made if m.width >= w and m.height >= h]
        parent = min(covering, key=lambda m: m.width * m.height) if covering else self._vips
        if (parent.width, parent.height) == size:
            pixels = parent.write_to_memory()
        else:
            pixels = parent.reduce(parent.width / w, parent.height / h, kernel="lanczos3").write_to_memory()
            if keep:
                self._made.append(pyvips.Image.new_from_memory(pixels, w, h, parent.bands, "uchar"))
        return self._back(to_pillow(pixels, size, self._working))

    def _back(self, image: Image.Image) -> Image.Image:
        return image if image.mode == self.mode else image.convert(self.mode)

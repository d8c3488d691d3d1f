"""Decode a source image into an upright sRGB working image (RGB, or RGBA when transparent).

Used by ``probe`` (BlurHash) and ``render`` (derivatives), so both see the same pixels.
Steps: JPEG ``draft`` (DCT scaling: decode at a smaller scale that still covers the largest
output, see ``dct_scale``) → EXIF orientation applied → ICC profile converted to sRGB (LittleCMS via
``PIL.ImageCms``) → mode normalised (CMYK, grey, palette, 16-bit, grey+alpha) → alpha dropped
when every pixel is opaque.
"""

import os
import struct
import warnings
from io import BytesIO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from pipeline.errors import SourceError

ORIENTATION_TAG = 0x0112
_SRGB = ImageCms.createProfile("sRGB")
#: Bytes a worker holds per source pixel while rendering (decoded RGBA, normalised copy, the
#: first resize): measured 1.9 GB for a 196 MP PNG (issue 13).
BYTES_PER_PIXEL = 10


def pixel_cap(memory: int | None = None, workers: int | None = None) -> int:
    """Most pixels a source may have: 100 MP, or less where half of the machine's memory
    (``memory`` bytes) shared by ``workers`` rendering processes (one per core, as ``doit -n``)
    cannot hold ``BYTES_PER_PIXEL`` per pixel. ``PIPELINE_MAX_PIXELS`` overrides it."""
    override = os.environ.get("PIPELINE_MAX_PIXELS", "")
    if override.isdigit():
        return int(override)
    if memory is None:
        try:
            memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            memory = 8 << 30
    workers = workers or os.cpu_count() or 1
    return max(1_000_000, min(100_000_000, memory // 2 // (workers * BYTES_PER_PIXEL)))


#: Decompression bombs: a source with more pixels is refused before any pixel is decoded (Pillow
#: alone only warns up to twice its MAX_IMAGE_PIXELS, and a 196 MP PNG then took 1.9 GB).
PIXEL_CAP = pixel_cap()
Image.MAX_IMAGE_PIXELS = PIXEL_CAP


def open_image(data: bytes) -> Image.Image:
    """Open encoded bytes with Pillow (lazy: header only). Raises ``SourceError`` if not an image."""
    try:
        with warnings.catch_warnings():   # above the cap Pillow only warns: refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
    except UnidentifiedImageError:
        raise SourceError("not an image (no known image format recognised)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SourceError(f"not a readable image: {exc}") from None
    pixels = image.width * image.height
    if pixels > PIXEL_CAP:
        raise SourceError(f"image size ({pixels} pixels) exceeds limit of {PIXEL_CAP} pixels "
                          f"(set from this machine's memory; PIPELINE_MAX_PIXELS overrides it)")
    return image


def orientation(image: Image.Image) -> int:
    """EXIF orientation 1–8 of an opened image (1 when absent or invalid).

    Reads no pixels: for a PNG whose header did not carry an ``eXIf`` chunk, the chunk list is
    walked for one after the image data (``png_exif``), where Pillow's ``getexif`` would decode
    the whole image to find it (0.16 CPU s of the probe's 0.21 on the benchmark's 8 PNGs)."""
    try:
        if image.format == "PNG" and "exif" not in image.info:
            raw = png_exif(image.fp)
            if raw is None:
                return 1
            exif = Image.Exif()
            exif.load(b"Exif\x00\x00" + raw)
        else:
            exif = image.getexif()
        value = exif.get(ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not fail the image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def png_exif(fp) -> bytes | None:
    """The data of the first ``eXIf`` chunk of the PNG file ``fp`` (seekable; its position is
    kept), found by reading chunk headers only; None when there is none (or ``fp`` is None:
    Pillow closed it after loading, and ``info`` then has every chunk it read)."""
    if fp is None:
        return None
    position = fp.tell()
    try:
        fp.seek(8)                                # after the PNG signature
        while True:
            head = fp.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                return fp.read(length)
            if kind == b"IEND":
                return None
            fp.seek(length + 4, os.SEEK_CUR)      # data and CRC
    finally:
        fp.seek(position)


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) in pixels as displayed, i.e. after EXIF orientation (5–8 swap sides)."""
    w, h = image.size
    return (h, w) if orientation(image) in (5, 6, 7, 8) else (w, h)


def dct_scale(size: tuple[int, int], covering: tuple[int, int]) -> int:
    """The JPEG DCT scaling denominator (1, 2, 4 or 8) to decode an image of ``size`` (w, h px)
    that must still cover ``covering`` (w, h px).

    The largest of 8, 4, 2 that the shrink factor ``min(W/w, H/h)`` reaches, but 4 and 8 only
    when the factor is at least one more (5 and 9), else the next smaller: the 2×2 and 1×1
    inverse DCTs alias fine texture, so a 1/4 decode needs a real Lanczos step after it. This
    is sharp's shrink-on-load rule for 4 and 8 (``pipeline.cc``, "known libjpeg rounding
    errors"); sharp applies it to 2 as well, which the benchmark's SSIM does not justify
    (bench/RESULTS.md: within 0.001 of a full decode, at a tenth of the time).
    """
    shrink = min(size[0] / max(1, covering[0]), size[1] / max(1, covering[1]))
    for scale in (8, 4, 2):
        if shrink >= scale and not (scale > 2 and int(shrink) == scale):
            return scale
    return 1


def decode(data: bytes, covering: tuple[int, int] | None = None) -> Image.Image:
    """Decode ``data`` to an upright sRGB image in mode ``RGB`` or ``RGBA``, with no metadata
    (empty ``info``).

    ``covering``: (width, height) in upright pixels that the result must still cover; JPEG
    sources are then decoded with DCT scaling at ``dct_scale`` (1/2, 1/4 or 1/8). None decodes
    at full size. Animated sources give their first frame.

    Raises ``SourceError`` when the data is not an image, is truncated or cannot be decoded.
    """
    image = open_image(data)
    try:
        turn = orientation(image)
        if covering and image.format == "JPEG":
            w, h = covering
            if turn in (5, 6, 7, 8):
                w, h = h, w
            scale = dct_scale(image.size, (w, h))
            if scale > 1:
                image.draft(image.mode, (image.width // scale, image.height // scale))
        icc = image.info.get("icc_profile")
        image.load()
        if turn != 1:
            image = ImageOps.exif_transpose(image)
        image = _normalise(image, icc)
        # No metadata travels on to the derivatives (resize and convert copy ``info``): not the
        # source's EXIF/XMP/comments, not the sRGB profile LittleCMS made with the current time,
        # which Pillow's PNG and AVIF encoders would embed and make two builds differ (issue 13).
        image.info = {}
        return image
    except SourceError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SourceError(f"cannot decode image: {exc}") from None


def _normalise(image: Image.Image, icc: bytes | None) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif mode == "F":
        image = image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")

    if icc:
        image = _to_srgb(image, icc)
    if image.mode == "LA":
        image = image.convert("RGBA")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")
    return image


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert with the embedded ICC profile to sRGB; on a broken profile keep the pixels as they are."""
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        if image.mode in ("RGBA", "LA"):
            alpha = image.getchannel("A")
            base = image.convert("RGB" if image.mode == "RGBA" else "L")
            out = ImageCms.profileToProfile(base, source, _SRGB, outputMode="RGB")
            out.putalpha(alpha)
            return out
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image

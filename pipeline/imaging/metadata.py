"""The ART19 ``stripped-original`` style: the original file with all metadata removed (seed 003).

"All metadata (EXIF, XMP, PNG metadata, etc.)" goes; what decides how the pixels look stays.

- **JPEG**: the marker segments are walked and only these metadata-like segments are kept:
  APP0 ``JFIF`` (its embedded thumbnail, a preview that may show what the crop or an edit
  removed, is cut to 0×0), APP2 ``ICC_PROFILE`` (colour data: dropping it changes how the
  pixels look, e.g. Display P3 or Adobe RGB shown as sRGB) and APP14 ``Adobe`` (its transform
  flag is needed to decode CMYK/YCCK correctly). Every other APPn (EXIF and XMP in APP1,
  IPTC/Photoshop in APP13, MPF in APP2, …) and COM is dropped. Tables, frame and scan headers and
  the entropy-coded data are copied byte for byte, so the pixels are identical without
  re-encoding. Bytes after EOI (appended previews, "motion photo" videos) are dropped.
- **PNG**: chunks are walked (CRCs checked) and copied whole, so their CRCs stay valid. Kept:
  the critical chunks, colour (iCCP, sRGB, gAMA, cHRM, cICP, mDCV, cLLI, sBIT), display
  (tRNS, bKGD, pHYs, hIST, sPLT) and APNG animation (acTL, fcTL, fdAT). Every other ancillary
  chunk is dropped: tEXt, zTXt, iTXt, eXIf, tIME and also unknown private ones (an allow list,
  so that new metadata chunks such as C2PA ``caBX`` cannot slip through).
- **Orientation**: the EXIF orientation tag is removed with the EXIF, so an image whose
  orientation is not 1 (EXIF, or XMP ``tiff:Orientation`` as Pillow reads it) is first turned
  upright and re-encoded: JPEG at quality 95 with the source's chroma subsampling and ICC
  profile; PNG losslessly, with the source's colour chunks copied in. The result is then walked
  like any other file. (In that rare case an animated PNG keeps only its first frame and a
  16-bit RGB PNG is reduced to 8 bits per channel, as Pillow decodes it.)
- **WebP and GIF** are decoded and re-saved by Pillow without metadata: WebP losslessly (the
  decoded pixels are kept exactly; a lossy source grows) with its ICC profile, GIF with all
  frames and no comment. Other formats raise ``ValueError``: uploads are JPEG, PNG, WebP or GIF
  (api-reference §4).
"""

import zlib
from io import BytesIO

from PIL import Image, ImageOps, JpegImagePlugin

from pipeline.imaging.decode import orientation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG APPn segments kept, by marker and payload prefix; every other APPn and COM is dropped.
_JPEG_KEEP_APP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
_PNG_COLOUR = {b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"mDCV", b"cLLI", b"sBIT"}
_PNG_KEEP = _PNG_COLOUR | {b"tRNS", b"bKGD", b"pHYs", b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT"}


def strip_metadata(data: bytes) -> bytes:
    """Return ``data`` (an encoded JPEG, PNG, WebP or GIF) with all metadata removed.

    JPEG and PNG keep their pixels byte for byte unless the EXIF orientation is not 1, in which
    case the image is turned upright and re-encoded (see the module docstring for what is kept).
    Raises ``ValueError`` when the data is not a valid image of the kind its signature claims
    (truncated segment, bad chunk CRC, no image data, …) or is in another format.
    Source: seed 003 (style ``stripped-original``), api-reference §5.
    """
    if data.startswith(b"\xff\xd8"):
        kind, walk = "JPEG", _strip_jpeg
    elif data.startswith(PNG_SIGNATURE):
        kind, walk = "PNG", lambda d: PNG_SIGNATURE + b"".join(_png_chunks(d))
    else:
        return _resave(data)
    stripped = walk(data)  # validates the structure before Pillow sees the data
    image = _open(data, kind)
    if orientation(image) == 1:
        return stripped
    try:
        upright = _upright_jpeg(image) if kind == "JPEG" else _upright_png(image, data)
    except OSError as exc:  # undecodable image data
        raise ValueError(f"not a valid {kind}: {exc}") from None
    return walk(upright)


def _open(data: bytes, kind: str | None = None) -> Image.Image:
    try:
        image = Image.open(BytesIO(data))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a valid {kind or 'image'}: {exc}") from None
    if kind and image.format != kind:
        raise ValueError(f"not a valid {kind}: Pillow reads it as {image.format}")
    return image


def _strip_jpeg(data: bytes) -> bytes:
    """Walk the JPEG marker segments from SOI to EOI, keeping what the module docstring lists."""
    out, pos, scanned = [b"\xff\xd8"], 2, False
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise ValueError(f"not a valid JPEG: no marker at byte {pos}")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= len(data):
            raise ValueError("not a valid JPEG: truncated (no EOI marker)")
        marker, start, pos = data[pos], pos - 1, pos + 1  # data[start:pos] == FF marker
        if marker == 0xD9:  # EOI
            if not scanned:
                raise ValueError("not a valid JPEG: EOI before any image data (SOS)")
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # TEM, RSTn: no length
            out.append(data[start:pos])
            continue
        if marker in (0x00, 0xD8):
            raise ValueError(f"not a valid JPEG: unexpected marker 0x{marker:02X} at byte {start}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise ValueError(f"not a valid JPEG: segment 0x{marker:02X} at byte {start} is truncated")
        payload, end = data[pos + 2 : pos + length], pos + length
        keep_prefix = _JPEG_KEEP_APP.get(marker)
        is_app = 0xE0 <= marker <= 0xEF
        if marker == 0xFE or (is_app and not (keep_prefix and payload.startswith(keep_prefix))):
            pass  # COM or a metadata APPn: dropped
        elif marker == 0xE0 and len(payload) >= 14:  # JFIF: cut the thumbnail to 0×0
            out.append(b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00")
        else:
            out.append(data[start:end])
        pos = end
        if marker == 0xDA:  # SOS: copy the entropy-coded data up to the next marker
            scanned, pos = True, _next_marker(data, pos)
            out.append(data[end:pos])


def _next_marker(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data (skipping FF00 stuffing and RSTn)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ValueError("not a valid JPEG: truncated image data (no EOI marker)")
        following = data[pos + 1]
        if following != 0x00 and following != 0xFF and not 0xD0 <= following <= 0xD7:
            return pos
        pos += 1


def _png_chunks(data: bytes) -> list[bytes]:
    """The whole chunks (length, type, data, CRC) of a PNG that are kept, from IHDR to IEND."""
    kept, pos = [], len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise ValueError("not a valid PNG: truncated (no IEND chunk)")
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype, end = data[pos + 4 : pos + 8], pos + 12 + length
        if end > len(data) or not ctype.isalpha():
            raise ValueError(f"not a valid PNG: bad chunk at byte {pos}")
        if zlib.crc32(data[pos + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            raise ValueError(f"not a valid PNG: {ctype.decode()} chunk at byte {pos} has a bad CRC")
        if pos == len(PNG_SIGNATURE) and ctype != b"IHDR":
            raise ValueError("not a valid PNG: the first chunk is not IHDR")
        if ctype[0:1].isupper() or ctype in _PNG_KEEP:  # critical chunks are never metadata
            kept.append(data[pos:end])
        if ctype == b"IEND":
            return kept
        pos = end


def _upright_jpeg(image: Image.Image) -> bytes:
    sampling = JpegImagePlugin.get_sampling(image)
    options = {"subsampling": sampling} if sampling != -1 else {}
    upright, out = ImageOps.exif_transpose(image), BytesIO()
    upright.save(out, "JPEG", quality=95, icc_profile=image.info.get("icc_profile"), **options)
    return out.getvalue()


def _upright_png(image: Image.Image, source: bytes) -> bytes:
    """Upright PNG: Pillow's pixels with the source's colour chunks (Pillow would lose gAMA, …)."""
    out = BytesIO()
    ImageOps.exif_transpose(image).save(out, "PNG", icc_profile=None)
    ihdr, *rest = _png_chunks(out.getvalue())
    colour = [c for c in _png_chunks(source) if c[4:8] in _PNG_COLOUR]
    return PNG_SIGNATURE + b"".join([ihdr, *colour, *(c for c in rest if c[4:8] not in _PNG_COLOUR)])


def _resave(data: bytes) -> bytes:
    """Re-save a WebP or GIF with Pillow, without metadata (see the module docstring)."""
    image = _open(data)
    out = BytesIO()
    try:
        if image.format == "WEBP":
            frames = getattr(image, "n_frames", 1)
            image = ImageOps.exif_transpose(image) if frames == 1 else image
            image.save(out, "WEBP", lossless=True, exact=True, save_all=frames > 1,
                       icc_profile=image.info.get("icc_profile"))
        elif image.format == "GIF":
            image.save(out, "GIF", save_all=True, comment=b"")
        else:
            raise ValueError(f"unsupported image format {image.format} (expected JPEG, PNG, WebP or GIF)")
    except OSError as exc:
        raise ValueError(f"not a valid {image.format}: {exc}") from None
    return out.getvalue()

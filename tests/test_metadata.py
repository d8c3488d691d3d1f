"""The stripped-original style (pipeline/imaging/metadata.py): metadata gone, pixels identical."""

import random
from io import BytesIO

import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from pipeline.imaging.metadata import strip_metadata

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="secret-xmp"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
APP13 = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x50\x00\x06secret"
# JFIF 1.01, no density unit, 1:1, with a 1×1 RGB thumbnail (a preview that must go)
JFIF_WITH_THUMB = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01" + b"\xff\x00\x00"


def noise(size, mode="RGB", seed=1):
    rng = random.Random(seed)
    bands = len(mode)
    return Image.frombytes(mode, size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * bands)))


def gradient(size):
    """A smooth, asymmetric picture: rotation mistakes show, JPEG re-encoding error stays small."""
    w, h = size
    red = Image.linear_gradient("L").resize(size)  # dark at the top, light at the bottom
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.new("L", size, 60)
    blue.paste(255, (0, 0, w // 4, h // 4))  # a block in the top-left corner
    return Image.merge("RGB", (red, green, blue))


def exif(orientation):
    data = Image.Exif()
    data[0x0112] = orientation
    data[0x010F] = "secret-make"
    data[0x010E] = "secret-description"
    return data


def segment(marker, payload):
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_segments(data):
    """[(marker, payload)] from SOI up to and including the first SOS, and the SOS offset."""
    out, pos = [], 2
    while True:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        out.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:
            return out, pos
        pos += 2 + length


def make_jpeg(image, orientation=1, **options):
    """A JPEG with EXIF, XMP, a COM comment, ICC, APP13 IPTC, a JFIF thumbnail and trailing bytes."""
    buf = BytesIO()
    image.save(buf, "JPEG", quality=90, exif=exif(orientation), xmp=XMP, icc_profile=ICC,
               comment=b"secret-comment", **options)
    data = buf.getvalue()
    segments, _ = jpeg_segments(data)
    if segments[0][0] == 0xE0:  # replace Pillow's JFIF APP0 by one with a thumbnail
        data = data[:2] + data[2 + 2 + len(segments[0][1]) + 2 :]
        data = data[:2] + segment(0xE0, JFIF_WITH_THUMB) + data[2:]
    data = data[:2] + segment(0xED, APP13) + data[2:]
    return data + b"secret-trailer appended after EOI"


def decoded(data):
    with Image.open(BytesIO(data)) as image:
        return image.mode, image.size, image.tobytes()


def assert_clean_jpeg(out):
    segments, _ = jpeg_segments(out)
    markers = [m for m, _ in segments]
    assert not {0xE1, 0xED, 0xFE} & set(markers), [hex(m) for m in markers]
    for marker, payload in segments:
        if 0xE0 <= marker <= 0xEF:
            assert payload.startswith((b"JFIF\x00", b"ICC_PROFILE\x00", b"Adobe")), hex(marker)
        if marker == 0xE0:
            assert payload[12:] == b"\x00\x00"  # thumbnail cut to 0×0
    assert b"secret" not in out
    assert out.endswith(b"\xff\xd9")
    with Image.open(BytesIO(out)) as image:
        assert image.info.get("icc_profile") == ICC
        assert 0x0112 not in image.getexif()


@pytest.mark.parametrize(
    "options", [{}, {"progressive": True}, {"subsampling": 0}], ids=["baseline", "progressive", "444"]
)
def test_jpeg_loses_metadata_and_keeps_pixels_and_scan_data(options):
    src = make_jpeg(noise((64, 48)), **options)
    assert b"secret" in src
    out = strip_metadata(src)
    assert_clean_jpeg(out)
    assert decoded(out) == decoded(src)
    # the scans (entropy-coded data, and the tables between progressive scans) are copied byte for byte
    _, src_sos = jpeg_segments(src)
    _, out_sos = jpeg_segments(out)
    assert out[out_sos:] == src[src_sos : src.index(b"secret-trailer")]


def test_jpeg_metadata_between_progressive_scans_and_fill_bytes_are_handled():
    src = make_jpeg(noise((64, 48)), progressive=True)
    _, first_sos = jpeg_segments(src)
    second_sos = src.index(b"\xff\xda", first_sos + 2)
    # a COM and an APP1 between two scans, and fill bytes (FF FF) before the next marker
    late = segment(0xFE, b"secret-late") + segment(0xE1, b"Exif\x00\x00secret") + b"\xff"
    src = src[:second_sos] + late + src[second_sos:]
    out = strip_metadata(src)
    assert_clean_jpeg(out)
    assert decoded(out) == decoded(src)
    assert out.count(b"\xff\xda") == src.count(b"\xff\xda")


def test_jpeg_with_restart_markers_keeps_pixels():
    src = make_jpeg(noise((64, 48)), restart_marker_blocks=1)
    out = strip_metadata(src)
    assert_clean_jpeg(out)
    assert decoded(out) == decoded(src)


def test_cmyk_jpeg_keeps_the_adobe_segment():
    src = make_jpeg(noise((32, 32), "CMYK"))
    assert 0xEE in [m for m, _ in jpeg_segments(src)[0]]
    out = strip_metadata(src)
    assert 0xEE in [m for m, _ in jpeg_segments(out)[0]]
    assert_clean_jpeg(out)
    assert decoded(out) == decoded(src)


def test_already_clean_jpeg_is_unchanged():
    buf = BytesIO()
    noise((16, 16)).save(buf, "JPEG")
    assert strip_metadata(buf.getvalue()) == buf.getvalue()


def test_jpeg_orientation_6_comes_out_upright():
    src = make_jpeg(gradient((64, 48)), orientation=6)
    out = strip_metadata(src)
    assert_clean_jpeg(out)
    with Image.open(BytesIO(src)) as image:
        expected = ImageOps.exif_transpose(image).convert("RGB")
        wrong = image.convert("RGB").transpose(Image.Transpose.ROTATE_90)  # the other way round
    with Image.open(BytesIO(out)) as image:
        assert image.size == (48, 64)
        got = image.convert("RGB")

    def error(a, b):
        return sum(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes())) / len(a.tobytes())

    assert error(got, expected) < 2  # quality 95 re-encode
    assert error(got, wrong) > 20


def png_chunks(data):
    out, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def make_png(image, orientation=1):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-text")
    info.add_text("Comment", "secret-ztxt", zip=True)
    info.add_itxt("Description", "secret-itxt")
    info.add(b"gAMA", (45455).to_bytes(4, "big"))
    info.add(b"tIME", bytes([7, 233, 1, 2, 3, 4, 5]))
    info.add(b"prVt", b"secret-private")
    buf = BytesIO()
    image.save(buf, "PNG", pnginfo=info, exif=exif(orientation), icc_profile=ICC)
    return buf.getvalue()


def assert_clean_png(out):
    types = [t for t, _ in png_chunks(out)]
    assert not {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"} & set(types), types
    assert b"iCCP" in types and b"gAMA" in types
    assert types[0] == b"IHDR" and types[-1] == b"IEND"
    assert b"secret" not in out
    with Image.open(BytesIO(out)) as image:
        assert image.info.get("icc_profile") == ICC
        assert image.info.get("gamma") == pytest.approx(0.45455)


def test_png_loses_metadata_and_keeps_chunks_byte_for_byte():
    src = make_png(noise((40, 30), "RGBA"))
    types = {t for t, _ in png_chunks(src)}
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"} <= types
    out = strip_metadata(src)
    assert_clean_png(out)
    assert decoded(out) == decoded(src)
    kept = [c for c in png_chunks(src) if c[0] not in {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"}]
    assert png_chunks(out) == kept


def test_png_orientation_6_comes_out_upright_losslessly():
    src = make_png(gradient((40, 30)), orientation=6)
    out = strip_metadata(src)
    assert_clean_png(out)
    with Image.open(BytesIO(src)) as image:
        expected = ImageOps.exif_transpose(image)
        assert expected.size == (30, 40)
        assert decoded(out) == (expected.mode, expected.size, expected.tobytes())


def test_webp_is_resaved_without_metadata_and_identical_pixels():
    buf = BytesIO()
    noise((32, 24)).save(buf, "WEBP", quality=80, exif=exif(1), xmp=XMP, icc_profile=ICC)
    src = buf.getvalue()
    assert b"EXIF" in src and b"XMP " in src
    out = strip_metadata(src)
    assert b"EXIF" not in out and b"XMP " not in out and b"secret" not in out
    with Image.open(BytesIO(out)) as image:
        assert image.info.get("icc_profile") == ICC
    assert decoded(out) == decoded(src)


def test_gif_loses_its_comment_and_keeps_frames():
    frames = [noise((16, 16), seed=s).convert("P") for s in (1, 2)]
    buf = BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], comment=b"secret-comment",
                   duration=100, loop=0)
    out = strip_metadata(buf.getvalue())
    assert b"secret" not in out
    with Image.open(BytesIO(out)) as image, Image.open(buf) as source:
        assert image.n_frames == 2
        for index in range(2):
            image.seek(index)
            source.seek(index)
            assert image.convert("RGB").tobytes() == source.convert("RGB").tobytes()


def corrupt_crc(png):
    pos = png.index(b"IDAT") - 4
    length = int.from_bytes(png[pos : pos + 4], "big")
    crc_at = pos + 8 + length
    return png[:crc_at] + bytes([png[crc_at] ^ 0xFF]) + png[crc_at + 1 :]


def bmp():
    buf = BytesIO()
    noise((4, 4)).save(buf, "BMP")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "not a valid image"),
        (b"hello, world", "not a valid image"),
        (b"\xff\xd8\xff\xd9", "JPEG"),  # SOI EOI: no image data
        (b"\xff\xd8garbage", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x04tEXtabcd\x00\x00\x00\x00", "PNG"),
        (bmp(), "unsupported"),
    ],
    ids=["empty", "text", "soi-eoi", "jpeg-garbage", "png-signature-only", "png-bad-chunk", "bmp"],
)
def test_garbage_raises_value_error(data, match):
    with pytest.raises(ValueError, match=match):
        strip_metadata(data)


def test_truncated_jpeg_raises():
    src = make_jpeg(noise((64, 48)))
    with pytest.raises(ValueError, match="JPEG"):
        strip_metadata(src[: src.index(b"secret-trailer") - 200])
    with pytest.raises(ValueError, match="JPEG"):
        strip_metadata(src[:30])  # inside a segment


def test_png_with_bad_crc_or_truncated_raises():
    src = make_png(noise((8, 8)))
    with pytest.raises(ValueError, match="CRC"):
        strip_metadata(corrupt_crc(src))
    with pytest.raises(ValueError, match="PNG"):
        strip_metadata(src[:-12])  # no IEND

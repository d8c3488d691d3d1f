"""Decoding a source into an upright sRGB working image (pipeline/imaging/decode.py)."""

import struct
import warnings
import zlib

import pytest
from PIL import Image

from imagefactory import (
    RED, dominant, encode, jpeg, linear_srgb_profile, marked, palette_with_transparency, png, solid,
    srgb_profile, swapped_red_blue_profile,
)
from pipeline.imaging.decode import dct_scale, decode, open_image, orientation, upright_size
from pipeline.errors import SourceError

# Where the stored top-left corner of a 40×20 image shows after each EXIF orientation
# (EXIF 2.3: 6 = rotate 90° clockwise to display, 8 = 90° counter-clockwise, 5/7 transposes).
ORIENTATIONS = [
    # (orientation, upright size, corner where the marked block lands)
    (1, (40, 20), "top-left"),
    (2, (40, 20), "top-right"),
    (3, (40, 20), "bottom-right"),
    (4, (40, 20), "bottom-left"),
    (5, (20, 40), "top-left"),
    (6, (20, 40), "top-right"),
    (7, (20, 40), "bottom-right"),
    (8, (20, 40), "bottom-left"),
]


def corners(image):
    w, h = image.size
    points = {"top-left": (2, 2), "top-right": (w - 3, 2), "bottom-left": (2, h - 3), "bottom-right": (w - 3, h - 3)}
    return {name: dominant(image.getpixel(p)) for name, p in points.items()}


def red_corners(image):
    return [name for name, colour in corners(image).items() if colour == "red"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("turn, size, corner", ORIENTATIONS)
def test_exif_orientation_is_applied(fmt, turn, size, corner):
    data = encode(marked((40, 20)), fmt, orientation=turn)
    image = decode(data)
    assert image.size == size
    assert image.mode == "RGB"
    assert red_corners(image) == [corner]
    header = open_image(data)
    assert orientation(header) == turn
    assert upright_size(header) == size


def test_orientation_6_and_8_move_the_corner_to_opposite_sides():
    right = decode(encode(marked((40, 20)), "JPEG", orientation=6))
    left = decode(encode(marked((40, 20)), "JPEG", orientation=8))
    assert right.size == left.size == (20, 40)
    assert dominant(right.getpixel((17, 2))) == "red" and dominant(right.getpixel((2, 2))) == "blue"
    assert dominant(left.getpixel((2, 37))) == "red" and dominant(left.getpixel((2, 2))) == "blue"


@pytest.mark.parametrize("value", [0, 9, 255])
def test_invalid_orientation_counts_as_1(value):
    data = encode(marked((40, 20)), "JPEG", orientation=value)
    header = open_image(data)
    assert orientation(header) == 1
    assert upright_size(header) == (40, 20)
    image = decode(data)
    assert image.size == (40, 20) and red_corners(image) == ["top-left"]


def test_missing_exif_is_orientation_1():
    header = open_image(jpeg((40, 20)))
    assert orientation(header) == 1 and upright_size(header) == (40, 20)


def _exif_after_image_data(data: bytes) -> bytes:
    """The PNG ``data`` with its eXIf chunk moved from before IDAT to just before IEND (allowed
    by the PNG 1.5 extensions; Pillow then finds it only by decoding the pixels)."""
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append(data[pos:pos + 12 + length])
        pos += 12 + length
    exif = [c for c in chunks if c[4:8] == b"eXIf"]
    rest = [c for c in chunks if c[4:8] != b"eXIf"]
    assert len(exif) == 1 and rest[-1][4:8] == b"IEND"
    return data[:8] + b"".join(rest[:-1] + exif + rest[-1:])


@pytest.mark.parametrize("late", [False, True])
def test_png_orientation_is_read_without_decoding_pixels(late, monkeypatch):
    from PIL import ImageFile
    data = encode(marked((40, 20)), "PNG", orientation=6)
    if late:
        data = _exif_after_image_data(data)
        assert "exif" not in open_image(data).info
    header = open_image(data)

    def no_pixels(self):
        raise AssertionError("pixels decoded")
    with monkeypatch.context() as m:
        m.setattr(ImageFile.ImageFile, "load", no_pixels)
        assert orientation(header) == 6 and upright_size(header) == (20, 40)
    image = decode(data)
    assert image.size == (20, 40) and red_corners(image) == ["top-right"]


def test_png_without_exif_is_orientation_1_without_decoding_pixels(monkeypatch):
    from PIL import ImageFile
    header = open_image(png((40, 20)))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: (_ for _ in ()).throw(AssertionError))
    assert orientation(header) == 1 and upright_size(header) == (40, 20)


# --- colour management -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_non_srgb_icc_profile_is_converted_to_srgb(fmt):
    # stored pure red in a profile whose "red" channel is sRGB's blue primary → sRGB blue
    data = encode(solid((8, 8), "RGB", RED), fmt, icc=swapped_red_blue_profile())
    image = decode(data)
    assert image.mode == "RGB"
    r, g, b = image.getpixel((4, 4))
    assert r <= 3 and g <= 3 and b >= 250


def test_icc_conversion_and_orientation_together():
    # red block top-left in a blue image, red/blue swapped by the profile, turned by EXIF 6:
    # a blue block (was red) lands top-right in a red image (was blue)
    data = encode(marked((40, 20)), "JPEG", orientation=6, icc=swapped_red_blue_profile())
    image = decode(data)
    assert image.size == (20, 40)
    assert corners(image) == {"top-left": "red", "top-right": "blue", "bottom-left": "red", "bottom-right": "red"}


def test_icc_conversion_applies_the_tone_curve():
    # linear (gamma 1) profile: stored 128 is 50 % light, which sRGB encodes as ≈ 188
    image = decode(encode(solid((8, 8), "RGB", (128, 128, 128)), "PNG", icc=linear_srgb_profile()))
    assert all(186 <= v <= 190 for v in image.getpixel((0, 0)))


def test_icc_conversion_keeps_alpha():
    data = encode(solid((8, 8), "RGBA", (255, 0, 0, 128)), "PNG", icc=swapped_red_blue_profile())
    image = decode(data)
    assert image.mode == "RGBA"
    r, g, b, a = image.getpixel((0, 0))
    assert (r <= 3, g <= 3, b >= 250, a) == (True, True, True, 128)


def test_srgb_profile_leaves_pixels_unchanged():
    image = decode(encode(solid((8, 8), "RGB", (10, 200, 30)), "PNG", icc=srgb_profile()))
    assert image.mode == "RGB"
    assert all(abs(a - b) <= 1 for a, b in zip(image.getpixel((3, 3)), (10, 200, 30)))


@pytest.mark.parametrize("blob", [b"garbage" * 20, b"\0" * 200, srgb_profile()[:100]],
                         ids=["text", "zeros", "truncated"])
def test_broken_icc_profile_does_not_fail_the_decode(blob):
    image = decode(encode(solid((8, 8), "RGB", (10, 200, 30)), "PNG", icc=blob))
    assert image.mode == "RGB"
    assert image.getpixel((3, 3)) == (10, 200, 30)


# --- modes ----------------------------------------------------------------------------------------------

MODES = [
    # (source bytes, expected mode, expected pixel at (0, 0))
    pytest.param(png((8, 6), "L", 77), "RGB", (77, 77, 77), id="L"),
    pytest.param(png((8, 6), "LA", (77, 128)), "RGBA", (77, 77, 77, 128), id="LA"),
    pytest.param(png((8, 6), "LA", (77, 255)), "RGB", (77, 77, 77), id="LA-opaque"),
    pytest.param(png((8, 6), "1", 1), "RGB", (255, 255, 255), id="1-bit"),
    pytest.param(png((8, 6), "RGBA", (1, 2, 3, 255)), "RGB", (1, 2, 3), id="RGBA-opaque"),
    pytest.param(png((8, 6), "RGBA", (1, 2, 3, 0)), "RGBA", (1, 2, 3, 0), id="RGBA-transparent"),
    pytest.param(png((8, 6), "RGB", (1, 2, 3)), "RGB", (1, 2, 3), id="RGB"),
    pytest.param(png((8, 6), "I;16", 0xFFFF), "RGB", (255, 255, 255), id="I16-white"),
    pytest.param(png((8, 6), "I;16", 0), "RGB", (0, 0, 0), id="I16-black"),
    pytest.param(png((8, 6), "I;16", 0x8000), "RGB", (128, 128, 128), id="I16-mid"),
    pytest.param(png((8, 6), "I;16", 40000), "RGB", (156, 156, 156), id="I16-40000"),
    pytest.param(encode(solid((8, 6), "F", 100.5), "TIFF"), "RGB", (100, 100, 100), id="F-tiff"),
    pytest.param(encode(solid((8, 6), "I;16", 0x8000), "TIFF"), "RGB", (128, 128, 128), id="I16-tiff"),
    pytest.param(encode(solid((8, 6), "RGB", (9, 8, 7)), "BMP"), "RGB", (9, 8, 7), id="BMP"),
]


@pytest.mark.parametrize("data, mode, pixel", MODES)
def test_modes_are_normalised(data, mode, pixel):
    image = decode(data)
    assert image.mode == mode
    assert image.size == (8, 6)
    assert image.getpixel((0, 0)) == pixel


def test_partly_transparent_rgba_keeps_alpha():
    image = Image.new("RGBA", (8, 6), (10, 20, 30, 255))
    image.putpixel((7, 5), (10, 20, 30, 254))
    decoded = decode(encode(image, "PNG"))
    assert decoded.mode == "RGBA"
    assert decoded.getpixel((7, 5)) == (10, 20, 30, 254)
    assert decoded.getpixel((0, 0)) == (10, 20, 30, 255)


def test_palette_with_transparency_becomes_rgba():
    image = decode(palette_with_transparency((8, 6)))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((7, 0)) == (255, 0, 0, 255)


def test_palette_without_transparency_becomes_rgb():
    p = Image.new("P", (8, 6), 1)
    p.putpalette([0, 0, 0, 0, 128, 255] + [0] * 762)
    image = decode(encode(p, "PNG"))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (0, 128, 255)


def test_gif_with_transparency_becomes_rgba():
    p = Image.new("P", (8, 6), 0)
    p.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    p.paste(1, (4, 0, 8, 6))
    image = decode(encode(p, "GIF", transparency=0))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((7, 0)) == (0, 255, 0, 255)


def test_cmyk_jpeg_becomes_rgb():
    data = encode(solid((16, 16), "CMYK", (0, 255, 255, 0)), "JPEG")  # no cyan, full magenta+yellow = red
    assert open_image(data).mode == "CMYK"
    image = decode(data)
    assert image.mode == "RGB"
    r, g, b = image.getpixel((8, 8))
    assert r >= 250 and g <= 5 and b <= 5


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("P", (8, 6), i) for i in (1, 2)]
    palette = [0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759
    for f in frames:
        f.putpalette(palette)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    image = decode(data)
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 0, 0)


# --- JPEG draft (DCT scaling) ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_jpeg():
    return jpeg((4000, 3000), quality=50)


@pytest.fixture(scope="module")
def big_jpeg_turned():
    return jpeg((4000, 3000), quality=50, orientation=6)


@pytest.mark.parametrize("covering, size", [
    ((400, 300), (500, 375)),      # 1/8 scale still covers
    ((500, 375), (1000, 750)),     # factor exactly 8: 1/8 would leave no resize step → 1/4
    ((501, 300), (1000, 750)),     # 1/8 is too small in width → 1/4
    ((1000, 1), (2000, 1500)),     # factor exactly 4: 1/4 would leave no resize step → 1/2
    ((1001, 700), (2000, 1500)),
    ((2001, 10), (4000, 3000)),    # only full size covers
    ((4000, 3000), (4000, 3000)),
    (None, (4000, 3000)),
])
def test_jpeg_draft_decodes_at_the_smallest_covering_scale(big_jpeg, covering, size):
    image = decode(big_jpeg, covering=covering)
    assert image.size == size
    assert image.mode == "RGB"


def test_jpeg_draft_gives_at_least_the_covering_box(big_jpeg):
    image = decode(big_jpeg, covering=(400, 300))
    assert 400 <= image.width <= 1000 and image.height >= 300


def test_jpeg_draft_covering_is_in_upright_pixels(big_jpeg_turned):
    # stored 4000×3000, displayed 3000×4000: covering 300×400 upright → decoded at 1/8
    image = decode(big_jpeg_turned, covering=(300, 400))
    assert image.size == (375, 500)
    image = decode(big_jpeg_turned, covering=(400, 300))   # 400 wide upright = 400 tall stored
    assert image.size == (750, 1000)


def test_covering_is_ignored_for_png():
    assert decode(png((64, 32)), covering=(8, 4)).size == (64, 32)


# --- broken sources --------------------------------------------------------------------------------

BROKEN = [
    pytest.param(lambda: jpeg((64, 64))[:300], id="truncated-jpeg"),
    pytest.param(lambda: jpeg((64, 64))[:-200], id="truncated-jpeg-tail"),
    pytest.param(lambda: png((64, 64))[:60], id="truncated-png"),
    pytest.param(lambda: b"GIF89a" + b"\0" * 3, id="truncated-gif-header"),
    pytest.param(lambda: b"this is not an image at all", id="garbage"),
    pytest.param(lambda: b"", id="empty"),
    pytest.param(lambda: b"\xff\xd8\xff" + b"\x00" * 100, id="jpeg-magic-then-zeros"),
]


@pytest.mark.parametrize("make", BROKEN)
def test_broken_data_raises_source_error(make):
    with pytest.raises(SourceError):
        decode(make())


def test_garbage_message_says_not_an_image():
    with pytest.raises(SourceError, match=r"^not an image \(no known image format recognised\)$"):
        open_image(b"garbage bytes")


def test_truncated_jpeg_message_says_cannot_decode():
    data = encode(marked((256, 256)), "JPEG")
    with pytest.raises(SourceError, match=r"^cannot decode image: image file is truncated"):
        decode(data[: len(data) * 3 // 4])


def png_header_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose IHDR claims ``width``×``height`` (valid CRC, no matching pixel data)."""
    data = png((1, 1))
    ihdr = data.index(b"IHDR")
    body = struct.pack(">II", width, height) + data[ihdr + 12: ihdr + 17]
    return data[:ihdr + 4] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + data[ihdr + 21:]


def test_decompression_bomb_far_beyond_the_limit_is_refused():
    with pytest.raises(SourceError, match="exceeds limit"):
        open_image(png_header_claiming(30000, 30000))   # 900 MP
    with pytest.raises(SourceError, match="exceeds limit"):
        decode(png_header_claiming(30000, 30000))


def test_decompression_bomb_beyond_200_megapixels_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(SourceError, match="exceeds limit"):
            open_image(png_header_claiming(20000, 15000))   # 300 MP


def test_icc_profile_of_the_wrong_colour_space_is_ignored():
    # an RGB profile on a grey image cannot be applied: the grey pixels are kept as they are
    image = decode(png((8, 6), "L", 77, icc=swapped_red_blue_profile()))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (77, 77, 77)


@pytest.mark.parametrize("size, covering, scale", [
    ((5640, 3172), (1280, 720), 2),    # factor 4.4: 1/4 would leave 1410 px, too close (aliasing)
    ((6500, 4000), (1280, 788), 4),    # factor 5.08: 1/4 leaves a real resize step
    ((5120, 2880), (1280, 720), 2),    # exactly 4: 1/2
    ((2560, 1600), (1280, 800), 2),    # exactly 2: 1/2 (the 2x2 case is kept, see dct_scale)
    ((1920, 1080), (1280, 720), 1),
    ((12000, 8000), (1280, 853), 8),   # factor 9.4
    ((10240, 5760), (1280, 720), 4),   # exactly 8: 1/4
    ((800, 600), (1280, 960), 1),      # smaller than asked: never scaled
])
def test_dct_scale_leaves_a_resize_step_after_quarter_and_eighth(size, covering, scale):
    assert dct_scale(size, covering) == scale


def test_decode_covering_uses_dct_scale():
    data = jpeg((5640, 3172))
    assert decode(data, covering=(1280, 720)).size == (2820, 1586)
    assert decode(data, covering=(1100, 600)).size == (1410, 793)        # factor 5.1: 1/4

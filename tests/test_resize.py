"""Lanczos resizing with libvips, Pillow images in and out (pipeline/imaging/resize.py)."""

import math
import subprocess
import sys

import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import ROOT
from pipeline.imaging.resize import Resizer


def pattern(size=(300, 200), mode="RGB") -> Image.Image:
    """A smooth image with detail in both directions (no flat areas, no aliasing at 4:1)."""
    w, h = size
    image = Image.new("RGB", size)
    image.putdata([(int(127 + 120 * math.sin(x / 7.0)), int(127 + 120 * math.cos(y / 5.0)),
                    (x * 255 // w + y * 255 // h) // 2) for y in range(h) for x in range(w)])
    return image.convert(mode)


def difference(a: Image.Image, b: Image.Image) -> tuple[float, int]:
    """(mean, max) absolute difference over all channels, in levels 0–255."""
    assert a.mode == b.mode and a.size == b.size
    diff = ImageChops.difference(a, b)
    return sum(ImageStat.Stat(diff).mean) / len(a.mode), max(hi for _, hi in diff.getextrema())


@pytest.mark.parametrize("source, size", [
    ((300, 200), (160, 107)), ((300, 200), (1, 1)), ((300, 200), (300, 1)), ((300, 200), (299, 200)),
    ((300, 200), (100, 200)), ((1920, 1200), (1280, 800)), ((1201, 801), (400, 267)),
])
def test_gives_exactly_the_asked_size(source, size):
    image = Resizer(pattern(source)).to(size)
    assert image.size == size and image.mode == "RGB"


def test_same_size_is_the_image_itself():
    image = pattern()
    assert Resizer(image).to(image.size) is image


@pytest.mark.parametrize("size", [(150, 100), (75, 50), (100, 80)])
def test_is_pillows_lanczos_up_to_rounding(size):
    """Same kernel (Lanczos-3), same pixel centres: a shifted or softer filter fails this."""
    image = pattern()
    ours = Resizer(image).to(size)
    pillow = image.resize(size, Image.Resampling.LANCZOS)
    mean, worst = difference(ours, pillow)
    assert mean < 0.5 and worst <= 2                  # fixed-point rounding (libvips: 12-bit weights)
    assert difference(ours, ImageChops.offset(pillow, 1, 0))[0] > 5   # the test can tell a shift     # the test can tell


def test_alpha_is_premultiplied_while_resampling():
    """A transparent red neighbour must not bleed into the opaque blue half."""
    image = Image.new("RGBA", (64, 32), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (32, 0, 64, 32))
    small = Resizer(image).to((16, 8))
    assert small.mode == "RGBA"
    for x in range(16):
        r, g, b, a = small.getpixel((x, 4))
        if a:
            assert r <= 2 and b >= 250, (x, r, g, b, a)
    mean, worst = difference(small, image.resize((16, 8), Image.Resampling.LANCZOS))
    assert mean < 0.5 and worst <= 3


def test_grey_with_alpha_keeps_its_mode():
    image = pattern().convert("L")
    image.putalpha(200)
    image = image.convert("LA")
    assert Resizer(image).to((30, 20)).mode == "LA"


def test_a_smaller_size_is_made_from_the_kept_larger_one():
    image = pattern((400, 300))
    resizer = Resizer(image)
    middle = resizer.to((200, 150))
    small = resizer.to((50, 38))
    assert small.tobytes() == Resizer(middle).to((50, 38)).tobytes()
    assert small.tobytes() != Resizer(image).to((50, 38)).tobytes()


def test_a_result_not_kept_is_never_a_parent():
    image = pattern((400, 300))
    resizer = Resizer(image)
    resizer.to((200, 100), keep=False)               # stretched: not the image's aspect
    assert resizer.to((100, 50)).tobytes() == Resizer(image).to((100, 50)).tobytes()


def test_enlarging_is_pillows_lanczos():
    image = pattern((100, 60))
    for size in ((140, 84), (140, 50)):                # larger on both sides, larger on one
        assert Resizer(image).to(size).tobytes() == image.resize(size, Image.Resampling.LANCZOS).tobytes()


def test_same_input_gives_the_same_bytes():
    image = pattern((500, 333))
    assert Resizer(image).to((160, 107)).tobytes() == Resizer(image.copy()).to((160, 107)).tobytes()


def test_bad_mode_or_size_is_refused():
    with pytest.raises(ValueError, match="mode 'CMYK'"):
        Resizer(pattern().convert("CMYK"))
    with pytest.raises(ValueError, match="positive"):
        Resizer(pattern()).to((0, 10))


def test_without_libvips_the_import_says_what_to_install():
    code = "import sys; sys.modules['pyvips'] = None; import pipeline.imaging.resize"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert "ImportError: pipeline.imaging.resize needs libvips through pyvips" in result.stderr
    assert "pyvips-binary" in result.stderr

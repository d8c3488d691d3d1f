"""Overlays and effects: unit tests, then golden images (``tests/golden/make_golden.py``)."""

import importlib.util
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from pipeline.imaging import overlays
from pipeline.imaging.overlays import (
    INDICATOR_COLOR,
    PROGRESS_BACKGROUND,
    PROGRESS_COLOR,
    Decoration,
    apply_background,
    apply_blur,
    apply_foreground_layer,
    decorate,
    draw_percent_played,
    draw_played_indicator,
    draw_unplayed_count,
    overlay_scale,
    parse_foreground_layer,
)

_spec = importlib.util.spec_from_file_location(
    "make_golden", Path(__file__).parent / "golden" / "make_golden.py"
)
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)

GREY = (128, 128, 128, 255)
CLEAR = (0, 0, 0, 0)
WHITE = (255, 255, 255, 255)


def solid(size=(300, 450), color=GREY) -> Image.Image:
    return Image.new("RGBA", size, color)


def over(top: tuple, bottom: tuple) -> tuple:
    """One RGBA pixel composited over another, the way Pillow does it."""
    result = Image.new("RGBA", (1, 1), bottom)
    result.alpha_composite(Image.new("RGBA", (1, 1), top))
    return result.getpixel((0, 0))


def close(a: tuple, b: tuple, tolerance: int = 1) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def near_white_pixels(img: Image.Image, box: tuple, threshold: int = 240) -> int:
    """Pixels in ``box`` whose every colour channel is at least ``threshold``."""
    region = img.crop(box)
    return sum(1 for p in region.get_flattened_data() if min(p[:3]) >= threshold)


# --- Decoration: canonicalisation and key() -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {}),
        ({"percent_played": 47}, {"percent_played": 47.0}),
        ({"percent_played": 0}, {}),
        ({"percent_played": -3}, {}),
        ({"percent_played": 100}, {}),
        ({"percent_played": 150.5}, {}),
        ({"percent_played": 99.99}, {"percent_played": 99.99}),
        ({"unplayed_count": 3}, {"unplayed_count": 3}),
        ({"unplayed_count": 0}, {}),
        ({"unplayed_count": -2}, {}),
        ({"unplayed_count": 3, "percent_played": 45}, {"percent_played": 45.0}),
        ({"unplayed_count": 3, "percent_played": 100}, {"unplayed_count": 3}),
        ({"unplayed_count": 3, "played": True}, {"played": True}),
        ({"played": True, "percent_played": 20}, {"played": True, "percent_played": 20.0}),
        ({"blur": 10}, {"blur": 10}),
        ({"blur": 0}, {}),
        ({"blur": -4}, {}),
        ({"background_color": (0, 0, 0, 255)}, {"background_color": (0, 0, 0, 255)}),
        ({"background_color": [1, 2, 3, 4]}, {"background_color": (1, 2, 3, 4)}),
        ({"background_color": (255, 255, 255, 0)}, {}),
        ({"foreground_layer": 0.4}, {"foreground_layer": 0.4}),
        ({"foreground_layer": 0}, {"foreground_layer": 0.0}),
        ({"foreground_layer": -2}, {"foreground_layer": 0.0}),
        ({"foreground_layer": 1}, {}),
        ({"foreground_layer": 1.5}, {}),
        ({"foreground_layer": 0.999}, {}),
        ({"foreground_layer": 0.99}, {"foreground_layer": 0.99}),
    ],
)
def test_canonicalisation(kwargs, expected):
    decoration = Decoration(**kwargs)
    defaults = {
        "percent_played": None,
        "unplayed_count": None,
        "played": False,
        "blur": None,
        "background_color": None,
        "foreground_layer": None,
    }
    assert {name: getattr(decoration, name) for name in defaults} == defaults | expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent_played": float("nan")},
        {"percent_played": float("inf")},
        {"percent_played": "47"},
        {"foreground_layer": float("nan")},
        {"blur": 2.5},
        {"blur": True},
        {"unplayed_count": 1.0},
        {"background_color": (0, 0, 0)},
        {"background_color": (0, 0, 0, 256)},
        {"background_color": (0, 0, 0, 1.0)},
        {"background_color": "#000000"},
    ],
)
def test_invalid_decoration(kwargs):
    with pytest.raises(ValueError):
        Decoration(**kwargs)


def test_equal_parameters_give_equal_decorations():
    assert Decoration(percent_played=45, unplayed_count=3) == Decoration(percent_played=45.0)
    assert Decoration(blur=0, foreground_layer=1) == Decoration()


@pytest.mark.parametrize(
    ("decoration", "key"),
    [
        (Decoration(), ""),
        (Decoration(percent_played=0, unplayed_count=0, blur=0), ""),
        (Decoration(percent_played=45), "pp45"),
        (Decoration(percent_played=47.5), "pp47.5"),
        (Decoration(percent_played=0.00001), "pp0.00001"),
        (Decoration(unplayed_count=3), "uc3"),
        (Decoration(played=True), "played"),
        (Decoration(blur=10), "bl10"),
        (Decoration(background_color=(0, 0xA4, 0xDC, 0xCC)), "bg00a4dccc"),
        (Decoration(foreground_layer=0.4), "fg0.4"),
        (Decoration(foreground_layer=0), "fg0"),
        (
            Decoration(
                percent_played=45,
                blur=10,
                background_color=(0, 0, 0, 255),
                foreground_layer=0.4,
            ),
            "pp45-bl10-bg000000ff-fg0.4",
        ),
        (Decoration(unplayed_count=3, blur=1), "uc3-bl1"),
        (Decoration(played=True, percent_played=1), "pp1-played"),
    ],
)
def test_key(decoration, key):
    assert decoration.key() == key
    assert decoration.is_empty() == (key == "")
    assert re.fullmatch(r"[a-z0-9.\-]*", key)


# --- parse_foreground_layer: how Jellyfin reads the string ----------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0.4", 0.4),
        (" 0.7 ", 0.7),
        ("1", 1.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("1e-1", 0.1),
        ("true", 0.4),
        ("abc", 0.4),
        ("0,5", 0.4),
        ("0_5", 0.4),
        ("nan", 0.4),
        ("inf", 0.4),
    ],
)
def test_parse_foreground_layer(text, expected):
    assert parse_foreground_layer(text) == expected


# --- Scaling rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "scale"),
    [
        ((300, 450), 1.0),
        ((200, 300), 1.0),
        ((1920, 1080), 1.0),
        ((100, 150), 0.5),
        ((150, 100), 0.5),
        ((1000, 150), 0.75),
        ((20, 20), 0.1),
        ((0, 10), 0.0),
    ],
)
def test_overlay_scale(size, scale):
    assert overlay_scale(size) == pytest.approx(scale)


# --- Pure functions: no mutation, RGBA in and out, determinism ------------------------------


ALL_STEPS = [
    lambda img: draw_percent_played(img, 47),
    lambda img: draw_unplayed_count(img, 5),
    draw_played_indicator,
    lambda img: apply_blur(img, 3),
    lambda img: apply_foreground_layer(img, 0.4),
    lambda img: apply_background(img, (255, 0, 0, 255)),
    lambda img: decorate(img, Decoration(percent_played=47, blur=3)),
]


@pytest.mark.parametrize("step", ALL_STEPS)
def test_steps_are_pure_and_deterministic(step):
    source = make_golden.source_image((120, 90))
    before = source.tobytes()
    first, second = step(source), step(source)
    assert source.tobytes() == before
    assert first is not source
    assert first.mode == "RGBA" and first.size == source.size
    assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("step", ALL_STEPS)
def test_steps_reject_non_rgba(step):
    with pytest.raises(ValueError, match="RGBA"):
        step(Image.new("RGB", (50, 50)))


@pytest.mark.parametrize("size", [(0, 0), (1, 1), (2, 1), (1, 40), (7, 3)])
@pytest.mark.parametrize("step", ALL_STEPS)
def test_steps_accept_tiny_images(step, size):
    assert step(solid(size)).size == size


def test_empty_decoration_returns_the_image_unchanged():
    source = make_golden.source_image((60, 40))
    assert decorate(source, Decoration()) is source
    assert decorate(source, Decoration(percent_played=100, blur=0)) is source


def test_nothing_to_draw_returns_an_equal_copy():
    source = make_golden.source_image((60, 40))
    for result in (
        draw_percent_played(source, 0),
        draw_percent_played(source, 100),
        draw_unplayed_count(source, 0),
        apply_blur(source, 0),
        apply_foreground_layer(source, 1),
    ):
        assert result is not source and result.tobytes() == source.tobytes()


# --- percentPlayed bar ----------------------------------------------------------------------


def test_bar_geometry_at_scale_1():
    img = draw_percent_played(solid(), 47)
    width, height = img.size
    filled = round((width - 1) * 47 / 100)  # 141
    assert filled == 141
    background = over(PROGRESS_BACKGROUND, GREY)
    for y in range(height - 9, height):  # the last 9 rows
        assert img.getpixel((0, y)) == PROGRESS_COLOR
        assert img.getpixel((filled - 1, y)) == PROGRESS_COLOR
        assert img.getpixel((filled, y)) == background
        assert img.getpixel((width - 2, y)) == background
        assert img.getpixel((width - 1, y)) == GREY  # Jellyfin's rectangle is W-1 wide
    for x in (0, filled, width - 2):
        assert img.getpixel((x, height - 10)) == GREY


def test_bar_fill_rounds_half_to_even_like_convert_toint32():
    # (101 - 1) * 2.5 / 100 = 2.5 → 2; 3.5 → 4.
    assert draw_percent_played(solid((101, 20)), 2.5).getpixel((2, 19)) != PROGRESS_COLOR
    assert draw_percent_played(solid((101, 20)), 2.5).getpixel((1, 19)) == PROGRESS_COLOR
    assert draw_percent_played(solid((101, 20)), 3.5).getpixel((3, 19)) == PROGRESS_COLOR


def test_bar_on_small_image_is_scaled():
    img = draw_percent_played(solid((100, 150)), 50)  # scale 0.5: 4.5 rows → 5
    assert img.getpixel((0, 145)) == PROGRESS_COLOR
    assert img.getpixel((0, 144)) == GREY
    assert img.getpixel((49, 149)) == PROGRESS_COLOR  # round(99 * 0.5) = 50 columns (half even)
    assert img.getpixel((50, 149)) == over(PROGRESS_BACKGROUND, GREY)


# --- unplayedCount and played bubbles -------------------------------------------------------


@pytest.mark.parametrize("draw", [lambda img: draw_unplayed_count(img, 8), draw_played_indicator])
def test_bubble_geometry_at_scale_1(draw):
    img = draw(solid())
    cx, cy = 300 - 38, 38
    bubble = over(INDICATOR_COLOR, GREY)
    for point in [(cx, cy - 16), (cx - 14, cy + 12), (cx + 16, cy - 4), (cx - 3, cy + 17)]:
        assert close(img.getpixel(point), bubble), point  # inside, away from the symbol
    for point in [(cx, cy - 21), (cx, cy + 21), (cx - 21, cy), (cx + 21, cy), (cx - 16, cy - 16)]:
        assert img.getpixel(point) == GREY, point  # outside the radius 20
    # Anti-aliased rim: some pixels between the bubble colour and the background.
    rim = {img.getpixel((x, cy - 10)) for x in range(cx - 20, cx - 15)}
    assert any(p not in (GREY, bubble) for p in rim)
    # Nothing else is touched.
    untouched = img.copy()
    untouched.paste(GREY, (cx - 21, cy - 21, cx + 21, cy + 21))
    assert untouched.tobytes() == solid().tobytes()


def test_unplayed_count_draws_a_centred_white_number():
    img = draw_unplayed_count(solid(), 5)
    cx, cy = 262, 38
    assert near_white_pixels(img, (cx - 20, cy - 20, cx + 20, cy + 20)) > 20
    # Horizontally centred: as much white on each side of the centre (± a few pixels).
    left = near_white_pixels(img, (cx - 20, cy - 20, cx, cy + 20))
    right = near_white_pixels(img, (cx, cy - 20, cx + 20, cy + 20))
    assert abs(left - right) <= max(4, (left + right) // 5)
    # Glyphs stay within the top and bottom of the digits (baseline 38 + 9, size 24).
    assert near_white_pixels(img, (cx - 20, cy + 10, cx + 20, cy + 20)) == 0
    assert near_white_pixels(img, (cx - 20, cy - 20, cx + 20, cy - 10)) == 0


def test_three_digits_use_the_smaller_font():
    two = draw_unplayed_count(solid(), 88)
    three = draw_unplayed_count(solid(), 888)
    box = (242, 18, 282, 58)
    # 18 px digits are shorter than 24 px ones: no white in the rows the big ones reach.
    assert near_white_pixels(two, (242, 29, 282, 31)) > 0
    assert near_white_pixels(three, (242, 29, 282, 31)) == 0
    assert near_white_pixels(three, box) > 20


def test_played_indicator_has_a_white_check_mark():
    img = draw_played_indicator(solid())
    assert near_white_pixels(img, (242, 18, 282, 58)) > 40
    assert near_white_pixels(solid(), (242, 18, 282, 58)) == 0
    # The mark's two strokes: lower left of the centre, and upper right.
    assert min(img.getpixel((262 - 4, 38 + 5))[:3]) >= 240
    assert min(img.getpixel((262 + 7, 38 - 5))[:3]) >= 240


def test_bubble_on_small_image_is_scaled():
    img = draw_unplayed_count(solid((100, 150)), 5)  # scale 0.5: centre (81, 19), radius 10
    bubble = over(INDICATOR_COLOR, GREY)
    assert close(img.getpixel((81, 11)), bubble)
    assert img.getpixel((81, 7)) == GREY
    assert img.getpixel((62, 38)) == GREY  # where the unscaled bubble would be
    assert img.getpixel((69, 19)) == GREY
    assert near_white_pixels(img, (71, 9, 91, 29), threshold=160) > 5  # 12 px digit


def test_bubble_is_unscaled_on_wide_images():
    img = draw_unplayed_count(solid((480, 270)), 5)
    assert close(img.getpixel((480 - 38, 38 - 16)), over(INDICATOR_COLOR, GREY))
    assert img.getpixel((480 - 38, 38 - 21)) == GREY


# --- blur, foregroundLayer, backgroundColor -------------------------------------------------


def test_blur_is_gaussian_with_decal_edges():
    img = apply_blur(solid((100, 100), (200, 40, 40, 255)), 5)
    assert close(img.getpixel((50, 50)), (200, 40, 40, 255))  # flat area: unchanged
    corner, edge = img.getpixel((0, 0)), img.getpixel((0, 50))
    assert corner[3] < edge[3] < 255  # fades towards the transparent outside
    assert close(corner[:3], (200, 40, 40), 2)  # premultiplied: no dark fringe in colour


def test_blur_softens_edges():
    source = solid((60, 20), (0, 0, 0, 255))
    source.paste((255, 255, 255, 255), (30, 0, 60, 20))
    img = apply_blur(source, 2)
    assert 0 < img.getpixel((29, 10))[0] < 128 < img.getpixel((30, 10))[0] < 255


def test_foreground_layer_darkens_as_jellyfin():
    # opacity 0.4 → black at alpha (byte)(0.6 * 255) = 153 over white: 255 - 153 = 102.
    assert close(apply_foreground_layer(solid(color=WHITE), 0.4).getpixel((0, 0)), (102,) * 3 + (255,))
    assert apply_foreground_layer(solid(color=WHITE), 0).getpixel((0, 0)) == (0, 0, 0, 255)
    assert apply_foreground_layer(solid(color=WHITE), 1).getpixel((0, 0)) == WHITE
    assert apply_foreground_layer(solid(color=WHITE), 7).getpixel((0, 0)) == WHITE
    assert apply_foreground_layer(solid(color=CLEAR), 0.4).getpixel((0, 0)) == (0, 0, 0, 153)


def test_background_shows_through_transparency_only():
    source = solid((10, 10), CLEAR)
    source.paste(GREY, (5, 0, 10, 10))
    img = apply_background(source, (255, 0, 0, 255))
    assert img.getpixel((0, 0)) == (255, 0, 0, 255)
    assert img.getpixel((9, 9)) == GREY
    with pytest.raises(ValueError):
        apply_background(source, (255, 0, 0))


def test_decorate_order_background_then_foreground_then_indicators():
    img = decorate(
        solid(color=CLEAR),
        Decoration(background_color=WHITE, foreground_layer=0.4, percent_played=50),
    )
    assert close(img.getpixel((10, 10)), (102, 102, 102, 255))  # layer over the background
    assert img.getpixel((0, 449)) == PROGRESS_COLOR  # bar over the layer, not darkened


def test_decorate_blurs_before_the_background():
    img = decorate(solid((100, 100), WHITE), Decoration(blur=5, background_color=(255, 0, 0, 255)))
    corner = img.getpixel((0, 0))
    assert corner[3] == 255 and corner[0] == 255 and 0 < corner[1] < 255  # white fading into red


def test_decorate_draws_played_instead_of_unplayed_count():
    # Decoration drops the count; decorate draws the played mark (same place).
    played = decorate(solid(), Decoration(played=True, unplayed_count=5))
    assert played.tobytes() == draw_played_indicator(solid()).tobytes()


def test_font_ships_with_the_package():
    assert overlays.FONT_FILE.is_file()
    assert overlays.FONT_FILE.parent == Path(overlays.__file__).parent / "fonts"
    assert (overlays.FONT_FILE.parent / "LICENSE").is_file()


# --- Golden images --------------------------------------------------------------------------
#
# Tolerance: the mean absolute difference over all channels must stay below 1.0, and so must
# every 2×2 block's mean absolute difference stay below 40 per channel. Averaging over 2×2
# blocks forgives isolated anti-aliasing differences (a font rasteriser moving a glyph edge by
# a fraction of a pixel) but not a structural change: a line of pixels moved by one (a bar one
# row higher, one more filled column) changes half of every block along it.

MEAN_TOLERANCE = 1.0
BLOCK_TOLERANCE = 40


def difference(actual: Image.Image, expected: Image.Image) -> tuple[float, int]:
    """(mean absolute difference per channel, largest 2×2-block mean difference)."""
    assert actual.mode == expected.mode == "RGBA" and actual.size == expected.size
    diff = ImageChops.difference(actual, expected)
    histogram = diff.histogram()
    total = sum((i % 256) * count for i, count in enumerate(histogram))
    mean = total / (actual.width * actual.height * 4)
    # Per band: reducing an RGBA image would weight colours by the (difference) alpha.
    block = max(band.reduce(2).getextrema()[1] for band in diff.split())
    return mean, block


def assert_matches(actual: Image.Image, expected: Image.Image):
    mean, block = difference(actual, expected)
    assert mean < MEAN_TOLERANCE and block < BLOCK_TOLERANCE, (
        f"differs from the golden image: mean {mean:.3f} (< {MEAN_TOLERANCE}), "
        f"2x2 block {block} (< {BLOCK_TOLERANCE})"
    )


def load_golden(decoration: Decoration, size: tuple[int, int]) -> Image.Image:
    path = make_golden.golden_path(decoration, size)
    assert path.is_file(), f"{path.name} missing: run tests/golden/make_golden.py"
    with Image.open(path) as img:
        return img.convert("RGBA")


@pytest.mark.parametrize(
    ("decoration", "size"),
    make_golden.CASES,
    ids=[make_golden.golden_path(d, s).stem for d, s in make_golden.CASES],
)
def test_golden(decoration, size):
    assert_matches(decorate(make_golden.source_image(size), decoration), load_golden(decoration, size))


def test_every_golden_file_is_a_case():
    expected = {make_golden.golden_path(d, s).name for d, s in make_golden.CASES}
    assert {p.name for p in make_golden.GOLDEN_DIR.glob("*.png")} == expected


def test_golden_comparison_fails_on_a_bar_one_row_higher():
    decoration, size = Decoration(percent_played=47), (300, 450)
    rendered = decorate(make_golden.source_image(size), decoration)
    bar = rendered.crop((0, 450 - 9, 300, 450))
    shifted = rendered.copy()
    shifted.paste(bar, (0, 450 - 10))
    with pytest.raises(AssertionError, match="differs from the golden image"):
        assert_matches(shifted, load_golden(decoration, size))


def test_golden_comparison_fails_on_one_percent_more():
    size = (300, 450)
    rendered = decorate(make_golden.source_image(size), Decoration(percent_played=48))
    with pytest.raises(AssertionError, match="differs from the golden image"):
        assert_matches(rendered, load_golden(Decoration(percent_played=47), size))


def test_golden_comparison_fails_on_a_moved_bubble():
    size = (300, 450)
    rendered = decorate(make_golden.source_image(size), Decoration(unplayed_count=5))
    moved = make_golden.source_image(size)
    moved.paste(rendered.crop((200, 0, 300, 80)), (199, 1))
    with pytest.raises(AssertionError, match="differs from the golden image"):
        assert_matches(moved, load_golden(Decoration(unplayed_count=5), size))


def test_golden_comparison_tolerates_scattered_anti_aliasing_noise():
    decoration, size = Decoration(unplayed_count=5), (300, 450)
    noisy = decorate(make_golden.source_image(size), decoration)
    for x, y in [(255, 30), (259, 34), (265, 41), (268, 45), (257, 47)]:  # around the digit
        noisy.putpixel((x, y), tuple(min(255, c + 100) for c in noisy.getpixel((x, y))))
    assert_matches(noisy, load_golden(decoration, size))


def test_golden_comparison_tolerates_a_sub_pixel_glyph_shift(monkeypatch):
    # What a font-rasteriser change looks like: the digit a quarter of a pixel lower.
    decoration, size = Decoration(unplayed_count=5), (300, 450)
    monkeypatch.setattr(overlays, "COUNT_BASELINE", overlays.COUNT_BASELINE + 0.25)
    assert_matches(decorate(make_golden.source_image(size), decoration), load_golden(decoration, size))


def test_golden_comparison_fails_on_a_whole_pixel_glyph_shift(monkeypatch):
    decoration, size = Decoration(unplayed_count=5), (300, 450)
    monkeypatch.setattr(overlays, "COUNT_BASELINE", overlays.COUNT_BASELINE + 1)
    rendered = decorate(make_golden.source_image(size), decoration)
    with pytest.raises(AssertionError, match="differs from the golden image"):
        assert_matches(rendered, load_golden(decoration, size))

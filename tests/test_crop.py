"""ART19 crop geometry and styles (pipeline/art19/crop.py, seed 003)."""

import math

import pytest

from pipeline.art19.crop import (
    STYLES,
    CropData,
    crop_box,
    preferred_feed_style,
    produced_styles,
    style_size,
    validate,
)


def sizes(box):
    left, top, right, bottom = box
    return {style: style_size(style, right - left, bottom - top) for style in STYLES}


def test_styles_are_in_seed_order():
    assert STYLES == (
        "original", "stripped-original", "regular", "thumb", "square-400",
        "square-640", "square-888", "square-3000", "itunes",
    )


def test_6000x4000_without_crop_is_the_centred_square():
    box = crop_box(None, 6000, 4000)
    assert box == (1000, 0, 5000, 4000)
    assert sizes(box) == {
        "original": None,
        "stripped-original": None,
        "regular": (4000, 4000),
        "thumb": (100, 100),
        "square-400": (400, 400),
        "square-640": (640, 640),
        "square-888": (888, 888),
        "square-3000": (3000, 3000),
        "itunes": (1400, 1400),
    }
    assert produced_styles(4000, 4000) == list(STYLES)


def test_portrait_without_crop():
    assert crop_box(None, 4000, 6000) == (0, 1000, 4000, 5000)


def test_6000x4000_with_crop():
    crop = CropData(left=100, top=150, width=3000, height=3000)
    box = crop_box(crop, 6000, 4000)
    assert box == (100, 150, 3100, 3150)
    assert sizes(box)["regular"] == (3000, 3000)
    assert sizes(box)["square-3000"] == (3000, 3000)


def test_6000x4000_with_small_crop_upscales_fixed_sizes_but_skips_square_3000():
    box = crop_box(CropData(2000, 1000, 500, 500), 6000, 4000)
    assert box == (2000, 1000, 2500, 1500)
    got = sizes(box)
    assert got["regular"] == (500, 500)
    assert got["square-888"] == (888, 888)  # upscaled
    assert got["itunes"] == (1400, 1400)  # upscaled: Apple needs at least 1400
    assert got["square-3000"] is None


def test_2000x2000_has_no_square_3000():
    box = crop_box(None, 2000, 2000)
    assert box == (0, 0, 2000, 2000)
    assert style_size("square-3000", 2000, 2000) is None
    assert "square-3000" not in produced_styles(2000, 2000)
    assert preferred_feed_style(produced_styles(2000, 2000)) == "itunes"


def test_square_3000_needs_both_sides():
    assert style_size("square-3000", 3000, 3000) == (3000, 3000)
    assert style_size("square-3000", 3000, 2999) is None
    assert style_size("square-3000", 2999, 3000) is None


@pytest.mark.parametrize(
    "width, height, box",
    [
        (5, 3, (1, 0, 4, 3)),  # difference 2: centred exactly
        (6, 3, (1, 0, 4, 3)),  # difference 3: offset rounded down, extra pixel on the right
        (3, 6, (0, 1, 3, 4)),  # … or at the bottom
        (4001, 3000, (500, 0, 3500, 3000)),
        (7, 7, (0, 0, 7, 7)),
        (1, 1, (0, 0, 1, 1)),
    ],
)
def test_odd_sizes_without_crop(width, height, box):
    assert crop_box(None, width, height) == box


def test_fractional_crop_rounds_half_up_and_stays_square():
    # 10.5 → 11 (not banker's 10); side = min(round(99.5), round(100.4)) = min(100, 100)
    assert crop_box(CropData(10.5, 20.4, 99.5, 100.4), 500, 500) == (11, 20, 111, 120)
    # a 1 px non-square crop gives the smaller side
    assert crop_box(CropData(0, 0, 300, 301), 400, 400) == (0, 0, 300, 300)


def test_rounding_over_the_edge_is_shifted_back_inside():
    # left 0.5 → 1, side round(9.5) = 10: 1 + 10 > 10, so the box moves back to 0
    assert crop_box(CropData(0.5, 0.5, 9.5, 9.5), 10, 10) == (0, 0, 10, 10)


def test_from_mapping_and_as_dict_round_trip():
    crop = CropData.from_mapping({"left": 100, "top": 150.5, "width": 3000, "height": 3000})
    assert crop == CropData(100.0, 150.5, 3000.0, 3000.0)
    assert crop.as_dict() == {"left": 100.0, "top": 150.5, "width": 3000.0, "height": 3000.0}
    assert list(crop.as_dict()) == ["left", "top", "width", "height"]


@pytest.mark.parametrize(
    "mapping, field",
    [
        ({"top": 0, "width": 10, "height": 10}, "crop_data.left"),
        ({"left": 0, "width": 10, "height": 10}, "crop_data.top"),
        ({"left": 0, "top": 0, "width": "10", "height": 10}, "crop_data.width"),
        ({"left": 0, "top": 0, "width": 10, "height": True}, "crop_data.height"),
        ({"left": math.nan, "top": 0, "width": 10, "height": 10}, "crop_data.left"),
        ({"left": 0, "top": math.inf, "width": 10, "height": 10}, "crop_data.top"),
        ({"left": 0, "top": 0, "width": 10, "height": 10, "x": 1}, "crop_data.x"),
        ([0, 0, 10, 10], "crop_data"),
    ],
)
def test_from_mapping_names_the_bad_field(mapping, field):
    with pytest.raises(ValueError, match=f"^{field.replace('.', '[.]')}:"):
        CropData.from_mapping(mapping)


@pytest.mark.parametrize(
    "crop, field",
    [
        (CropData(-1, 0, 100, 100), "crop_data.left"),
        (CropData(0, -0.5, 100, 100), "crop_data.top"),
        (CropData(0, 0, 0, 0), "crop_data.width"),
        (CropData(0, 0, 10, 0.5), "crop_data.height"),
        (CropData(5901, 0, 100, 100), "crop_data.width"),  # right edge 6001 > 6000
        (CropData(0, 3901, 100, 100), "crop_data.height"),  # bottom edge 4001 > 4000
        (CropData(0, 0, 3000, 2000), "crop_data.height"),  # not square
        (CropData(0, 0, 100, 101.5), "crop_data.height"),  # 1.5 px off
    ],
)
def test_invalid_crops_name_the_field(crop, field):
    with pytest.raises(ValueError, match=f"^{field.replace('.', '[.]')}:"):
        validate(crop, 6000, 4000)
    with pytest.raises(ValueError, match=f"^{field.replace('.', '[.]')}:"):
        crop_box(crop, 6000, 4000)


def test_crop_touching_the_edges_and_1px_off_square_are_valid():
    validate(CropData(2000, 0, 4000, 4000), 6000, 4000)
    validate(CropData(0, 0, 100, 101), 6000, 4000)


def test_unknown_style_is_an_error():
    with pytest.raises(ValueError, match="square-500"):
        style_size("square-500", 100, 100)


def test_preferred_feed_style():
    assert preferred_feed_style(STYLES) == "square-3000"
    assert preferred_feed_style(["itunes", "thumb"]) == "itunes"
    with pytest.raises(ValueError):
        preferred_feed_style(["thumb", "regular"])

"""``parse_color``: every accepted form of ``backgroundColor`` and the errors."""

import pytest

from pipeline.model.colors import parse_color

VALID = [
    # Hex, the Jellyfin/Skia way (SKColor.Parse): '#' optional, case-insensitive, trimmed.
    ("#000000", (0, 0, 0, 255)),
    ("000000", (0, 0, 0, 255)),
    ("#00A4DC", (0x00, 0xA4, 0xDC, 255)),
    ("00a4dc", (0x00, 0xA4, 0xDC, 255)),
    ("  #00a4dc \t", (0x00, 0xA4, 0xDC, 255)),
    ("#fff", (255, 255, 255, 255)),
    ("F80", (0xFF, 0x88, 0x00, 255)),
    # 8 and 4 digits are ALPHA FIRST (Skia), not CSS's #rrggbbaa / #rgba.
    ("#80ff0000", (255, 0, 0, 0x80)),
    ("80FF0000", (255, 0, 0, 0x80)),
    ("#99000000", (0, 0, 0, 0x99)),
    ("#CC00A4DC", (0x00, 0xA4, 0xDC, 0xCC)),
    ("#00ffffff", (255, 255, 255, 0)),
    ("#8f00", (255, 0, 0, 0x88)),
    ("0fff", (255, 255, 255, 0)),
    # CSS forms, read by Pillow's ImageColor.
    ("black", (0, 0, 0, 255)),
    ("Red", (255, 0, 0, 255)),
    ("  white  ", (255, 255, 255, 255)),
    ("rebeccapurple", (0x66, 0x33, 0x99, 255)),
    ("rgb(0, 164, 220)", (0, 164, 220, 255)),
    ("rgb(100%,0%,0%)", (255, 0, 0, 255)),
    ("rgba(255,0,0,128)", (255, 0, 0, 128)),
    ("hsl(0,100%,50%)", (255, 0, 0, 255)),
    ("hsv(120,100%,100%)", (0, 255, 0, 255)),
]

INVALID = [
    "",
    "   ",
    "#",
    "#12",
    "#12345",
    "1234567",
    "#123456789",
    "#ggg",
    "#00a4dz",
    "notacolor",
    "rgb(1,2)",
    "rgb(1,2,3",
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_parses(text, expected):
    assert parse_color(text) == expected


@pytest.mark.parametrize("text", INVALID)
def test_rejects(text):
    with pytest.raises(ValueError, match="backgroundColor"):
        parse_color(text)


@pytest.mark.parametrize("value", [None, 0x000000, b"#000000"])
def test_rejects_non_strings(value):
    with pytest.raises(ValueError, match="must be a string"):
        parse_color(value)


def test_error_names_the_value_and_the_forms():
    with pytest.raises(ValueError) as excinfo:
        parse_color("blurple")
    message = str(excinfo.value)
    assert "'blurple'" in message and "aarrggbb" in message and "rgb(" in message


def test_returns_plain_int_tuples():
    for text, _ in VALID:
        color = parse_color(text)
        assert isinstance(color, tuple) and len(color) == 4
        assert all(type(c) is int and 0 <= c <= 255 for c in color)

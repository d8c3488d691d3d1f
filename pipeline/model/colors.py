"""Parse the ``backgroundColor`` query parameter into an RGBA tuple.

Sources:

- Jellyfin ``src/Jellyfin.Drawing.Skia/SkiaEncoder.cs`` (``EncodeImage``): the parameter string
  goes unchanged to ``canvas.Clear(SKColor.Parse(options.BackgroundColor))``; the API
  (``Jellyfin.Api/Controllers/ImageController.cs``) passes it through as a plain string.
- SkiaSharp ``binding/SkiaSharp/SKColor.cs`` (``SKColor.TryParse``): trims whitespace, drops a
  leading ``#`` (so ``backgroundColor=000000`` works without it), then reads 3, 4, 6 or 8 hex
  digits as ``RGB``, ``ARGB``, ``RRGGBB`` or ``AARRGGBB``: **alpha first**. Anything else throws.
- Pillow ``PIL.ImageColor.getrgb``: CSS forms (``red``, ``rgb(…)``, ``rgba(…)``, ``hsl(…)``,
  ``hsv(…)``, ``#rgb``, ``#rrggbb``, …), accepted here as an extension.

Decisions:

- Hex digits, with or without ``#``, are read the Jellyfin/Skia way. Where CSS and Skia disagree
  (4 and 8 digits: CSS/Pillow read ``#rgba`` / ``#rrggbbaa``, Skia ``#argb`` / ``#aarrggbb``)
  **the API form wins**: ``#80ff0000`` is red at alpha 0x80, never ``rgba(128,255,0,0)``.
- Anything that is not 3/4/6/8 hex digits goes to Pillow's ``ImageColor`` (no CSS colour name
  consists only of hex digits, so the two readings never overlap). Jellyfin itself would reject
  these forms; accepting them is harmless and convenient.
"""

import re

RGBA = tuple[int, int, int, int]

_SKIA_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def parse_color(text: str) -> RGBA:
    """Parse a ``backgroundColor`` value into ``(red, green, blue, alpha)``, each 0-255.

    Hex forms (``#`` optional, case-insensitive, surrounding whitespace ignored) follow Skia's
    ``SKColor.Parse``: ``rgb``, ``argb``, ``rrggbb``, ``aarrggbb`` (alpha first). Other forms are
    CSS colours as Pillow's ``ImageColor.getrgb`` reads them (names, ``rgb()``, ``rgba()``,
    ``hsl()``, ``hsv()``); they are opaque unless they carry an alpha.

    Raises ``ValueError`` naming the value when it is empty or not a colour.
    """
    if not isinstance(text, str):
        raise ValueError(f"backgroundColor must be a string, got {type(text).__name__}")
    value = text.strip()
    if not value:
        raise ValueError("backgroundColor is empty")

    match = _SKIA_HEX.fullmatch(value)
    if match:
        return _parse_skia_hex(match.group(1))

    from PIL import ImageColor   # only for CSS forms: the serve side imports no Pillow at module level
    try:
        rgb = ImageColor.getrgb(value)
    except ValueError:
        raise ValueError(
            f"backgroundColor {text!r} is not a colour: expected hex digits "
            "(rgb, argb, rrggbb or aarrggbb, '#' optional; alpha first as in Jellyfin) "
            "or a CSS colour (a name such as 'black', rgb(...), rgba(...), hsl(...))"
        ) from None
    return (*rgb, 255) if len(rgb) == 3 else tuple(rgb)


def _parse_skia_hex(digits: str) -> RGBA:
    """``RGB``/``ARGB`` (one digit per channel, doubled) or ``RRGGBB``/``AARRGGBB``."""
    if len(digits) in (3, 4):
        digits = "".join(d * 2 for d in digits)
    if len(digits) == 6:
        digits = "ff" + digits
    alpha, red, green, blue = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
    return (red, green, blue, alpha)

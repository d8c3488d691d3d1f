"""Jellyfin's image effects and indicators, as pure functions over RGBA Pillow images.

What the image API's ``percentPlayed``, ``unplayedCount``, ``addPlayedIndicator`` (Emby),
``blur``, ``backgroundColor`` and ``foregroundLayer`` parameters draw on a derivative, in
Jellyfin's order (``src/Jellyfin.Drawing.Skia/SkiaEncoder.cs``, ``EncodeImage`` and
``DrawIndicator``):

1. clear the canvas with ``backgroundColor``;
2. draw the resized image, blurred with ``blur`` as the Gaussian σ (``SKImageFilter.CreateBlur``,
   whose default tile mode ``Decal`` lets the edges fade towards transparent);
3. cover everything with the ``foregroundLayer``: black at alpha ``(byte)((1 - opacity) * 255)``;
4. the played check mark, else the ``unplayedCount`` bubble (both top right, same place);
5. the ``percentPlayed`` bar along the bottom.

``decorate`` applies all of it from a canonical ``Decoration``; each step is also a public
function. Every function takes an RGBA image and returns a new RGBA image of the same size (the
input is never modified); the output depends on the input only (no system fonts, no clock).

Geometry and colours (Jellyfin, in output pixels):

- ``PercentPlayedDrawer.cs``: a bar over the last 9 rows; background ``#99000000`` (ARGB) over
  ``x < W-1`` (Jellyfin's width is ``W-1``: the last column stays uncovered), fill ``#FF00A4DC``
  over ``x < Convert.ToInt32((W-1) * percent / 100)`` (rounded half to even).
- ``UnplayedCountIndicator.cs``: circle centre ``(W-38, 38)``, radius 20, ``#CC00A4DC``; the
  number in white, size 24 with its baseline at ``38+9``; 3 or more digits: size 18, baseline
  ``38+7``. Jellyfin positions the text with offsets hand-tuned for its platform font
  (``x-7``, ``x-13``, ``x-15``); here it is centred horizontally on the circle instead, which is
  what those offsets aim at, and stays centred with the font we ship (DejaVu Sans, the usual
  default sans-serif of Linux hosts, in ``pipeline/fonts/``).
- ``PlayedIndicatorDrawer.cs``: the same circle with a white check mark (Jellyfin draws the
  emoji ``✔️`` from whatever font the host has; here a drawn polyline of the same size).
  Current Jellyfin no longer draws it (``addPlayedIndicator`` was removed from the API); Emby
  and older Jellyfin did, the played mark taking precedence over the unplayed count.

Jellyfin draws the circle without anti-aliasing; here circle, digits and check mark are drawn at
4× and reduced, so they are smooth.

**Scaling rule.** Jellyfin's geometry is fixed in pixels, which suits posters but swamps small
derivatives (on a 100 px wide image the bubble would span 40 % of the width). Every indicator
length (the 38 px offset, the radius, the bar height, font sizes, baselines, the check mark) is
multiplied by ``overlay_scale(size) = min(1, min(width, height) / 200)``. An image whose shorter
side is at least 200 px (every usual poster, thumb and backdrop size) gets Jellyfin's exact
geometry; a smaller one gets a proportionally smaller copy that always fits (the bubble then
stays within the top-right 29 % of the shorter side). The bar still spans the width; its height
is rounded half up to whole rows, at least 1. ``blur`` is not scaled: it is already a number of
output pixels.
"""

import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.model.sizing import round_half_up
from pipeline.model.decoration import (DECORATION_PARAMETERS, DEFAULT_FOREGROUND_LAYER, RGBA, Decoration, _finite, _rgba,
                                       foreground_alpha as _foreground_alpha, parse_foreground_layer)

#: Shorter side (px) from which Jellyfin's geometry is used unscaled; see ``overlay_scale``.
REFERENCE_SIZE = 200
#: Circles, digits and check mark are drawn this many times larger, then reduced (anti-aliasing).
SUPERSAMPLING = 4

# UnplayedCountIndicator.cs / PlayedIndicatorDrawer.cs (pixels at scale 1).
INDICATOR_OFFSET = 38  # OffsetFromTopRightCorner: the circle centre is (W - 38, 38)
INDICATOR_RADIUS = 20
INDICATOR_COLOR: RGBA = (0x00, 0xA4, 0xDC, 0xCC)  # "#CC00A4DC"
SYMBOL_COLOR: RGBA = (255, 255, 255, 255)
COUNT_FONT_SIZE, COUNT_BASELINE = 24, 9  # 1 or 2 digits: size 24, baseline at centre + 9
COUNT_FONT_SIZE_SMALL, COUNT_BASELINE_SMALL = 18, 7  # 3 digits or more
#: The check mark: a polyline relative to the circle centre, and its stroke width.
CHECK_MARK = ((-10.0, -0.5), (-3.5, 6.0), (10.0, -7.5))
CHECK_MARK_WIDTH = 4.5

# PercentPlayedDrawer.cs: IndicatorHeight = 8 and a rectangle from endY - 8 to the bottom: 9 rows.
PROGRESS_HEIGHT = 9
PROGRESS_BACKGROUND: RGBA = (0, 0, 0, 0x99)  # "#99000000"
PROGRESS_COLOR: RGBA = (0x00, 0xA4, 0xDC, 0xFF)  # "#FF00A4DC"

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"


def overlay_scale(size: tuple[int, int]) -> float:
    """The factor applied to every indicator length: ``min(1, min(width, height) / 200)``.

    ``size`` is ``(width, height)`` in pixels. 1.0 (Jellyfin's exact geometry) from a shorter
    side of ``REFERENCE_SIZE`` (200 px) up; 0.5 for 100×150. See the module docstring.
    """
    return min(1.0, min(size) / REFERENCE_SIZE)


def decorate(img: Image.Image, decoration: Decoration) -> Image.Image:
    """Apply a whole ``Decoration`` in Jellyfin's order (SkiaEncoder.cs ``EncodeImage``).

    ``img`` is the resized RGBA image; the result is a new RGBA image of the same size, or
    ``img`` itself when the decoration is empty. Order: background colour under the (blurred)
    image, foreground layer, played mark or else unplayed count, percent-played bar.
    Raises ``ValueError`` when ``img`` is not RGBA.
    """
    _require_rgba(img)
    if decoration.is_empty():
        return img
    out = img
    for name, draw in DRAWERS.items():
        value = getattr(decoration, _FIELDS[name])
        if value is not None and value is not False:
            out = draw(out, value)
    return out


def apply_background(img: Image.Image, rgba: RGBA) -> Image.Image:
    """The image composited over a canvas cleared to ``rgba`` (SkiaEncoder.cs ``canvas.Clear``).

    ``rgba`` is four integers 0-255 (``colors.parse_color``). Opaque images are unchanged;
    transparent parts show the colour. Raises ``ValueError`` for a non-RGBA image or a bad
    colour.
    """
    _require_rgba(img)
    out = Image.new("RGBA", img.size, _rgba(rgba))
    out.alpha_composite(img)
    return out


def apply_blur(img: Image.Image, radius: int) -> Image.Image:
    """Gaussian blur of standard deviation ``radius`` output pixels (SkiaEncoder.cs ``blur``).

    Jellyfin's ``SKImageFilter.CreateBlur(blur, blur)`` takes σ, as Pillow's ``GaussianBlur``
    does, and its ``Decal`` tile mode treats the outside of the image as transparent, so edges
    fade out: here the image is padded with transparency and blurred with premultiplied alpha.
    ``radius`` ≤ 0 returns an unchanged copy. Raises ``ValueError`` for a non-RGBA image.
    """
    _require_rgba(img)
    if radius <= 0:
        return img.copy()
    pad = math.ceil(3 * radius) + 2
    width, height = img.size
    canvas = Image.new("RGBa", (width + 2 * pad, height + 2 * pad), (0, 0, 0, 0))
    canvas.paste(img.convert("RGBa"), (pad, pad))
    blurred = canvas.filter(ImageFilter.GaussianBlur(radius))
    return blurred.crop((pad, pad, pad + width, pad + height)).convert("RGBA")


def apply_foreground_layer(img: Image.Image, opacity: float) -> Image.Image:
    """Cover the image with black at alpha ``(byte)((1 - opacity) * 255)`` (SkiaEncoder.cs).

    ``opacity`` is the ``foregroundLayer`` number (``parse_foreground_layer``), clamped to 0-1:
    1 leaves the image unchanged, 0.4 (Jellyfin's default) darkens by 60 %, 0 is black.
    Transparent pixels become translucent black, as Skia's ``DrawColor`` makes them.
    Raises ``ValueError`` for a non-RGBA image or a non-finite opacity.
    """
    _require_rgba(img)
    alpha = _foreground_alpha(min(1.0, max(0.0, _finite("opacity", opacity))))
    out = img.copy()
    if alpha:
        out.alpha_composite(Image.new("RGBA", img.size, (0, 0, 0, alpha)))
    return out


def draw_percent_played(img: Image.Image, percent: float) -> Image.Image:
    """The progress bar along the bottom edge (PercentPlayedDrawer.cs).

    ``percent`` is 0-100; ≤ 0 or ≥ 100 draws nothing (ImageController drops it). At scale 1 the
    bar covers the last 9 rows: ``#99000000`` over ``x < W-1``, then ``#FF00A4DC`` over
    ``x < round((W-1) * percent / 100)`` (half to even, like ``Convert.ToInt32``). Smaller
    images get a thinner bar (``overlay_scale``). Raises ``ValueError`` for a non-RGBA image.
    """
    _require_rgba(img)
    out = img.copy()
    width, height = img.size
    if not 0 < percent < 100 or width < 2 or height < 1:
        return out
    bar_height = max(1, round_half_up(PROGRESS_HEIGHT * overlay_scale(img.size)))
    top, end_x = height - bar_height, width - 1
    _fill_rect(out, (0, top, end_x, height), PROGRESS_BACKGROUND)
    filled = round(end_x * percent / 100)
    if filled > 0:
        _fill_rect(out, (0, top, filled, height), PROGRESS_COLOR)
    return out


def draw_unplayed_count(img: Image.Image, count: int) -> Image.Image:
    """The unplayed-count bubble in the top-right corner (UnplayedCountIndicator.cs).

    ``count`` ≤ 0 draws nothing. At scale 1: circle centre ``(W-38, 38)``, radius 20,
    ``#CC00A4DC``; the number in white, centred horizontally, size 24 with baseline ``38+9``,
    or for 3 digits and more size 18 with baseline ``38+7``. Scaled by ``overlay_scale``.
    Raises ``ValueError`` for a non-RGBA image.
    """
    _require_rgba(img)
    if count <= 0:
        return img.copy()
    text = str(count)
    if len(text) >= 3:
        font_size, baseline = COUNT_FONT_SIZE_SMALL, COUNT_BASELINE_SMALL
    else:
        font_size, baseline = COUNT_FONT_SIZE, COUNT_BASELINE

    def draw_number(draw: ImageDraw.ImageDraw, centre: tuple[float, float], unit: float):
        font = _font(max(1, round(font_size * unit)))
        position = (centre[0], centre[1] + baseline * unit)
        draw.text(position, text, fill=255, font=font, anchor="ms")

    return _draw_indicator(img, draw_number)


def draw_played_indicator(img: Image.Image) -> Image.Image:
    """The played bubble: the unplayed-count circle with a white check mark.

    Follows PlayedIndicatorDrawer.cs (Emby's ``addPlayedIndicator``): same circle as
    ``draw_unplayed_count``; the check mark (20×13.5 px plus a 4.5 px stroke at scale 1) is
    drawn, not taken from an emoji font. Scaled by ``overlay_scale``. Raises ``ValueError`` for
    a non-RGBA image.
    """
    _require_rgba(img)

    def draw_check_mark(draw: ImageDraw.ImageDraw, centre: tuple[float, float], unit: float):
        points = [(centre[0] + x * unit, centre[1] + y * unit) for x, y in CHECK_MARK]
        draw.line(points, fill=255, width=max(1, round(CHECK_MARK_WIDTH * unit)), joint="curve")

    return _draw_indicator(img, draw_check_mark)


def _draw_indicator(img: Image.Image, draw_symbol) -> Image.Image:
    """The indicator circle plus a white symbol, drawn at ``SUPERSAMPLING``× and reduced.

    ``draw_symbol(draw, centre, unit)`` draws on an "L" coverage mask, ``centre`` being the
    circle centre in mask pixels and ``unit`` the mask pixels per Jellyfin pixel.
    """
    out = img.copy()
    width, height = img.size
    scale = overlay_scale(img.size)
    if scale <= 0:
        return out
    cx, cy, r = width - INDICATOR_OFFSET * scale, INDICATOR_OFFSET * scale, INDICATOR_RADIUS * scale
    # Work on the band holding the circle, wide enough for numbers wider than the circle.
    left, bottom = max(0, math.floor(cx - 2 * r)), min(height, math.ceil(cy + r) + 1)
    ss = SUPERSAMPLING
    mask_size = ((width - left) * ss, bottom * ss)

    circle = Image.new("L", mask_size, 0)
    x0, y0 = round((cx - r - left) * ss), round((cy - r) * ss)
    x1, y1 = round((cx + r - left) * ss), round((cy + r) * ss)
    ImageDraw.Draw(circle).ellipse((x0, y0, x1 - 1, y1 - 1), fill=255)  # covers [x0, x1)
    symbol = Image.new("L", mask_size, 0)
    draw_symbol(ImageDraw.Draw(symbol), ((cx - left) * ss, cy * ss), scale * ss)

    _paint(out, circle.reduce(ss), INDICATOR_COLOR, (left, 0))
    _paint(out, symbol.reduce(ss), SYMBOL_COLOR, (left, 0))
    return out


#: The drawer of each decoration parameter (registry name → (RGBA image, canonical value) →
#: new image), in Jellyfin's drawing order (SkiaEncoder.cs ``EncodeImage``, ``DrawIndicator``).
#: ``Decoration`` already drops the count when the played mark is drawn.
DRAWERS = {
    "blur": apply_blur,
    "backgroundColor": apply_background,
    "foregroundLayer": apply_foreground_layer,
    "addPlayedIndicator": lambda img, played: draw_played_indicator(img),
    "unplayedCount": draw_unplayed_count,
    "percentPlayed": draw_percent_played,
}
_FIELDS = {p.name: p.field for p in DECORATION_PARAMETERS}


def _paint(img: Image.Image, mask: Image.Image, rgba: RGBA, dest: tuple[int, int]):
    """Composite ``rgba`` through the coverage ``mask`` ("L") onto ``img`` at ``dest``, in place."""
    layer = Image.new("RGBA", mask.size, rgba)
    layer.putalpha(mask.point(lambda coverage: (coverage * rgba[3] + 127) // 255))
    img.alpha_composite(layer, dest)


def _fill_rect(img: Image.Image, box: tuple[int, int, int, int], rgba: RGBA):
    """Composite a solid ``rgba`` rectangle ``(left, top, right, bottom)`` onto ``img``, in place."""
    left, top, right, bottom = box
    img.alpha_composite(Image.new("RGBA", (right - left, bottom - top), rgba), (left, top))


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped font at ``size`` px; basic layout (no shaping library), so the same everywhere."""
    return ImageFont.truetype(str(FONT_FILE), size, layout_engine=ImageFont.Layout.BASIC)




def _require_rgba(img: Image.Image):
    if img.mode != "RGBA":
        raise ValueError(f"expected an RGBA image, got mode {img.mode!r}; convert('RGBA') first")

"""ART19 crop geometry and media-asset styles (seed 003, api-reference §5).

An ART19 image may carry ``crop_data`` {left, top, width, height}: the part of the upload used
for all cover art. Every style except ``original`` and ``stripped-original`` is made from that
crop (or, without crop data, from the centred square of side min(W, H)).

Decisions (where the seed is silent):

- **Coordinates** are pixels of the *upright* image, i.e. after EXIF orientation.
- **A crop must be square within 1 px.** ART19 uses the crop for square cover art only; a
  rectangular crop would be silently distorted by every square style, so it is an error naming
  ``crop_data.height``. The 1 px tolerance absorbs rounding in editors that store floats.
- **Rounding:** edges are rounded half up to whole pixels (not Python's banker's ``round``), the
  side of the box is min(rounded width, rounded height), so the box is always exactly square,
  and it is shifted back inside the image when rounding pushed it one pixel over an edge.
- **Small crops are upscaled** for every fixed-size style except ``square-3000``: the seed
  describes ``thumb``, ``square-400/640/888`` and ``itunes`` as "a square version with a size of
  N×N" without a condition, and Apple requires 1400–3000 px, so ``itunes`` is always 1400×1400.
  Only ``square-3000`` has a condition (cropped width and height each ≥ 3000, judged on the
  rounded pixel box); when it fails the style is not produced.
"""

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

from pipeline.model.sizing import round_half_up

FIELDS = ("left", "top", "width", "height")

#: Every ART19 image style, in the seed's order.
STYLES = (
    "original",
    "stripped-original",
    "regular",
    "thumb",
    "square-400",
    "square-640",
    "square-888",
    "square-3000",
    "itunes",
)
#: Styles that are the source file itself (``original``) or the source without metadata.
SOURCE_STYLES = ("original", "stripped-original")
#: Fixed square sizes in pixels (seed 003).
SQUARE_SIZES = {
    "thumb": 100,
    "square-400": 400,
    "square-640": 640,
    "square-888": 888,
    "square-3000": 3000,
    "itunes": 1400,
}


@dataclass(frozen=True)
class CropData:
    """ART19 ``crop_data``: a crop area in pixels (floats) of the upright source image."""

    left: float
    top: float
    width: float
    height: float

    @classmethod
    def from_mapping(cls, data: Mapping) -> "CropData":
        """Build from a mapping with exactly the keys left, top, width, height (pixels).

        Values must be finite real numbers (int or float, not bool). Raises ``ValueError``
        naming the offending field (``crop_data.top: …``) for a missing, unknown or bad field.
        Geometry against the image is checked by ``validate``. Source: api-reference §5.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"crop_data: must be a mapping of {', '.join(FIELDS)}")
        for key in data:
            if key not in FIELDS:
                raise ValueError(f"crop_data.{key}: unknown field (expected {', '.join(FIELDS)})")
        values = []
        for key in FIELDS:
            if key not in data:
                raise ValueError(f"crop_data.{key}: missing")
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"crop_data.{key}: must be a finite number of pixels, got {value!r}")
            values.append(float(value))
        return cls(*values)

    def as_dict(self) -> dict[str, float]:
        """The JSON:API ``crop_data`` object {left, top, width, height} (pixels, floats)."""
        return asdict(self)


def validate(crop: CropData, image_width: int, image_height: int) -> None:
    """Check that ``crop`` fits an upright image of ``image_width`` × ``image_height`` pixels.

    Rules: left, top ≥ 0; width, height ≥ 1 (a sub-pixel crop has no pixel to show);
    left + width ≤ image width; top + height ≤ image height; |width − height| ≤ 1 (square cover
    art, see the module docstring). Raises ``ValueError`` naming the field (``crop_data.width: …``).
    Source: seed 003 (the crop "is the portion of the image used for all cover art").
    """
    for key in ("left", "top"):
        if getattr(crop, key) < 0:
            raise ValueError(f"crop_data.{key}: must be ≥ 0, got {getattr(crop, key)}")
    for key in ("width", "height"):
        if getattr(crop, key) < 1:
            raise ValueError(f"crop_data.{key}: must be ≥ 1 pixel, got {getattr(crop, key)}")
    if crop.left + crop.width > image_width:
        raise ValueError(
            f"crop_data.width: left + width = {crop.left + crop.width} "
            f"exceeds the image width {image_width}"
        )
    if crop.top + crop.height > image_height:
        raise ValueError(
            f"crop_data.height: top + height = {crop.top + crop.height} "
            f"exceeds the image height {image_height}"
        )
    if abs(crop.width - crop.height) > 1:
        raise ValueError(
            f"crop_data.height: must equal width within 1 px (square cover art), "
            f"got width {crop.width} and height {crop.height}"
        )


def crop_box(crop: CropData | None, width: int, height: int) -> tuple[int, int, int, int]:
    """The square pixel box (left, top, right, bottom) that every cropped style is made from.

    ``width``, ``height``: the upright source size in pixels. With ``crop``: validated first
    (``ValueError`` naming the field), then edges rounded half up, side = min(rounded width,
    rounded height), box shifted back inside the image if rounding pushed it over an edge.
    Without ``crop``: the centred square of side min(width, height); when the difference is odd
    the offset is rounded down, so the extra pixel is left over at the right (or bottom).
    ``right``/``bottom`` are exclusive, as for ``PIL.Image.crop``. Source: seed 003.
    """
    if crop is None:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side
    validate(crop, width, height)
    side = min(round_half_up(crop.width), round_half_up(crop.height))
    left = min(round_half_up(crop.left), width - side)
    top = min(round_half_up(crop.top), height - side)
    return left, top, left + side, top + side


def style_size(style: str, box_w: int, box_h: int) -> tuple[int, int] | None:
    """Output (width, height) in pixels of ``style`` made from a crop box of ``box_w`` × ``box_h``.

    None when the style is not a resize of the box: ``original`` and ``stripped-original`` (the
    source file itself), and ``square-3000`` when box_w < 3000 or box_h < 3000 (not produced).
    ``regular`` is the box's own size; the other styles are their fixed square, upscaled when the
    box is smaller (see the module docstring). Raises ``ValueError`` for an unknown style.
    Source: seed 003.
    """
    if style not in STYLES:
        raise ValueError(f"unknown ART19 style {style!r} (expected one of {', '.join(STYLES)})")
    if style in SOURCE_STYLES:
        return None
    if style == "regular":
        return box_w, box_h
    if style == "square-3000" and (box_w < 3000 or box_h < 3000):
        return None
    side = SQUARE_SIZES[style]
    return side, side


def produced_styles(box_w: int, box_h: int) -> list[str]:
    """The styles an image with a crop box of ``box_w`` × ``box_h`` pixels has, in ``STYLES`` order.

    All styles except ``square-3000`` when the box is smaller than 3000 px on a side. Source: seed 003.
    """
    return [s for s in STYLES if s in SOURCE_STYLES or style_size(s, box_w, box_h) is not None]


def preferred_feed_style(available_styles: Iterable[str]) -> str:
    """The style to use as a feed's main image: ``square-3000`` if available, else ``itunes``.

    Raises ``ValueError`` when neither is available (the style list is then incomplete: ``itunes``
    is always produced). Source: seed 003, "Preferred image used in feeds".
    """
    available = set(available_styles)
    for style in ("square-3000", "itunes"):
        if style in available:
            return style
    raise ValueError("neither square-3000 nor itunes is available for the feed image")

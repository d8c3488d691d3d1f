"""The output size of an image request: Jellyfin's rule, never upscaled.

Source: api-reference §1 "Output size", i.e. Jellyfin's ``ImageHelper.GetNewImageSize``:
``DrawingUtils.Resize`` (width/height/maxWidth/maxHeight), then ``ResizeFill`` on its result,
then ``ScaleDownToFit`` (Jellyfin 12) so the result is never larger than the source.
All values are pixels; rounding is half-to-even like C#'s ``Convert.ToInt32`` (Python's ``round``).
"""

import math
from dataclasses import dataclass, fields

def round_half_up(value: float) -> int:
    """Round half up to a whole number of pixels (2.5 → 3, -2.5 → -2), unlike Python's
    half-to-even ``round``. Used where our own rules (overlay bar heights, ART19 crop boxes), not
    Jellyfin's, decide the rounding."""
    return math.floor(value + 0.5)


SIZE_PARAMETERS = ("width", "height", "maxWidth", "maxHeight", "fillWidth", "fillHeight")


@dataclass(frozen=True)
class SizeRequest:
    """The size parameters of an image request, in pixels; None (or ≤ 0) means absent.

    Field names are the API's query parameter names (api-reference §1).
    """

    width: int | None = None
    height: int | None = None
    maxWidth: int | None = None
    maxHeight: int | None = None
    fillWidth: int | None = None
    fillHeight: int | None = None

    def __post_init__(self):
        # An unset value counts as absent; so does 0 (the legacy path form's "no value").
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value <= 0:
                object.__setattr__(self, f.name, None)

    def is_empty(self) -> bool:
        """True when no size parameter is set (the request asks for the source size)."""
        return all(getattr(self, name) is None for name in SIZE_PARAMETERS)

    def keeps_aspect(self) -> bool:
        """False only when both width and height force an exact (possibly distorted) size."""
        return not (self.width and self.height)

    def describe(self) -> str:
        """Query-string form of the set parameters, e.g. ``"fillWidth=228&fillHeight=342"``."""
        return "&".join(f"{n}={getattr(self, n)}" for n in SIZE_PARAMETERS if getattr(self, n))


def _new_width(current_h: int, current_w: int, new_h: float) -> int:
    return round(new_h / current_h * current_w)


def _new_height(current_h: int, current_w: int, new_w: float) -> int:
    return round(new_w / current_w * current_h)


def output_size(source_width: int, source_height: int, request: SizeRequest) -> tuple[int, int]:
    """Pixel size (width, height) of the answer to ``request`` for a W×H source.

    1. ``width`` and ``height`` → exactly that; only one → the other keeps the aspect ratio;
       then ``maxHeight`` and then ``maxWidth`` shrink it (aspect kept). With neither, W×H.
    2. ``fillWidth``/``fillHeight`` (a missing one counts as 1): ``r = min(w/fillW, h/fillH)``;
       if ``r ≥ 1`` the size becomes ``(ceil(w/r), ceil(h/r))`` (covers the box, not cropped).
    3. Never larger than the source: if w > W or h > H, scale by ``1/max(w/W, h/H)``, round,
       clamp each side to [1, source side].

    Raises ValueError when the source size is not positive.
    """
    if source_width <= 0 or source_height <= 0:
        raise ValueError(f"source size must be positive, got {source_width}x{source_height}")
    r = request
    w, h = source_width, source_height
    if r.width and r.height:
        w, h = r.width, r.height
    elif r.height:
        w, h = _new_width(h, w, r.height), r.height
    elif r.width:
        w, h = r.width, _new_height(h, w, r.width)
    if r.maxHeight and r.maxHeight < h:
        w, h = _new_width(h, w, r.maxHeight), r.maxHeight
    if r.maxWidth and r.maxWidth < w:
        w, h = r.maxWidth, _new_height(h, w, r.maxWidth)
    w, h = max(w, 1), max(h, 1)

    if r.fillWidth or r.fillHeight:
        fill_w, fill_h = r.fillWidth or 1, r.fillHeight or 1
        ratio = min(w / fill_w, h / fill_h)
        if ratio >= 1:
            w, h = math.ceil(w / ratio), math.ceil(h / ratio)

    if w > source_width or h > source_height:
        scale = max(w / source_width, h / source_height)
        w = min(max(round(w / scale), 1), source_width)
        h = min(max(round(h / scale), 1), source_height)
    return w, h

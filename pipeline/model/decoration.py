"""``Decoration``: the overlay and effect parameters of one derivative, a value type.

The query parameters of api-reference §1 (``percentPlayed``, ``unplayedCount``,
``addPlayedIndicator``, ``blur``, ``backgroundColor``, ``foregroundLayer``) canonicalised the way
Jellyfin's ``ImageController``/``SkiaEncoder`` read them. The drawing lives in
``pipeline.imaging.overlays``; this module imports no Pillow, so the serve side can use it.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

RGBA = tuple[int, int, int, int]

#: SkiaEncoder.cs: the opacity used when ``foregroundLayer`` is set but is not a number.
DEFAULT_FOREGROUND_LAYER = 0.4


@dataclass(frozen=True)
class Decoration:
    """The overlay and effect parameters of one derivative, canonicalised on construction.

    Fields (Jellyfin's query parameter in brackets):

    - ``percent_played`` [percentPlayed]: 0-100; ≤ 0 or ≥ 100 becomes None (ImageController;
      Emby and Jellyfin ≤ 10.8 turned ≥ 100 into the played mark: set ``played`` for that).
    - ``unplayed_count`` [unplayedCount]: ≤ 0 becomes None; None as well when
      ``percent_played`` is set (ImageController) or when ``played`` is (DrawIndicator draws
      the played mark instead, in the same place).
    - ``played`` [addPlayedIndicator, Emby]: draw the check mark.
    - ``blur`` [blur]: Gaussian σ in output pixels, an int; ≤ 0 becomes None.
    - ``background_color`` [backgroundColor]: RGBA 0-255 (see ``colors.parse_color``); fully
      transparent becomes None (the canvas is transparent already).
    - ``foreground_layer`` [foregroundLayer]: the opacity as Jellyfin reads it (see
      ``parse_foreground_layer``), clamped to 0-1; a value whose black layer has alpha 0 (above
      254/255) becomes None.

    Raises ``ValueError`` for a non-finite number, a non-integer blur or count, or a colour
    that is not four integers 0-255.
    """

    percent_played: float | None = None
    unplayed_count: int | None = None
    played: bool = False
    blur: int | None = None
    background_color: RGBA | None = None
    foreground_layer: float | None = None

    def __post_init__(self):
        percent = _finite("percent_played", self.percent_played)
        if percent is not None and not 0 < percent < 100:
            percent = None
        played = bool(self.played)
        count = _integer("unplayed_count", self.unplayed_count)
        if count is not None and (count <= 0 or percent is not None or played):
            count = None
        blur = _integer("blur", self.blur)
        if blur is not None and blur <= 0:
            blur = None
        color = self.background_color
        if color is not None:
            color = _rgba(color)
            if color[3] == 0:
                color = None
        opacity = _finite("foreground_layer", self.foreground_layer)
        if opacity is not None:
            opacity = min(1.0, max(0.0, opacity))
            if foreground_alpha(opacity) == 0:
                opacity = None
        for name, value in (
            ("percent_played", percent),
            ("unplayed_count", count),
            ("played", played),
            ("blur", blur),
            ("background_color", color),
            ("foreground_layer", opacity),
        ):
            object.__setattr__(self, name, value)

    def is_empty(self) -> bool:
        """True when nothing is drawn: ``decorate`` then returns the image unchanged."""
        return not self.key()

    def key(self) -> str:
        """A short, canonical, file-name-safe name of the set fields, '' when none is set.

        Set fields in this fixed order, joined by '-': ``pp<percent>``,
        ``uc<count>``, ``played``, ``bl<blur>``, ``bg<rrggbbaa>`` (lowercase hex, CSS order),
        ``fg<opacity>``; numbers in plain decimal, shortest exact form (``pp47.5``, ``fg0.4``).
        Example: ``pp45-bl10-bg000000ff-fg0.4``. Equal decorations have equal keys.
        """
        parts = []
        if self.percent_played is not None:
            parts.append(f"pp{_plain_number(self.percent_played)}")
        if self.unplayed_count is not None:
            parts.append(f"uc{self.unplayed_count}")
        if self.played:
            parts.append("played")
        if self.blur is not None:
            parts.append(f"bl{self.blur}")
        if self.background_color is not None:
            parts.append("bg" + "".join(f"{c:02x}" for c in self.background_color))
        if self.foreground_layer is not None:
            parts.append(f"fg{_plain_number(self.foreground_layer)}")
        return "-".join(parts)


def parse_foreground_layer(text: str | None) -> float | None:
    """Read the ``foregroundLayer`` query value as Jellyfin does (SkiaEncoder.cs).

    None, empty or blank means no layer (``IsNullOrWhiteSpace``) and returns None. A number is
    returned as is (invariant culture: '.' is the decimal separator; Jellyfin uses the server's
    culture). Anything else, e.g. ``true``, still draws a layer: it returns
    ``DEFAULT_FOREGROUND_LAYER`` (0.4), as ``double.TryParse`` failing does in Jellyfin.
    Clamping to 0-1 is left to ``Decoration``/``apply_foreground_layer``.
    """
    if text is None or not text.strip():
        return None
    if "_" in text:  # Python's float() accepts "1_0"; .NET does not.
        return DEFAULT_FOREGROUND_LAYER
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_FOREGROUND_LAYER
    return value if math.isfinite(value) else DEFAULT_FOREGROUND_LAYER


def foreground_alpha(opacity: float) -> int:
    """C#'s ``(byte)((1 - opacity) * 0xFF)`` for an opacity in 0-1 (truncation)."""
    return int((1 - opacity) * 0xFF)


def _plain_number(value: float) -> str:
    """Shortest exact decimal form without exponent: 45.0 → '45', 1e-05 → '0.00001'."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _finite(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _integer(name: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _rgba(color) -> RGBA:
    values = tuple(color)
    if len(values) != 4 or not all(
        isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in values
    ):
        raise ValueError(f"colour must be four integers 0-255 (RGBA), got {color!r}")
    return values

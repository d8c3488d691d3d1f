"""``Decoration``: the overlay and effect parameters of one derivative, a value type.

The query parameters of api-reference §1 (``percentPlayed``, ``unplayedCount``,
``addPlayedIndicator``, ``blur``, ``backgroundColor``, ``foregroundLayer``) canonicalised the way
Jellyfin's ``ImageController``/``SkiaEncoder`` read them. The drawing lives in
``pipeline.imaging.overlays``; this module imports no Pillow, so the serve side can use it.
"""

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from pipeline.model.colors import parse_color

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
        for p in DECORATION_PARAMETERS:        # each field on its own (range, canonical form)
            object.__setattr__(self, p.field, p.canonical(getattr(self, p.field)))
        # one indicator in the top-right corner: the played mark, else the count; and
        # ImageController drops the count when a percentage is given
        if self.unplayed_count is not None and (self.percent_played is not None or self.played):
            object.__setattr__(self, "unplayed_count", None)

    def is_empty(self) -> bool:
        """True when nothing is drawn: ``decorate`` then returns the image unchanged."""
        return not self.key()

    def key(self) -> str:
        """A short, canonical, file-name-safe name of the set fields, '' when none is set.

        Set fields in the registry's order (``DECORATION_PARAMETERS``), joined by '-':
        ``pp<percent>``, ``uc<count>``, ``played``, ``bl<blur>``, ``bg<rrggbbaa>`` (lowercase
        hex, CSS order), ``fg<opacity>``; numbers in plain decimal, shortest exact form
        (``pp47.5``, ``fg0.4``). Example: ``pp45-bl10-bg000000ff-fg0.4``. Equal decorations
        have equal keys.
        """
        return "-".join(p.key(value) for p in DECORATION_PARAMETERS
                        if (value := getattr(self, p.field)) is not None and value is not False)


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


# --- the registry of decoration parameters -------------------------------------------------------

HUGE = 10**18   # what parse_integer reads a longer number as (nginx reads it as just as large)
_INTEGER = re.compile(r"[+-]?[0-9]+")   # ASCII digits only: int() also takes 1_000 and ３００


def parse_integer(text: str, name: str) -> int:
    """A query value that must be a whole number (ASCII digits, optional sign); raises
    ``ValueError("<name> must be an integer, got '…'")``. More than 18 significant digits
    read as ±``HUGE``, so a 5,000-digit value costs nothing and fits every comparison."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{name} must be an integer, got {text!r}")
    if len(text.lstrip("+-0")) > 18:   # as large as any size gets: no 5,000-digit int() (ValueError)
        return -HUGE if text.startswith("-") else HUGE
    return int(text)


def parse_number(text: str, name: str) -> float:
    """A query value that must be a finite number (Python's ``float`` syntax); raises
    ``ValueError`` naming ``name``."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {text!r}")
    return value


def _parse_boolean(text: str, name: str) -> bool:
    flag = text.lower()
    if flag not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, got {text!r}")
    return flag == "true"


def _parse_color(text: str, name: str) -> RGBA:
    try:
        return parse_color(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


#: How a query value of each parameter type is read: (text, name) → value; raises ValueError.
QUERY_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "number": parse_number,
    "integer": parse_integer,
    "boolean": _parse_boolean,
    "color": _parse_color,
    "opacity": lambda text, name: parse_foreground_layer(text),   # never an error (SkiaEncoder.cs)
}


def _percent(value):
    number = _finite("percent_played", value)
    return number if number is not None and 0 < number < 100 else None


def _positive(field: str):
    def canonical(value):
        number = _integer(field, value)
        return number if number is not None and number > 0 else None
    return canonical


def _color(value):
    if value is None:
        return None
    color = _rgba(value)
    return None if color[3] == 0 else color


def _opacity(value):
    number = _finite("foreground_layer", value)
    if number is None:
        return None
    number = min(1.0, max(0.0, number))
    return None if foreground_alpha(number) == 0 else number


@dataclass(frozen=True)
class DecorationParameter:
    """One decoration parameter (api-reference §1; Jellyfin ``ImageController``/``SkiaEncoder``).

    ``name``: the query name (and the settings key in ``variants``); ``aliases``: other
    spellings clients send (query names are case-insensitive anyway); ``field``: the
    ``Decoration`` attribute; ``type``: how a value is read: ``number``, ``integer``,
    ``boolean``, ``color`` or ``opacity`` (``QUERY_PARSERS``; settings.py and the nginx checks
    have one reader per type too); ``range``: the values that draw something (others become
    "not set"), in words; ``canonical``: value → canonical value or None/False (not set),
    raising ValueError for a wrong type; ``key``: canonical value → its part of
    ``Decoration.key()``; ``match``: how a requested value finds a precomputed one:
    ``exact``, or ``nearest`` (the nearest precomputed value, ties → the lower, so progress
    is never overstated).
    """

    name: str
    aliases: tuple[str, ...]
    field: str
    type: str
    range: str
    canonical: Callable[[Any], Any]
    key: Callable[[Any], str]
    match: str = "exact"

    def parse_query(self, text: str):
        """The value of a query parameter as sent; raises ValueError naming the parameter."""
        return QUERY_PARSERS[self.type](text, self.name)


#: Every decoration parameter, in ``Decoration.key()`` order. Adding a decoration: a field of
#: ``Decoration``, one entry here, and its drawer in ``pipeline/imaging/overlays.py`` ``DRAWERS``.
DECORATION_PARAMETERS: tuple[DecorationParameter, ...] = (
    DecorationParameter("percentPlayed", ("PercentPlayed",), "percent_played", "number",
                        "0 < p < 100 (≥ 100: set addPlayedIndicator instead)", _percent,
                        lambda v: f"pp{_plain_number(v)}", match="nearest"),
    DecorationParameter("unplayedCount", ("UnplayedCount",), "unplayed_count", "integer",
                        "> 0; dropped with percentPlayed or addPlayedIndicator", _positive("unplayed_count"),
                        lambda v: f"uc{v}"),
    DecorationParameter("addPlayedIndicator", ("AddPlayedIndicator",), "played", "boolean",
                        "true draws the check mark (Emby)", bool, lambda v: "played"),
    DecorationParameter("blur", ("Blur",), "blur", "integer", "> 0 (Gaussian σ, output pixels)",
                        _positive("blur"), lambda v: f"bl{v}"),
    DecorationParameter("backgroundColor", ("BackgroundColor",), "background_color", "color",
                        "any colour but fully transparent", _color,
                        lambda v: "bg" + "".join(f"{c:02x}" for c in v)),
    DecorationParameter("foregroundLayer", ("ForegroundLayer",), "foreground_layer", "opacity",
                        "0 ≤ opacity < 1 (clamped; ≥ 254/255 draws nothing)", _opacity,
                        lambda v: f"fg{_plain_number(v)}"),
)

def parse_query_decorations(raw: dict[str, str]) -> "Decoration":
    """``{query name: value as sent}`` (the set parameters) → the canonical ``Decoration``;
    raises ValueError naming the first malformed parameter (registry order)."""
    fields = {p.field: p.parse_query(raw[p.name]) for p in DECORATION_PARAMETERS if p.name in raw}
    return Decoration(**fields)

"""Pick the precomputed derivative that best answers an image request.

Rule (issue #2, used by serve.py, by the legacy path links and by generated hosting configs):

1. Format: the requested one; none or ``Original`` → the source's own format. No derivative in
   that format → ``FormatNotAvailable`` (a 404 that names the formats that exist).
2. Quality (lossy formats): the precomputed quality nearest to the requested one (or to the
   default quality when none is asked; ties → the higher quality).
3. Decoration (issue #4): a derivative drawn with exactly the requested decoration, except that
   ``percentPlayed`` goes to the nearest precomputed step (ties → the lower one, so progress is
   never overstated). None precomputed in that format → the undecorated derivatives, and the
   choice says the decoration was not applied (serve.py names it in a header, or answers 404 in
   strict mode).
4. Size: the target is ``sizing.output_size`` of the request. The exact size when precomputed
   (with no size and no quality asked: the original file itself); otherwise the smallest
   aspect-keeping derivative at least as large as the target in both sides (the client scales
   down, never up); otherwise the largest one.
"""

from dataclasses import dataclass, replace

from pipeline.model.formats import FORMATS, ORIGINAL
from pipeline.model.decoration import DECORATION_PARAMETERS, Decoration
from pipeline.model.derivative import Derivative
from pipeline.model.sizing import SizeRequest, output_size


class FormatNotAvailable(LookupError):
    """No derivative in the requested format; ``available`` lists the formats that exist."""

    def __init__(self, format: str, available: list[str]):
        self.format, self.available = format, available
        super().__init__(f"format {format} was not precomputed for this image; "
                         f"available: {', '.join(available)}")


@dataclass(frozen=True)
class Choice:
    """The chosen ``derivative``, the ``target`` size computed for the request (pixels), how
    it fits (``"exact"``, ``"larger"``: smallest covering, ``"largest"``: nothing covers) and
    whether the requested decoration was ``applied`` (True when none was requested)."""

    derivative: Derivative
    target: tuple[int, int]
    fit: str
    applied: bool = True


def match_decoration(available: list[Decoration], wanted: Decoration) -> Decoration | None:
    """The precomputed decoration that answers ``wanted``: equal to it, or equal but for one
    parameter whose registry ``match`` is ``nearest`` (``percent_played``), whose nearest
    precomputed value is taken (ties → the lower). None when no match.
    Source: ``decoration.DECORATION_PARAMETERS``."""
    if wanted in available:
        return wanted
    for p in DECORATION_PARAMETERS:
        value = getattr(wanted, p.field)
        if p.match != "nearest" or value is None:
            continue
        steps = [d for d in available if getattr(d, p.field) is not None
                 and replace(d, **{p.field: value}) == wanted]
        if steps:
            return min(steps, key=lambda d: (abs(getattr(d, p.field) - value), getattr(d, p.field)))
    return None


def nearest_quality(available: list[int], wanted: int) -> int:
    """The value of ``available`` nearest to ``wanted`` (0–100); ties go to the higher one."""
    return min(available, key=lambda q: (abs(q - wanted), -q))


def select(derivatives: list[Derivative], source_width: int, source_height: int, source_format: str,
           size: SizeRequest, format: str | None, quality: int | None, default_quality: int,
           decoration: Decoration | None = None) -> Choice:
    """Choose among one image's ``derivatives`` (see the module rule).

    ``source_width``/``source_height``: upright pixels; ``format``: API name or None;
    ``quality``: 0–100 or None; ``decoration``: the requested one or None.
    Raises ``FormatNotAvailable``.
    """
    fmt = source_format if format in (None, ORIGINAL) else format
    candidates = [d for d in derivatives if d.format == fmt]
    applied = True
    chosen = Decoration()
    if decoration is not None and not decoration.is_empty():
        match = match_decoration(list({d.decoration for d in candidates}), decoration)
        applied = match is not None
        chosen = match or chosen
    candidates = [d for d in candidates if d.decoration == chosen]
    if not candidates:  # formats only count where undecorated files exist
        available = sorted({d.format for d in derivatives if d.decoration.is_empty()})
        raise FormatNotAvailable(fmt, [ORIGINAL, *available] if source_format in available else available)
    choice = _select_size(candidates, source_width, source_height, fmt, size, quality, default_quality)
    return replace(choice, applied=applied)


def _select_size(candidates, source_width, source_height, fmt, size, quality, default_quality) -> Choice:
    original = next((d for d in candidates if d.original), None)
    rendered = [d for d in candidates if not d.original]
    if rendered and FORMATS[fmt].lossy:
        q = nearest_quality(sorted({d.quality for d in rendered}), quality if quality is not None else default_quality)
        rendered = [d for d in rendered if d.quality == q]

    target = output_size(source_width, source_height, size)
    full_size = target == (source_width, source_height)
    if original is not None and full_size and (quality is None or not FORMATS[fmt].lossy):
        return Choice(original, target, "exact")
    for d in rendered:
        if (d.width, d.height) == target:
            return Choice(d, target, "exact")
    if original is not None and full_size:
        return Choice(original, target, "exact")

    pool = [d for d in rendered if d.keeps_aspect] + ([original] if original else [])
    pool = pool or rendered
    covering = [d for d in pool if d.width >= target[0] and d.height >= target[1]]
    if covering:
        return Choice(min(covering, key=_area_then_rendered), target, "larger")
    return Choice(max(pool, key=_area_then_rendered_last), target, "largest")


def _area_then_rendered(d: Derivative):
    return (d.width * d.height, d.original)


def _area_then_rendered_last(d: Derivative):
    return (d.width * d.height, not d.original)

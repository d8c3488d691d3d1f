"""``Derivative``: one precomputed file of a source image, as the plan makes it and the
manifest records it. A value type shared by the planner, the outputs and the serve side."""

from dataclasses import dataclass

from pipeline.model.decoration import Decoration
from pipeline.model.sizing import SizeRequest


@dataclass(frozen=True)
class Derivative:
    """One file of a source image.

    ``file``: path under the output folder (``layout``); ``width``/``height``: pixels;
    ``format``: API format; ``quality``: 0–100 for lossy formats, None for lossless ones and for
    the original; ``original``: the source bytes unchanged; ``keeps_aspect``: same aspect ratio
    as the source (False for a forced width×height); ``requests``: the precomputed size requests
    it answers exactly (used for the legacy path links); ``decoration``: the overlays and
    effects drawn on it (empty for a plain derivative).
    """

    file: str
    width: int
    height: int
    format: str
    quality: int | None
    original: bool = False
    keeps_aspect: bool = True
    requests: tuple[SizeRequest, ...] = ()
    decoration: Decoration = Decoration()

"""Generate the reference images of ``tests/test_overlays.py`` (run once; commit the PNGs).

    .venv/bin/python tests/golden/make_golden.py

Each case decorates a deterministic synthetic source (``source_image``) and writes
``tests/golden/overlay_<Decoration.key()>_<width>x<height>.png``. Rerun it only after an
intended change of the drawing, look at every image, then commit them with that change.
"""

import sys
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(GOLDEN_DIR.parents[1]))  # the repository root, for ``pipeline``

from PIL import Image  # noqa: E402

from pipeline.imaging.overlays import Decoration, decorate  # noqa: E402

POSTER, SMALL = (300, 450), (100, 150)

CASES: list[tuple[Decoration, tuple[int, int]]] = [
    (Decoration(percent_played=47), POSTER),
    (Decoration(unplayed_count=5), POSTER),
    (Decoration(unplayed_count=42), POSTER),
    (Decoration(unplayed_count=123), POSTER),
    (Decoration(played=True), POSTER),
    (Decoration(blur=8), POSTER),
    (Decoration(foreground_layer=0.4), POSTER),
    (Decoration(background_color=(0x33, 0x66, 0x99, 0xFF)), POSTER),
    (
        Decoration(
            percent_played=47,
            played=True,
            blur=4,
            background_color=(0, 0, 0, 255),
            foreground_layer=0.6,
        ),
        POSTER,
    ),
    (Decoration(unplayed_count=7, blur=2, foreground_layer=0.4), POSTER),
    (Decoration(percent_played=47, played=True), SMALL),
    (Decoration(unplayed_count=12), SMALL),
]


def source_image(size: tuple[int, int]) -> Image.Image:
    """A deterministic RGBA test picture: red grows to the right, green downwards, blue in
    25 px checks, and a left band (a sixth of the width) fading in from transparent, so that
    ``backgroundColor`` has something to show through."""
    width, height = size
    band = max(1, width // 6)
    pixels = [
        (
            x * 255 // max(1, width - 1),
            y * 255 // max(1, height - 1),
            64 + 128 * ((x // 25 + y // 25) % 2),
            min(255, x * 255 // band),
        )
        for y in range(height)
        for x in range(width)
    ]
    img = Image.new("RGBA", size)
    img.putdata(pixels)
    return img


def golden_path(decoration: Decoration, size: tuple[int, int]) -> Path:
    """Where the reference image of one case lives (parameters in the file name)."""
    return GOLDEN_DIR / f"overlay_{decoration.key()}_{size[0]}x{size[1]}.png"


def main():
    for decoration, size in CASES:
        path = golden_path(decoration, size)
        decorate(source_image(size), decoration).save(path, optimize=True)
        print(path.relative_to(GOLDEN_DIR.parents[1]))


if __name__ == "__main__":
    main()

"""Choosing the precomputed derivative for a request (pipeline/serve/selection.py, issue #2 rule)."""

import pytest

from pipeline.model.decoration import Decoration
from pipeline.plan.planner import Derivative, plan_derivatives
from pipeline.plan.probe import Probe
from pipeline.serve.selection import Choice, FormatNotAvailable, nearest_quality, select
from pipeline.catalog.settings import Profile
from pipeline.model.sizing import SizeRequest

TAG = "fedcba9876543210fedcba9876543210"
PREFIX = f"images/{TAG}/"

#: A 1000×1500 JPEG poster with Jpg and Webp at q80/q90 (default quality 90):
#: fill 228×342 and 456×684, width 300 (300×450), forced 300×300, maxWidth 160/320/640/1280
#: (160×240, 320×480, 640×960, 1000×1500: never upscaled).
POSTER_SIZES = (
    SizeRequest(fillWidth=228, fillHeight=342), SizeRequest(fillWidth=456, fillHeight=684),
    SizeRequest(width=300), SizeRequest(width=300, height=300),
    SizeRequest(maxWidth=160), SizeRequest(maxWidth=320), SizeRequest(maxWidth=640), SizeRequest(maxWidth=1280),
)


def derivatives_of(width, height, source_format, formats, qualities, sizes):
    probe = Probe(md5="c" * 32, size=1, width=width, height=height, format=source_format)
    return list(plan_derivatives(TAG, probe, Profile(tuple(formats), tuple(qualities), tuple(sizes), 90, (0, 0, 0))))


POSTER = derivatives_of(1000, 1500, "Jpg", ("Original", "Jpg", "Webp"), (80, 90), POSTER_SIZES)


def choose(size=None, format=None, quality=None, derivatives=POSTER, source=(1000, 1500, "Jpg"), default=90,
           decoration=None) -> Choice:
    return select(derivatives, *source, SizeRequest(**(size or {})), format, quality, default, decoration)


def test_poster_fixture_has_the_expected_files():
    names = {d.file.removeprefix(PREFIX) for d in POSTER}
    assert names == {"original.jpg"} | {
        f"{w}x{h}-q{q}.{ext}" for w, h in [(228, 342), (456, 684), (300, 450), (300, 300), (160, 240), (320, 480),
                                            (640, 960), (1000, 1500)]
        for q in (80, 90) for ext in ("jpg", "webp")}


SELECTIONS = [
    # (size, format, quality, expected file, fit, target)
    # no size and no quality: the original file itself
    ({}, None, None, "original.jpg", "exact", (1000, 1500)),
    ({}, "Original", None, "original.jpg", "exact", (1000, 1500)),
    ({}, "Jpg", None, "original.jpg", "exact", (1000, 1500)),
    ({"maxWidth": 1000}, None, None, "original.jpg", "exact", (1000, 1500)),   # full size: the original
    ({"maxWidth": 5000, "maxHeight": 5000}, None, None, "original.jpg", "exact", (1000, 1500)),
    # a quality asked on a lossy format: a rendered file at that (nearest) quality
    ({}, None, 80, "1000x1500-q80.jpg", "exact", (1000, 1500)),
    ({}, "Original", 90, "1000x1500-q90.jpg", "exact", (1000, 1500)),
    # another format: rendered at the default quality
    ({}, "Webp", None, "1000x1500-q90.webp", "exact", (1000, 1500)),
    ({}, "webp".title(), 80, "1000x1500-q80.webp", "exact", (1000, 1500)),
    # exact sizes
    ({"fillWidth": 228, "fillHeight": 342}, None, 96, "228x342-q90.jpg", "exact", (228, 342)),   # 96 → nearest 90
    ({"fillWidth": 228, "fillHeight": 342}, None, None, "228x342-q90.jpg", "exact", (228, 342)),
    ({"fillWidth": 228, "fillHeight": 342}, "Webp", 80, "228x342-q80.webp", "exact", (228, 342)),
    ({"fillWidth": 456, "fillHeight": 684}, None, 96, "456x684-q90.jpg", "exact", (456, 684)),
    ({"maxHeight": 342}, None, None, "228x342-q90.jpg", "exact", (228, 342)),       # other request, same pixels
    ({"width": 300}, None, 90, "300x450-q90.jpg", "exact", (300, 450)),
    ({"maxWidth": 300}, None, None, "300x450-q90.jpg", "exact", (300, 450)),
    ({"fillWidth": 300, "fillHeight": 300}, None, None, "300x450-q90.jpg", "exact", (300, 450)),
    ({"width": 300, "height": 300}, None, None, "300x300-q90.jpg", "exact", (300, 300)),    # forced size
    ({"maxWidth": 640}, "Jpg", 80, "640x960-q80.jpg", "exact", (640, 960)),
    ({"height": 240}, None, None, "160x240-q90.jpg", "exact", (160, 240)),
    # nearest quality: ties go to the higher one
    ({"maxWidth": 320}, None, 85, "320x480-q90.jpg", "exact", (320, 480)),
    ({"maxWidth": 320}, None, 84, "320x480-q80.jpg", "exact", (320, 480)),
    ({"maxWidth": 320}, None, 0, "320x480-q80.jpg", "exact", (320, 480)),
    ({"maxWidth": 320}, None, 100, "320x480-q90.jpg", "exact", (320, 480)),
    # smallest aspect-keeping derivative that covers the target
    ({"maxWidth": 400}, None, None, "456x684-q90.jpg", "larger", (400, 600)),
    ({"maxWidth": 100}, None, None, "160x240-q90.jpg", "larger", (100, 150)),
    ({"maxWidth": 229}, None, None, "300x450-q90.jpg", "larger", (229, 344)),
    ({"fillWidth": 400, "fillHeight": 400}, None, 80, "456x684-q80.jpg", "larger", (400, 600)),
    ({"maxWidth": 700}, None, None, "1000x1500-q90.jpg", "larger", (700, 1050)),   # rendered wins the tie
    ({"maxWidth": 700}, "Webp", 80, "1000x1500-q80.webp", "larger", (700, 1050)),
    # a forced size that was not precomputed: never a distorted file, the smallest covering one
    ({"width": 250, "height": 250}, None, None, "300x450-q90.jpg", "larger", (250, 250)),
    ({"width": 100, "height": 400}, None, None, "300x450-q90.jpg", "larger", (100, 400)),
    ({"width": 1000, "height": 200}, None, None, "1000x1500-q90.jpg", "larger", (1000, 200)),
]


@pytest.mark.parametrize("size, format, quality, file, fit, target", SELECTIONS)
def test_selection(size, format, quality, file, fit, target):
    choice = choose(size, format, quality)
    assert (choice.derivative.file, choice.fit, choice.target) == (PREFIX + file, fit, target)
    assert choice.applied is True


def test_default_quality_is_used_when_none_is_asked():
    assert choose({"maxWidth": 320}, default=80).derivative.file == PREFIX + "320x480-q80.jpg"
    assert choose({"maxWidth": 320}, default=85).derivative.file == PREFIX + "320x480-q90.jpg"   # tie → higher
    assert choose({"maxWidth": 320}, quality=80, default=90).derivative.file == PREFIX + "320x480-q80.jpg"


# --- when nothing covers: the largest ------------------------------------------------------------

SMALL_WEBP = derivatives_of(1000, 1500, "Jpg", ("Webp",), (90,), (SizeRequest(maxWidth=160), SizeRequest(maxWidth=320)))


@pytest.mark.parametrize("size, file, target", [
    ({"maxWidth": 800}, "320x480-q90.webp", (800, 1200)),
    ({}, "320x480-q90.webp", (1000, 1500)),
    ({"maxWidth": 320}, "320x480-q90.webp", (320, 480)),
    ({"maxWidth": 200}, "320x480-q90.webp", (200, 300)),
    ({"maxWidth": 100}, "160x240-q90.webp", (100, 150)),
])
def test_largest_when_nothing_covers(size, file, target):
    choice = choose(size, "Webp", None, SMALL_WEBP)
    assert (choice.derivative.file, choice.target) == (PREFIX + file, target)
    expected_fit = "largest" if target[0] > 320 else ("exact" if target == (320, 480) else "larger")
    assert choice.fit == expected_fit


def test_only_forced_sizes_are_used_when_nothing_else_exists_in_the_format():
    forced = derivatives_of(1000, 1500, "Jpg", ("Png",), (90,), (SizeRequest(width=100, height=100),
                                                                 SizeRequest(width=200, height=50)))
    assert choose({"maxWidth": 150}, "Png", None, forced).derivative.file == PREFIX + "100x100.png"
    choice = choose({"maxWidth": 900}, "Png", None, forced)
    assert (choice.derivative.file, choice.fit) == (PREFIX + "100x100.png", "largest")   # 100×100 > 200×50


# --- lossless formats and other source formats ---------------------------------------------------------

PNG_SOURCE = derivatives_of(800, 600, "Png", ("Original", "Jpg"), (90,), (SizeRequest(maxWidth=320), SizeRequest(maxWidth=1000)))


@pytest.mark.parametrize("size, format, quality, file, fit", [
    ({}, None, None, "original.png", "exact"),
    ({}, None, 50, "original.png", "exact"),                 # quality means nothing to a lossless format
    ({}, "Original", 90, "original.png", "exact"),
    ({}, "Png", None, "original.png", "exact"),
    ({"maxWidth": 320}, None, None, "320x240.png", "exact"),
    ({"maxWidth": 320}, "Png", 10, "320x240.png", "exact"),
    ({"maxWidth": 320}, "Jpg", 10, "320x240-q90.jpg", "exact"),
    ({"maxWidth": 100}, "Png", None, "320x240.png", "larger"),
    ({"maxWidth": 500}, "Png", None, "800x600.png", "larger"),
    ({}, "Jpg", None, "800x600-q90.jpg", "exact"),
])
def test_png_source(size, format, quality, file, fit):
    choice = choose(size, format, quality, PNG_SOURCE, (800, 600, "Png"))
    assert (choice.derivative.file, choice.fit) == (PREFIX + file, fit)
    assert (choice.derivative.quality is None) == (choice.derivative.format == "Png")


# --- formats that were not precomputed --------------------------------------------------------------

@pytest.mark.parametrize("derivatives, source, format, available", [
    (POSTER, (1000, 1500, "Jpg"), "Png", ["Original", "Jpg", "Webp"]),
    (POSTER, (1000, 1500, "Jpg"), "Gif", ["Original", "Jpg", "Webp"]),
    (PNG_SOURCE, (800, 600, "Png"), "Webp", ["Original", "Jpg", "Png"]),
    (SMALL_WEBP, (1000, 1500, "Jpg"), "Bmp", ["Original", "Jpg", "Webp"]),
])
def test_format_not_available_lists_the_formats(derivatives, source, format, available):
    with pytest.raises(FormatNotAvailable) as info:
        select(derivatives, *source, SizeRequest(maxWidth=300), format, None, 90)
    assert (info.value.format, info.value.available) == (format, available)
    assert str(info.value) == (f"format {format} was not precomputed for this image; "
                               f"available: {', '.join(available)}")
    assert isinstance(info.value, LookupError)


def test_format_not_available_without_the_original_copy():
    only_webp = [d for d in SMALL_WEBP if not d.original]
    with pytest.raises(FormatNotAvailable) as info:
        select(only_webp, 1000, 1500, "Jpg", SizeRequest(), None, None, 90)
    assert (info.value.format, info.value.available) == ("Jpg", ["Webp"])


# --- decorations are never served to an undecorated request ---------------------------------------------

def test_undecorated_request_never_gets_a_decorated_file():
    blurred = Derivative(PREFIX + "300x450-q90-bl10.jpg", 300, 450, "Jpg", 90, decoration=Decoration(blur=10))
    pool = [blurred, *POSTER]
    for decoration in (None, Decoration()):
        choice = choose({"width": 300}, derivatives=pool, decoration=decoration)
        assert choice.derivative.file == PREFIX + "300x450-q90.jpg"
        assert choice.applied is True


def test_selection_is_independent_of_derivative_order():
    for case in SELECTIONS:
        size, format, quality, file, fit, target = case
        assert choose(size, format, quality, derivatives=list(reversed(POSTER))).derivative.file == PREFIX + file


# --- nearest_quality --------------------------------------------------------------------------------

@pytest.mark.parametrize("available, wanted, expected", [
    ([80, 90], 85, 90),
    ([80, 90], 84, 80),
    ([80, 90], 86, 90),
    ([80, 90], 0, 80),
    ([80, 90], 100, 90),
    ([90], 0, 90),
    ([80, 90, 96], 93, 96),
    ([80, 90, 96], 92, 90),
    ([0, 100], 50, 100),
    ([90, 80], 85, 90),     # order of the list does not matter
])
def test_nearest_quality(available, wanted, expected):
    assert nearest_quality(available, wanted) == expected

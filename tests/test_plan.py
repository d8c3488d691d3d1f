"""Planning (pipeline/plan/planner.py): derivative files per source, tags, and the build plan."""

import hashlib
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from imagefactory import encode, solid
from pipeline.catalog.loader import ImageSlot, Library, Owner
from pipeline.model.formats import FORMATS
from pipeline.plan.planner import BuildPlan, Derivative, image_tag, make_plan, plan_derivatives
from pipeline.plan.probe import Probe, probe_bytes
from pipeline.catalog.settings import DEFAULTS, Profile, parse_settings
from pipeline.model.sizing import SizeRequest

TAG = "0123456789abcdef0123456789abcdef"
FILL_228 = SizeRequest(fillWidth=228, fillHeight=342)
W300 = SizeRequest(width=300)
MW320 = SizeRequest(maxWidth=320)
MW2000 = SizeRequest(maxWidth=2000)


def profile(formats=("Original", "Jpg", "Webp"), qualities=(90,), sizes=(MW320,), quality=90,
            background=(0, 0, 0)) -> Profile:
    """A profile without variants: exactly formats × qualities × sizes."""
    return Profile(tuple(formats), tuple(qualities), tuple(sizes), quality, background)


def probe(width=1000, height=1500, format="Jpg", md5="a" * 32, **kw) -> Probe:
    return Probe(md5=md5, size=kw.pop("size", 12345), width=width, height=height, format=format,
                 alpha=kw.pop("alpha", False), blurhash=kw.pop("blurhash", "LKO2?U%2Tw=w]~RBVZRi};RPxuwH"), **kw)


def rows(derivatives):
    """(file, width, height, format, quality, original, keeps_aspect, requests) of each derivative."""
    return [(d.file.removeprefix(f"images/{TAG}/"), d.width, d.height, d.format, d.quality, d.original,
             d.keeps_aspect, d.requests) for d in derivatives]


# --- plan_derivatives ----------------------------------------------------------------------------

def test_literal_file_names_for_a_jpeg_poster():
    derivatives = plan_derivatives(TAG, probe(1000, 1500, "Jpg"),
                                   profile(("Original", "Jpg", "Webp"), (90, 96), (FILL_228, W300, MW320, MW2000)))
    assert rows(derivatives) == [
        ("original.jpg", 1000, 1500, "Jpg", None, True, True, ()),
        ("228x342-q90.jpg", 228, 342, "Jpg", 90, False, True, (FILL_228,)),
        ("228x342-q96.jpg", 228, 342, "Jpg", 96, False, True, (FILL_228,)),
        ("228x342-q90.webp", 228, 342, "Webp", 90, False, True, (FILL_228,)),
        ("228x342-q96.webp", 228, 342, "Webp", 96, False, True, (FILL_228,)),
        ("300x450-q90.jpg", 300, 450, "Jpg", 90, False, True, (W300,)),
        ("300x450-q96.jpg", 300, 450, "Jpg", 96, False, True, (W300,)),
        ("300x450-q90.webp", 300, 450, "Webp", 90, False, True, (W300,)),
        ("300x450-q96.webp", 300, 450, "Webp", 96, False, True, (W300,)),
        ("320x480-q90.jpg", 320, 480, "Jpg", 90, False, True, (MW320,)),
        ("320x480-q96.jpg", 320, 480, "Jpg", 96, False, True, (MW320,)),
        ("320x480-q90.webp", 320, 480, "Webp", 90, False, True, (MW320,)),
        ("320x480-q96.webp", 320, 480, "Webp", 96, False, True, (MW320,)),
        ("1000x1500-q90.jpg", 1000, 1500, "Jpg", 90, False, True, (MW2000,)),     # never upscaled
        ("1000x1500-q96.jpg", 1000, 1500, "Jpg", 96, False, True, (MW2000,)),
        ("1000x1500-q90.webp", 1000, 1500, "Webp", 90, False, True, (MW2000,)),
        ("1000x1500-q96.webp", 1000, 1500, "Webp", 96, False, True, (MW2000,)),
    ]
    assert all(d.file.startswith(f"images/{TAG}/") for d in derivatives)


@pytest.mark.parametrize("source_format, expected", [
    # Original means the source's own format; lossless formats carry no quality
    ("Jpg", [("original.jpg", "Jpg", None), ("320x480-q90.jpg", "Jpg", 90), ("320x480.png", "Png", None)]),
    ("Png", [("original.png", "Png", None), ("320x480.png", "Png", None)]),
    ("Webp", [("original.webp", "Webp", None), ("320x480-q90.webp", "Webp", 90), ("320x480.png", "Png", None)]),
    ("Gif", [("original.gif", "Gif", None), ("320x480.gif", "Gif", None), ("320x480.png", "Png", None)]),
    ("Bmp", [("original.bmp", "Bmp", None), ("320x480.bmp", "Bmp", None), ("320x480.png", "Png", None)]),
])
def test_original_is_the_source_format(source_format, expected):
    derivatives = plan_derivatives(TAG, probe(format=source_format), profile(("Original", "Png"), (90,), (MW320,)))
    assert [(f, fmt, q) for f, _, _, fmt, q, *_ in rows(derivatives)] == expected


@pytest.mark.parametrize("fmt, name", [("Png", "320x480.png"), ("Gif", "320x480.gif"), ("Bmp", "320x480.bmp"),
                                       ("Jpg", "320x480-q50.jpg"), ("Webp", "320x480-q50.webp")])
def test_lossless_formats_have_no_quality(fmt, name):
    derivatives = plan_derivatives(TAG, probe(), profile((fmt,), (50, 60), (MW320,)))
    rendered = [d for d in derivatives if not d.original]
    assert rendered[0].file == f"images/{TAG}/{name}"
    assert len(rendered) == (2 if FORMATS[fmt].lossy else 1)
    assert all((d.quality is None) == (not FORMATS[fmt].lossy) for d in rendered)


def test_the_original_copy_is_always_planned():
    derivatives = plan_derivatives(TAG, probe(format="Jpg"), profile(("Webp",), (90,), (MW320,)))
    assert rows(derivatives) == [
        ("original.jpg", 1000, 1500, "Jpg", None, True, True, ()),
        ("320x480-q90.webp", 320, 480, "Webp", 90, False, True, (MW320,)),
    ]


def test_original_and_its_explicit_format_give_one_set_of_files():
    once = plan_derivatives(TAG, probe(format="Jpg"), profile(("Jpg",), (90,), (MW320,)))
    twice = plan_derivatives(TAG, probe(format="Jpg"), profile(("Original", "Jpg", "jpg".title()), (90,), (MW320,)))
    assert once == twice


def test_requests_with_the_same_pixel_size_share_one_file():
    small = probe(200, 300)
    sizes = (SizeRequest(maxWidth=320), SizeRequest(maxWidth=640), SizeRequest(width=200),
             SizeRequest(fillWidth=100, fillHeight=150))
    derivatives = plan_derivatives(TAG, small, profile(("Jpg",), (90,), sizes))
    assert rows(derivatives) == [
        ("original.jpg", 200, 300, "Jpg", None, True, True, ()),
        ("200x300-q90.jpg", 200, 300, "Jpg", 90, False, True, sizes[:3]),   # never upscaled: one file
        ("100x150-q90.jpg", 100, 150, "Jpg", 90, False, True, (sizes[3],)),
    ]
    assert len(derivatives) == 3


def test_forced_size_does_not_keep_aspect_unless_an_aspect_request_shares_its_file():
    forced = SizeRequest(width=228, height=342)
    square = SizeRequest(width=300, height=300)
    derivatives = plan_derivatives(TAG, probe(1000, 1500), profile(("Jpg",), (90,), (forced, square, FILL_228)))
    assert rows(derivatives)[1:] == [
        ("228x342-q90.jpg", 228, 342, "Jpg", 90, False, True, (forced, FILL_228)),
        ("300x300-q90.jpg", 300, 300, "Jpg", 90, False, False, (square,)),
    ]


def test_files_are_unique():
    derivatives = plan_derivatives(TAG, probe(), profile(("Original", "Jpg", "Webp", "Png"), (80, 90, 96),
                                                         (FILL_228, W300, MW320, MW2000)))
    files = [d.file for d in derivatives]
    assert len(files) == len(set(files)) == 1 + 4 * (3 + 3 + 1)


def test_tiny_source_never_gives_a_zero_size():
    derivatives = plan_derivatives(TAG, probe(3, 4000), profile(("Png",), (90,), (SizeRequest(maxHeight=100),)))
    assert [(d.width, d.height) for d in derivatives] == [(3, 4000), (1, 100)]


# --- image_tag -------------------------------------------------------------------------------------

def test_tag_is_md5_of_content_and_profile():
    p, prof = probe(), profile()
    tag = image_tag(p, prof)
    assert tag == hashlib.md5(f"{p.md5}\n{prof.fingerprint()}".encode()).hexdigest()
    assert len(tag) == 32 and tag == tag.lower() and set(tag) <= set("0123456789abcdef")
    assert image_tag(probe(), profile()) == tag   # deterministic


@pytest.mark.parametrize("changed", [
    dict(probe=probe(md5="b" * 32)),
    dict(profile=profile(quality=80)),
    dict(profile=profile(background=(255, 255, 255))),
    dict(profile=profile(qualities=(90, 96))),
    dict(profile=profile(formats=("Original", "Jpg"))),
    dict(profile=profile(sizes=(SizeRequest(maxWidth=321),))),
], ids=["content", "default-quality", "background", "qualities", "formats", "sizes"])
def test_tag_changes_with_content_and_with_byte_affecting_settings(changed):
    base = image_tag(probe(), profile())
    assert image_tag(changed.get("probe", probe()), changed.get("profile", profile())) != base


def test_tag_ignores_facts_derived_from_the_content():
    # size, dimensions, blurhash follow from the bytes: the md5 alone names the content
    assert image_tag(probe(size=1, blurhash="x", width=1, height=1), profile()) == image_tag(probe(), profile())


def test_a_settings_change_retags_only_the_types_it_touches():
    base = parse_settings(None)
    changed = parse_settings({**DEFAULTS, "types": {**DEFAULTS["types"],
                                                    "Backdrop": {**DEFAULTS["types"]["Backdrop"], "qualities": [70]}}})
    p = probe()
    assert image_tag(p, base.profile("Backdrop")) != image_tag(p, changed.profile("Backdrop"))
    assert image_tag(p, base.profile("Primary")) == image_tag(p, changed.profile("Primary"))


# --- make_plan ---------------------------------------------------------------------------------------

SETTINGS = parse_settings({"formats": ["Original", "Jpg"], "qualities": [90], "sizes": [{"maxWidth": 320}],
                           "types": {"Backdrop": {"qualities": [80]}}})


def slot(image_type, index, name):
    return ImageSlot(image_type, index, Path("/lib") / name, name)


def library(items=(), users=(), settings=SETTINGS) -> Library:
    return Library(Path("/lib/catalog.yaml"), Path("/lib"), settings,
                   {o.id: o for o in items}, {o.id: o for o in users})


def owner(kind, id, type, images, parent=None):
    by_type = {}
    for image_type, names in images.items():
        by_type[image_type] = [slot(image_type, i, n) for i, n in enumerate(names)]
    return Owner(kind, id, id.title(), type, parent, by_type)


def probes(**by_name):
    return {Path("/lib") / name: p for name, p in by_name.items()}


def test_make_plan_tags_every_slot():
    lib = library(
        items=[owner("Items", "m1", "Movie", {"Primary": ["p.jpg"], "Backdrop": ["b0.jpg", "b1.jpg"]})],
        users=[owner("Users", "u1", "User", {"Primary": ["u.png"]})],
    )
    ps = probes(**{"p.jpg": probe(md5="1" * 32), "b0.jpg": probe(1920, 1080, md5="2" * 32),
                   "b1.jpg": probe(1920, 1080, md5="3" * 32), "u.png": probe(300, 300, "Png", md5="4" * 32)})
    plan = make_plan(lib, ps)
    expected = {
        ("Items", "m1", "Primary", 0): image_tag(ps[Path("/lib/p.jpg")], SETTINGS.profile("Primary")),
        ("Items", "m1", "Backdrop", 0): image_tag(ps[Path("/lib/b0.jpg")], SETTINGS.profile("Backdrop")),
        ("Items", "m1", "Backdrop", 1): image_tag(ps[Path("/lib/b1.jpg")], SETTINGS.profile("Backdrop")),
        ("Users", "u1", "Primary", 0): image_tag(ps[Path("/lib/u.png")], SETTINGS.profile("Primary")),
    }
    assert plan.slot_tags == expected
    assert set(plan.sources) == set(expected.values())
    assert plan.failed == {}
    assert plan.tag_of("Items", "m1", "Backdrop", 1) == expected[("Items", "m1", "Backdrop", 1)]
    assert plan.tag_of("Items", "m1", "Primary") == expected[("Items", "m1", "Primary", 0)]
    assert plan.tag_of("Items", "m1", "Logo") is None
    assert plan.tag_of("Items", "nobody", "Primary") is None
    assert plan.tags_of("Items", "m1", "Backdrop") == [expected[("Items", "m1", "Backdrop", i)] for i in (0, 1)]
    assert plan.tags_of("Items", "m1", "Thumb") == []

    backdrop = plan.sources[expected[("Items", "m1", "Backdrop", 0)]]
    assert (backdrop.image_type, backdrop.path, backdrop.relpath) == ("Backdrop", Path("/lib/b0.jpg"), "b0.jpg")
    assert backdrop.profile == SETTINGS.profile("Backdrop")
    assert backdrop.probe == ps[Path("/lib/b0.jpg")]
    assert [d.file.split("/")[-1] for d in backdrop.derivatives] == ["original.jpg", "320x180-q80.jpg"]
    assert [d.file.split("/")[-1] for d in backdrop.rendered] == ["320x180-q80.jpg"]
    assert all(d.file.startswith(f"images/{backdrop.tag}/") for d in backdrop.derivatives)
    user = plan.sources[expected[("Users", "u1", "Primary", 0)]]
    assert [d.file.split("/")[-1] for d in user.derivatives] == ["original.png", "300x300.png", "300x300-q90.jpg"]


def test_same_content_and_profile_share_one_source_plan():
    lib = library(items=[owner("Items", "a", "Movie", {"Primary": ["a.jpg"], "Banner": ["c.jpg"]}),
                         owner("Items", "b", "Movie", {"Primary": ["b.jpg"], "Backdrop": ["d.jpg"]})])
    same = probe(md5="5" * 32)
    plan = make_plan(lib, probes(**{"a.jpg": same, "b.jpg": same, "c.jpg": same, "d.jpg": same}))
    a, b = plan.tag_of("Items", "a", "Primary"), plan.tag_of("Items", "b", "Primary")
    assert a == b == plan.tag_of("Items", "a", "Banner")             # Primary and Banner: same profile here
    assert plan.tag_of("Items", "b", "Backdrop") != a                 # Backdrop profile differs → own tag
    assert len(plan.sources) == 2
    assert plan.sources[a].relpath == "a.jpg"


def test_failed_source_is_left_out_and_indexes_stay_consecutive():
    lib = library(items=[owner("Items", "s", "Series", {"Backdrop": ["b0.jpg", "bad.jpg", "b2.jpg"],
                                                        "Logo": ["broken.png"]})])
    ok0, ok2 = probe(md5="6" * 32), probe(md5="7" * 32)
    bad = Probe(md5="8" * 32, size=10, error="not an image (no known image format recognised)")
    missing = Probe(error="cannot read file: No such file or directory")
    plan = make_plan(lib, probes(**{"b0.jpg": ok0, "bad.jpg": bad, "b2.jpg": ok2, "broken.png": missing}))
    backdrop = SETTINGS.profile("Backdrop")
    assert plan.tags_of("Items", "s", "Backdrop") == [image_tag(ok0, backdrop), image_tag(ok2, backdrop)]
    assert plan.tag_of("Items", "s", "Backdrop", 2) is None
    assert plan.tag_of("Items", "s", "Logo") is None
    assert plan.failed == {"bad.jpg": "not an image (no known image format recognised)",
                           "broken.png": "cannot read file: No such file or directory"}
    assert len(plan.sources) == 2


def test_empty_library_gives_an_empty_plan():
    plan = make_plan(library(), {})
    assert (plan.sources, plan.slot_tags, plan.failed) == ({}, {}, {})
    assert isinstance(plan, BuildPlan)


def test_plan_from_real_probes_names_literal_files():
    data = encode(solid((1000, 1500)), "JPEG", quality=80)
    p = probe_bytes(data)
    prof = profile(("Original", "Jpg"), (96,), (FILL_228,))
    tag = image_tag(p, prof)
    files = [d.file for d in plan_derivatives(tag, p, prof)]
    assert files == [f"images/{tag}/original.jpg", f"images/{tag}/228x342-q96.jpg"]


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_original_copy_holds_bytes_of_the_format_it_is_named_for(mode):
    data = encode(solid((40, 30), mode, (10, 20, 30, 0) if mode == "RGBA" else None), "TIFF")
    p = probe_bytes(data)
    assert p.error == ""
    for d in plan_derivatives(TAG, p, profile()):
        if d.original:
            assert Image.open(BytesIO(data)).format == FORMATS[d.format].pillow, d.file


def test_derivative_defaults():
    d = Derivative("images/x/1x1.png", 1, 1, "Png", None)
    assert (d.original, d.keeps_aspect, d.requests, d.decoration.is_empty()) == (False, True, (), True)

"""Settings (pipeline/catalog/settings.py): defaults per ImageType, overrides, ladders, fingerprint, errors."""

import copy
import json

import pytest

import pipeline.catalog.settings as settings_module
from pipeline.model.formats import FORMATS
from pipeline.model.imagetypes import IMAGE_TYPES
from pipeline.catalog.settings import DEFAULTS, Settings, SettingsError, parse_settings
from pipeline.model.sizing import SizeRequest

KNOWN_FORMATS = ", ".join(["Original", *FORMATS])
FULL = "maxWidth=100000"    # the full-size image in every format (issue 9: no size → full size)
GENERAL_LADDER = ("maxWidth=160", "maxWidth=320", "maxWidth=640", "maxWidth=1280", FULL)

#: ImageType → (qualities, sizes as query strings) of the defaults; formats are always the same.
DEFAULT_PROFILES = {
    "Primary": ((90, 96), ("fillWidth=228&fillHeight=342", "fillWidth=456&fillHeight=684", "width=300",
                           *GENERAL_LADDER)),
    "Art": ((90,), GENERAL_LADDER),
    "Backdrop": ((80, 90), ("maxWidth=480", "maxWidth=960", "maxWidth=1280", "maxWidth=1920",
                            "maxWidth=2560", "maxWidth=3840", FULL)),
    "Banner": ((90,), GENERAL_LADDER),
    "Logo": ((90,), ("height=40", "height=80", "height=120", "maxHeight=220", "maxHeight=440", FULL)),
    "Thumb": ((90,), ("maxWidth=320", "maxWidth=640", "maxWidth=1280", FULL)),
    "Disc": ((90,), GENERAL_LADDER),
    "Box": ((90,), GENERAL_LADDER),
    "Screenshot": ((90,), GENERAL_LADDER),
    "Menu": ((90,), GENERAL_LADDER),
    "Chapter": ((90,), ("maxWidth=400", "maxWidth=800", FULL)),
    "BoxRear": ((90,), GENERAL_LADDER),
    "Profile": ((90,), GENERAL_LADDER),
}


def described(profile) -> tuple[str, ...]:
    return tuple(s.describe() for s in profile.sizes)


def test_default_profiles_cover_every_image_type():
    assert set(DEFAULT_PROFILES) == set(IMAGE_TYPES)
    assert set(parse_settings(None).profiles) == set(IMAGE_TYPES)


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
@pytest.mark.parametrize("raw", [None, {}], ids=["none", "empty"])
def test_defaults_per_image_type(raw, image_type):
    profile = parse_settings(raw).profile(image_type)
    qualities, sizes = DEFAULT_PROFILES[image_type]
    assert profile.formats == ("Original", "Jpg", "Webp")
    assert profile.qualities == qualities
    assert described(profile) == sizes
    assert profile.quality == 90
    assert profile.background_color == (0, 0, 0)


def test_default_primary_ladder_as_size_requests():
    assert parse_settings(None).profile("Primary").sizes == (
        SizeRequest(fillWidth=228, fillHeight=342),
        SizeRequest(fillWidth=456, fillHeight=684),
        SizeRequest(width=300),
        SizeRequest(maxWidth=160), SizeRequest(maxWidth=320), SizeRequest(maxWidth=640),
        SizeRequest(maxWidth=1280), SizeRequest(maxWidth=100_000),
    )


def test_client_driven_ladder_steps_at_most_1_2():
    """Issue 9: the Primary and Thumb ladder (and Backdrop's from 480 px, at the default
    quality) in Original and Jpg: each width ≤ 1.2× the one before, 80 px to beyond 3000."""
    from pipeline.catalog.settings import LADDER_WIDTHS
    assert LADDER_WIDTHS[0] == 80 and LADDER_WIDTHS[-1] > 3000
    assert all(b / a <= 1.21 for a, b in zip(LADDER_WIDTHS, LADDER_WIDTHS[1:]))   # 1.2, rounded to pixels
    settings = parse_settings(None)
    for image_type, low, qualities in (("Primary", 80, (90, 96)), ("Thumb", 80, (90,)), ("Backdrop", 480, (90,))):
        variants = settings.profile(image_type).variants
        ladder = [v for v in variants if all(d.is_empty() for d in v.decorations) and v.formats == ("Original", "Jpg")
                  and SizeRequest(maxWidth=LADDER_WIDTHS[-1]) in v.sizes]
        assert ladder and ladder[0].qualities == qualities, image_type
        assert min(s.maxWidth for s in ladder[0].sizes) >= low


def test_parse_settings_does_not_mutate_defaults():
    before = copy.deepcopy(DEFAULTS)
    parse_settings({"quality": 50, "types": {"Primary": {"qualities": [1]}}})
    parse_settings({"sizes": [{"maxWidth": [1, 2]}]})
    assert DEFAULTS == before


# --- overrides ---------------------------------------------------------------------------------

def test_quality_and_background_do_not_drop_the_per_type_defaults():
    settings = parse_settings({"quality": 80, "background_color": "white"})
    for image_type in IMAGE_TYPES:
        profile = settings.profile(image_type)
        assert profile.quality == 80
        assert profile.background_color == (255, 255, 255)
        assert (profile.qualities, described(profile)) == DEFAULT_PROFILES[image_type]


@pytest.mark.parametrize("text, rgb", [
    ("#000000", (0, 0, 0)),
    ("black", (0, 0, 0)),
    ("#336699", (51, 102, 153)),
    ("#abc", (170, 187, 204)),
    ("#11223344", (34, 51, 68)),     # Jellyfin's #aarrggbb: alpha first, then dropped
    ("336699", (51, 102, 153)),      # '#' optional (Skia)
    ("red", (255, 0, 0)),
    ("rgb(1, 2, 3)", (1, 2, 3)),
])
def test_background_color_forms(text, rgb):
    assert parse_settings({"background_color": text}).profile("Primary").background_color == rgb


@pytest.mark.parametrize("raw, expect_formats, expect_qualities, expect_sizes", [
    # a global profile key without `types` drops every default per-type override
    ({"qualities": [70]}, ("Original", "Jpg", "Webp"), (70,), GENERAL_LADDER),
    ({"sizes": [{"maxWidth": 500}]}, ("Original", "Jpg", "Webp"), (90,), ("maxWidth=500",)),
    ({"formats": ["Jpg"]}, ("Jpg",), (90,), GENERAL_LADDER),
])
@pytest.mark.parametrize("image_type", ["Primary", "Backdrop", "Logo", "Chapter", "Thumb", "Art"])
def test_global_profile_key_without_types_applies_to_every_type(raw, expect_formats, expect_qualities,
                                                                 expect_sizes, image_type):
    profile = parse_settings(raw).profile(image_type)
    assert profile.formats == expect_formats
    assert profile.qualities == expect_qualities
    assert described(profile) == expect_sizes


def test_global_keys_with_types_override_per_type_only_for_named_types_and_keys():
    settings = parse_settings({
        "qualities": [70],
        "sizes": [{"maxWidth": 500}],
        "types": {"Backdrop": {"qualities": [50, 60]}, "Logo": {"sizes": [{"height": 40}], "formats": ["Png"]}},
    })
    backdrop, logo, primary = (settings.profile(t) for t in ("Backdrop", "Logo", "Primary"))
    assert (backdrop.formats, backdrop.qualities, described(backdrop)) == (
        ("Original", "Jpg", "Webp"), (50, 60), ("maxWidth=500",))
    assert (logo.formats, logo.qualities, described(logo)) == (("Png",), (70,), ("height=40",))
    assert (primary.formats, primary.qualities, described(primary)) == (
        ("Original", "Jpg", "Webp"), (70,), ("maxWidth=500",))


def test_a_type_entry_overrides_only_the_keys_it_names():
    """Without global profile keys, the default per-type entries stay, and a catalog's entry for
    a type overrides only the keys it names."""
    settings = parse_settings({"types": {"Primary": {"qualities": [50]}}})
    default = parse_settings(None)
    primary = settings.profile("Primary")
    assert primary.qualities == (50,)
    assert primary.sizes == default.profile("Primary").sizes          # the default card ladder stays
    assert settings.profile("Backdrop") == default.profile("Backdrop")


def test_global_keys_with_types_drop_the_default_types():
    settings = parse_settings({"qualities": [70], "types": {"Primary": {"qualities": [50]}}})
    assert settings.profile("Primary").qualities == (50,)
    assert described(settings.profile("Primary")) == GENERAL_LADDER
    assert settings.profile("Backdrop").qualities == (70,)


@pytest.mark.parametrize("override", [None, {}], ids=["null", "empty-mapping"])
def test_empty_type_entry_keeps_the_type_defaults(override):
    profile = parse_settings({"types": {"Primary": override}}).profile("Primary")
    assert profile == parse_settings(None).profile("Primary")


def test_explicit_defaults_give_the_default_settings():
    assert parse_settings(copy.deepcopy(DEFAULTS)) == parse_settings(None)


def test_empty_sizes_list_is_allowed():
    assert parse_settings({"sizes": []}).profile("Art").sizes == ()


# --- ladders ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry, expected", [
    ({"maxWidth": 640}, ("maxWidth=640",)),
    ({"maxWidth": [640]}, ("maxWidth=640",)),
    ({"maxWidth": [320, 640, 1280]}, ("maxWidth=320", "maxWidth=640", "maxWidth=1280")),
    ({"fillWidth": [228, 456], "fillHeight": [342, 684]},
     ("fillWidth=228&fillHeight=342", "fillWidth=456&fillHeight=684")),
    ({"fillWidth": [228, 456], "fillHeight": 342},                     # a scalar goes with every rung
     ("fillWidth=228&fillHeight=342", "fillWidth=456&fillHeight=342")),
    ({"width": 300, "height": 200}, ("width=300&height=200",)),
    ({"maxWidth": [320, 640], "maxHeight": [200, 400], "quality_is_not_here": None}, None),
    ({"height": [40, 80, 40, 80]}, ("height=40", "height=80")),       # dedupe inside a ladder
    ({"maxHeight": 100000}, ("maxHeight=100000",)),
    ({"maxWidth": 1}, ("maxWidth=1",)),
])
def test_size_ladders(entry, expected):
    if expected is None:
        with pytest.raises(SettingsError) as info:
            parse_settings({"sizes": [entry]})
        assert info.value.path == ("sizes", 0, "quality_is_not_here")
        return
    assert described(parse_settings({"sizes": [entry]}).profile("Art")) == expected


def test_sizes_are_deduplicated_across_entries_in_first_seen_order():
    profile = parse_settings({"sizes": [{"maxWidth": [640, 320]}, {"maxWidth": 320}, {"width": 300},
                                        {"maxWidth": [1280, 640]}]}).profile("Art")
    assert described(profile) == ("maxWidth=640", "maxWidth=320", "width=300", "maxWidth=1280")


@pytest.mark.parametrize("raw_formats, expected", [
    (["Original", "Jpg", "Webp"], ("Original", "Jpg", "Webp")),
    (["jpeg", "JPG", "jpp", "Jpg"], ("Jpg",)),
    (["png", "original", "WEBP", "Png", "Original"], ("Png", "Original", "Webp")),
    (["gif", "bmp"], ("Gif", "Bmp")),
    ([" webp "], ("Webp",)),
])
def test_formats_are_canonical_and_deduplicated(raw_formats, expected):
    assert parse_settings({"formats": raw_formats}).profile("Art").formats == expected


@pytest.mark.parametrize("raw_qualities, expected", [
    ([90], (90,)),
    ([96, 90, 96, 80], (80, 90, 96)),   # sorted and deduplicated
    ([0, 100], (0, 100)),
])
def test_qualities_are_sorted_and_deduplicated(raw_qualities, expected):
    assert parse_settings({"qualities": raw_qualities}).profile("Art").qualities == expected


# --- fingerprint ---------------------------------------------------------------------------------

def fingerprint(raw) -> str:
    return parse_settings(raw).fingerprint()


def with_defaults(**changes) -> dict:
    """The full DEFAULTS written out, with ``changes`` (a ``types`` change names one type)."""
    raw = copy.deepcopy(DEFAULTS)
    for key, value in changes.items():
        if key in IMAGE_TYPES:
            raw["types"][key] = {**raw["types"].get(key, {}), **value}
        else:
            raw[key] = value
    return raw


DEFAULT_FINGERPRINT = fingerprint(None)


def test_fingerprint_is_md5_hex_and_stable():
    assert len(DEFAULT_FINGERPRINT) == 32 and set(DEFAULT_FINGERPRINT) <= set("0123456789abcdef")
    assert fingerprint(None) == fingerprint({}) == fingerprint(with_defaults()) == DEFAULT_FINGERPRINT


@pytest.mark.parametrize("raw", [
    with_defaults(quality=91),
    with_defaults(background_color="#010000"),
    with_defaults(formats=["Original", "Jpg"]),
    with_defaults(formats=["Original", "Jpg", "Webp", "Png"]),
    with_defaults(qualities=[85]),
    with_defaults(sizes=[{"maxWidth": [160, 320, 640, 1281]}]),
    {"qualities": [90]},                                           # drops the per-type defaults
    with_defaults(Primary={"qualities": [90, 95]}),
    with_defaults(Logo={"sizes": [{"height": [40, 80, 120, 160]}]}),
    with_defaults(Banner={"formats": ["Jpg"]}),
    with_defaults(Chapter={"sizes": [{"maxWidth": [400, 801]}]}),
    with_defaults(Primary={"sizes": [{"fillWidth": [228, 456], "fillHeight": [342, 685]}]}),
], ids=["quality", "background", "fewer-formats", "more-formats", "qualities", "sizes", "global-only",
        "primary-qualities", "logo-sizes", "banner-formats", "chapter-size", "primary-fill"])
def test_fingerprint_changes_with_a_byte_affecting_value(raw):
    assert fingerprint(raw) != DEFAULT_FINGERPRINT


@pytest.mark.parametrize("raw", [
    {"quality": 90},
    {"background_color": "black"},
    {"background_color": "#000"},
    {"background_color": "000000"},
    {"background_color": "rgb(0, 0, 0)"},
    with_defaults(formats=["original", "jpeg", "WEBP"]),
    with_defaults(formats=["Original", "Jpg", "Jpg", "Webp", "jpp"]),
    with_defaults(qualities=[90, 90]),
    with_defaults(sizes=[{"maxWidth": [160, 320]}, {"maxWidth": [320, 640, 1280]}, {"maxWidth": 100_000}]),
    with_defaults(Backdrop={"qualities": [90, 80, 80]}),
    with_defaults(Chapter={"sizes": [{"maxWidth": 400}, {"maxWidth": [800]}, {"maxWidth": [100_000]}]}),
    {"types": {**DEFAULTS["types"], "Art": {}, "Banner": None}},
], ids=["same-quality", "black-name", "short-hex", "hex-without-hash", "css-rgb", "format-aliases",
        "duplicate-formats", "duplicate-qualities", "overlapping-ladders", "reordered-qualities",
        "scalar-vs-list", "empty-overrides"])
def test_fingerprint_unchanged_by_an_equivalent_spelling(raw):
    assert fingerprint(raw) == DEFAULT_FINGERPRINT


def test_profile_fingerprint_changes_only_for_the_type_that_changed():
    base = parse_settings(None)
    changed = parse_settings(with_defaults(Backdrop={"qualities": [70]}))
    for image_type in IMAGE_TYPES:
        same = base.profile(image_type).fingerprint() == changed.profile(image_type).fingerprint()
        assert same == (image_type != "Backdrop"), image_type


def test_profile_fingerprint_is_compact_sorted_json_of_the_byte_affecting_values():
    text = parse_settings({"quality": 77, "background_color": "#102030"}).profile("Chapter").fingerprint()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert data["renderer"] == settings_module.RENDERER_VERSION
    assert data["formats"] == ["Original", "Jpg", "Webp"]
    assert data["qualities"] == [90]
    assert data["sizes"] == ["maxWidth=400", "maxWidth=800", "maxWidth=100000"]
    assert data["quality"] == 77
    assert data["background_color"] == [16, 32, 48]


def test_fingerprint_changes_with_the_renderer_version(monkeypatch):
    monkeypatch.setattr(settings_module, "RENDERER_VERSION", "test-bump")
    assert fingerprint(None) != DEFAULT_FINGERPRINT
    assert "test-bump" in parse_settings(None).profile("Art").fingerprint()


def test_negotiate_format_is_in_the_settings_fingerprint_only():
    on = parse_settings({"negotiate_format": True})
    assert (on.negotiate_format, parse_settings(None).negotiate_format) == (True, False)
    assert on.fingerprint() != DEFAULT_FINGERPRINT
    assert on.profiles == parse_settings(None).profiles   # no tag changes


def test_legacy_links_are_off_by_default_and_change_no_tag():
    on = parse_settings({"legacy_links": True})
    assert (on.legacy_links, parse_settings(None).legacy_links) == (True, False)
    assert on.fingerprint() == DEFAULT_FINGERPRINT         # no rendered byte depends on it
    assert on.profiles == parse_settings(None).profiles


def test_global_profile_key_without_types_drops_the_default_variants():
    assert parse_settings(None).profile("Art").variants != ()
    assert parse_settings({"qualities": [70]}).profile("Art").variants == ()
    assert parse_settings({"qualities": [70]}).profile("Primary").variants == ()


def test_settings_is_a_value():
    assert isinstance(parse_settings(None), Settings)
    assert parse_settings({"quality": 50}) == parse_settings({"quality": 50})
    assert parse_settings({"quality": 50}) != parse_settings(None)


# --- errors --------------------------------------------------------------------------------------

ERRORS = [
    # (raw settings, path, message fragment)
    ([1, 2], (), "settings must be a mapping"),
    ("fast", (), "settings must be a mapping"),
    ({"qualitee": 90}, ("qualitee",), "unknown settings key 'qualitee' (known: quality, background_color, "),
    ({"quality": 101}, ("quality",), "quality must be an integer in 0–100, got 101"),
    ({"quality": -1}, ("quality",), "got -1"),
    ({"quality": "90"}, ("quality",), "got '90'"),
    ({"quality": 90.0}, ("quality",), "got 90.0"),
    ({"quality": True}, ("quality",), "got True"),
    ({"quality": None}, ("quality",), "got None"),
    ({"background_color": "#12345"}, ("background_color",), "not a colour: '#12345' (e.g. '#000000', 'black')"),
    ({"background_color": "blurple"}, ("background_color",), "not a colour: 'blurple'"),
    ({"negotiate_format": "yes"}, ("negotiate_format",), "negotiate_format must be true or false"),
    ({"legacy_links": "yes"}, ("legacy_links",), "legacy_links must be true or false (true only for a static host"),
    ({"legacy_links": 1}, ("legacy_links",), "legacy_links must be true or false"),
    ({"formats": "Jpg"}, ("formats",), "formats must be a non-empty list, e.g. [Original, Jpg, Webp]"),
    ({"formats": []}, ("formats",), "formats must be a non-empty list"),
    ({"formats": ["Jpg", "Tiff"]}, ("formats", 1), f"unknown format 'Tiff' (known: {KNOWN_FORMATS})"),
    ({"formats": ["Jpg", None]}, ("formats", 1), "unknown format None"),
    ({"qualities": 90}, ("qualities",), "qualities must be a non-empty list of integers 0–100"),
    ({"qualities": []}, ("qualities",), "qualities must be a non-empty list"),
    ({"qualities": [80, 101]}, ("qualities", 1), "quality must be an integer in 0–100, got 101"),
    ({"qualities": [80, 8.5]}, ("qualities", 1), "got 8.5"),
    ({"sizes": {"maxWidth": 320}}, ("sizes",), "sizes must be a list of mappings such as {maxWidth: [320, 640]}"),
    ({"sizes": [{"maxWidth": 1}, 320]}, ("sizes", 1), "a size entry must be a mapping such as {maxWidth: 640}"),
    ({"sizes": [{}]}, ("sizes", 0), "a size entry must be a mapping"),
    ({"sizes": [{"maxwidth": 320}]}, ("sizes", 0, "maxwidth"), "unknown size parameter 'maxwidth' (known: width, "
                                                              "height, maxWidth, maxHeight, fillWidth, fillHeight)"),
    ({"sizes": [{"quality": 90}]}, ("sizes", 0, "quality"), "unknown size parameter 'quality'"),
    ({"sizes": [{"maxWidth": []}]}, ("sizes", 0, "maxWidth"), "an empty list"),
    ({"sizes": [{"fillWidth": [228, 456], "fillHeight": [342]}]}, ("sizes", 0),
     "lists in one size entry are zipped and need equal lengths, got [1, 2]"),
    ({"sizes": [{"maxWidth": 1}, {"width": [1, 2, 3], "height": [1, 2], "maxHeight": [5]}]}, ("sizes", 1),
     "got [1, 2, 3]"),
    ({"sizes": [{"maxWidth": 0}]}, ("sizes", 0, "maxWidth"), "maxWidth must be an integer in 1–100000, got 0"),
    ({"sizes": [{"maxWidth": -5}]}, ("sizes", 0, "maxWidth"), "got -5"),
    ({"sizes": [{"maxWidth": 100001}]}, ("sizes", 0, "maxWidth"), "got 100001"),
    ({"sizes": [{"height": [40, "80"]}]}, ("sizes", 0, "height"), "height must be an integer in 1–100000, got '80'"),
    ({"sizes": [{"width": True}]}, ("sizes", 0, "width"), "got True"),
    ({"sizes": [{"width": 12.5}]}, ("sizes", 0, "width"), "got 12.5"),
    ({"types": ["Primary"]}, ("types",), "types must be a mapping of ImageType to overrides"),
    ({"types": {"Primary": 5}}, ("types", "Primary"), "must be a mapping with formats, qualities and/or sizes"),
    ({"types": {"Primary": {"quality": 80}}}, ("types", "Primary", "quality"),
     "unknown key 'quality' (known: formats, qualities, sizes"),
    ({"types": {"Primary": {"background_color": "red"}}}, ("types", "Primary", "background_color"), "unknown key"),
    ({"types": {"Poster": {"qualities": [80]}}}, ("types", "Poster"), "unknown ImageType 'Poster' (known: Primary, "),
    ({"types": {"primary": {"qualities": [80]}}}, ("types", "primary"), "unknown ImageType 'primary'"),
    ({"types": {"ChapterImage": {}}}, ("types", "ChapterImage"), "unknown ImageType 'ChapterImage'"),
    ({"types": {"Backdrop": {"qualities": [80, 900]}}}, ("types", "Backdrop", "qualities", 1), "got 900"),
    ({"types": {"Logo": {"formats": ["Jpg", "svg"]}}}, ("types", "Logo", "formats", 1), "unknown format 'svg'"),
    ({"types": {"Logo": {"formats": []}}}, ("types", "Logo", "formats"), "formats must be a non-empty list"),
    ({"types": {"Logo": {"sizes": [{"height": [40, 80], "maxWidth": [1, 2, 3]}]}}},
     ("types", "Logo", "sizes", 0), "need equal lengths, got [2, 3]"),
    ({"types": {"Logo": {"sizes": [{"heigth": 40}]}}}, ("types", "Logo", "sizes", 0, "heigth"),
     "unknown size parameter 'heigth'"),
]


@pytest.mark.parametrize("raw, path, message", ERRORS, ids=[f"{n}-{'.'.join(map(str, e[1])) or 'root'}"
                                                            for n, e in enumerate(ERRORS)])
def test_settings_errors_name_their_path(raw, path, message):
    with pytest.raises(SettingsError) as info:
        parse_settings(raw)
    assert info.value.path == path
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_bad_global_value_is_reported_even_when_every_type_overrides_it():
    # the global value is validated at its own path, whichever type reads it first
    with pytest.raises(SettingsError) as info:
        parse_settings({"qualities": [500], "types": {"Backdrop": {"qualities": [80]}}})
    assert info.value.path == ("qualities", 0)


@pytest.mark.parametrize("value", [[], 0, False, ""], ids=["empty-list", "zero", "false", "empty-string"])
def test_falsy_non_mapping_type_entry_is_an_error(value):
    with pytest.raises(SettingsError) as info:
        parse_settings({"types": {"Primary": value}})
    assert info.value.path == ("types", "Primary")


def test_every_settings_error_in_one_run():
    with pytest.raises(SettingsError) as info:
        parse_settings({"qualitee": 90, "formats": ["Jpg", "Tiff"], "quality": 500,
                        "types": {"Logo": {"sizes": [{"heigth": 40}]}, "Bannr": {}},
                        "podcast": {"format": "Gif"}})
    paths = [e.path for e in info.value.errors]
    assert paths == [("qualitee",), ("quality",), ("formats", 1), ("types", "Logo", "sizes", 0, "heigth"),
                     ("types", "Bannr"), ("podcast", "format")]
    assert info.value.path == ("qualitee",)                       # reads as its first error
    messages = [str(e) for e in info.value.errors]
    assert "did you mean 'qualities'?" in messages[0]
    assert "did you mean 'height'?" in messages[3]
    assert "did you mean 'Banner'?" in messages[4]
    assert "Tiff" in str(info.value) and "Gif" in str(info.value)  # the message lists them all


def test_a_bad_global_value_is_reported_once():
    with pytest.raises(SettingsError) as info:
        parse_settings({"qualities": [500]})
    assert [e.path for e in info.value.errors] == [("qualities", 0)]

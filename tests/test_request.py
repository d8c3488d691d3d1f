"""Parsing image and object URLs (pipeline/serve/request.py, api-reference §1)."""

import pytest

from pipeline.model.imagetypes import IMAGE_TYPES
from urllib.parse import unquote

from pipeline.serve.request import BadRequest, ImageRequest, NotFound, ObjectRequest, parse_query
from pipeline.serve.request import parse as parse_decoded


def parse(path, pairs):
    """As a request arrives: the WSGI server percent-decodes the path once, then routing."""
    return parse_decoded(unquote(path), pairs)
from pipeline.model.sizing import SizeRequest

TAG = "0123456789abcdef0123456789abcdef"


def image(path, query=()):
    """Parse and return (kind, owner_id, image_type, index) of an ImageRequest."""
    request = parse(path, list(query))
    assert isinstance(request, ImageRequest), request
    return request.kind, request.owner_id, request.image_type, request.index


# --- routes ------------------------------------------------------------------------------------

IMAGE_ROUTES = [
    # (path, query, (kind, owner id, ImageType, index))
    ("/Items/abc/Images/Primary", [], ("Items", "abc", "Primary", 0)),
    ("/items/abc/images/primary", [], ("Items", "abc", "Primary", 0)),
    ("/ITEMS/abc/IMAGES/PRIMARY", [], ("Items", "abc", "Primary", 0)),
    ("/iTeMs/AbC-9_z/iMaGeS/bAcKdRoP", [], ("Items", "AbC-9_z", "Backdrop", 0)),   # id case kept
    ("/Items/abc/Images/Backdrop/0", [], ("Items", "abc", "Backdrop", 0)),
    ("/items/abc/images/backdrop/2", [], ("Items", "abc", "Backdrop", 2)),
    ("/ITEMS/abc/IMAGES/BACKDROP/12", [], ("Items", "abc", "Backdrop", 12)),
    ("/Items/abc/Images/Backdrop/007", [], ("Items", "abc", "Backdrop", 7)),
    ("/Items/abc/Images/Backdrop", [("imageIndex", "3")], ("Items", "abc", "Backdrop", 3)),
    ("/Items/abc/Images/Backdrop", [("ImageIndex", "3")], ("Items", "abc", "Backdrop", 3)),
    ("/Items/abc/Images/Backdrop", [("IMAGEINDEX", "1")], ("Items", "abc", "Backdrop", 1)),
    ("/Items/abc/Images/Backdrop", [("imageIndex", "")], ("Items", "abc", "Backdrop", 0)),
    ("/Items/abc/Images/Backdrop/1", [("imageIndex", "5")], ("Items", "abc", "Backdrop", 1)),  # segment wins
    ("/Items/abc/Images/Chapter/3", [], ("Items", "abc", "Chapter", 3)),
    ("/Items/abc/Images/ChapterImage/3", [], ("Items", "abc", "Chapter", 3)),
    ("/items/abc/images/chapterimage", [], ("Items", "abc", "Chapter", 0)),
    ("/ITEMS/abc/IMAGES/CHAPTERIMAGE/1", [], ("Items", "abc", "Chapter", 1)),
    ("/Items/abc/Images/BoxRear", [], ("Items", "abc", "BoxRear", 0)),
    ("/Items/abc/Images/boxrear/0", [], ("Items", "abc", "BoxRear", 0)),
    ("/Items/abc/Images/Primary/", [], ("Items", "abc", "Primary", 0)),                 # trailing slash
    ("Items/abc/Images/Primary", [], ("Items", "abc", "Primary", 0)),                   # no leading slash
    ("/Users/u1/Images/Primary", [], ("Users", "u1", "Primary", 0)),
    ("/users/u1/images/primary/0", [], ("Users", "u1", "Primary", 0)),
    ("/USERS/U1/IMAGES/PRIMARY/1", [], ("Users", "U1", "Primary", 1)),
    ("/Users/u1/Images/Primary", [("imageIndex", "2")], ("Users", "u1", "Primary", 2)),
    ("/UserImage", [("userId", "u1")], ("Users", "u1", "Primary", 0)),
    ("/userimage", [("UserId", "u1")], ("Users", "u1", "Primary", 0)),
    ("/USERIMAGE/", [("USERID", "u1")], ("Users", "u1", "Primary", 0)),
    ("/UserImage", [("userId", "u1"), ("imageIndex", "1")], ("Users", "u1", "Primary", 1)),
    ("/Items/abc%2Ddef/Images/Primary", [], ("Items", "abc-def", "Primary", 0)),          # percent-decoded
    ("/Items/abc/Images/%50rimary", [], ("Items", "abc", "Primary", 0)),
]


@pytest.mark.parametrize("path, query, expected", IMAGE_ROUTES)
def test_image_routes(path, query, expected):
    assert image(path, query) == expected


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
@pytest.mark.parametrize("spelling", [str, str.lower, str.upper, str.swapcase])
def test_every_image_type_in_any_case(image_type, spelling):
    assert image(f"/Items/x/Images/{spelling(image_type)}/0")[2] == image_type


OBJECT_ROUTES = [
    ("/Items/abc", ObjectRequest("Items", "abc")),
    ("/items/abc/", ObjectRequest("Items", "abc")),
    ("/ITEMS/ABC", ObjectRequest("Items", "ABC")),
    ("/Items/abc/Images", ObjectRequest("Items", "abc", images=True)),
    ("/items/abc/images/", ObjectRequest("Items", "abc", images=True)),
    ("/ITEMS/abc/IMAGES", ObjectRequest("Items", "abc", images=True)),
    ("/Users/u1", ObjectRequest("Users", "u1")),
    ("/users/u1", ObjectRequest("Users", "u1")),
]


@pytest.mark.parametrize("path, expected", OBJECT_ROUTES)
def test_object_routes(path, expected):
    assert parse(path, [("api_key", "x")]) == expected


# --- the legacy path form ------------------------------------------------------------------------

LEGACY = [
    # (path, (ImageType, index), tag, format, size, decorations)
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/300/0/0/0", ("Primary", 0), TAG, "Jpg", SizeRequest(maxWidth=300), {}),
    (f"/Items/abc/Images/Backdrop/2/{TAG}/Webp/1920/1080/0/0", ("Backdrop", 2), TAG, "Webp",
     SizeRequest(maxWidth=1920, maxHeight=1080), {}),
    (f"/Items/abc/Images/Primary/0/{TAG}/Original/0/0/0/0", ("Primary", 0), TAG, "Original", SizeRequest(), {}),
    (f"/items/abc/images/primary/0/{TAG}/original/0/0/0/0", ("Primary", 0), TAG, "Original", SizeRequest(), {}),
    (f"/ITEMS/abc/IMAGES/LOGO/0/{TAG}/JPEG/0/220/0/0", ("Logo", 0), TAG, "Jpg", SizeRequest(maxHeight=220), {}),
    (f"/Items/abc/Images/ChapterImage/4/{TAG}/png/400/0/0/0", ("Chapter", 4), TAG, "Png", SizeRequest(maxWidth=400), {}),
    (f"/Items/abc/Images/Primary/0/{TAG}/tiff/0/0/0/0", ("Primary", 0), TAG, None, SizeRequest(), {}),  # unknown format
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/47/0", ("Primary", 0), TAG, "Jpg", SizeRequest(),
     {"percentPlayed": "47"}),
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/0/5", ("Primary", 0), TAG, "Jpg", SizeRequest(),
     {"unplayedCount": "5"}),
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/-3/0", ("Primary", 0), TAG, "Jpg", SizeRequest(), {}),  # ≤ 0: none
]


@pytest.mark.parametrize("path, slot, tag, fmt, size, decorations", LEGACY)
def test_legacy_path_form(path, slot, tag, fmt, size, decorations):
    request = parse(path, [])
    assert isinstance(request, ImageRequest)
    assert (request.kind, request.owner_id, request.image_type, request.index) == ("Items", "abc", *slot)
    assert (request.tag, request.format, request.size, request.decorations) == (tag, fmt, size, decorations)
    assert request.quality is None


def test_legacy_path_form_overrides_query_size_format_and_tag_but_keeps_quality():
    request = parse(f"/Items/abc/Images/Primary/0/{TAG}/Jpg/300/0/0/0",
                    [("maxWidth", "50"), ("format", "png"), ("tag", "other"), ("quality", "80"),
                     ("fillWidth", "10")])
    assert (request.size, request.format, request.tag, request.quality) == (SizeRequest(maxWidth=300), "Jpg", TAG, 80)


@pytest.mark.parametrize("path, error", [
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/wide/0/0/0", BadRequest),
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/-5/0/0", BadRequest),
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/lots/0", BadRequest),
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/0/1.5", BadRequest),
    (f"/Items/abc/Images/Primary/x/{TAG}/Jpg/0/0/0/0", BadRequest),
    (f"/Users/u1/Images/Primary/0/{TAG}/Jpg/0/0/0/0", NotFound),       # no legacy form for users
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/0", NotFound),        # 10 segments
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/0/0/0", NotFound),    # 12 segments
    (f"/Items/abc/Images/Primary/0/{TAG}", NotFound),                  # 6 segments
    (f"/Items/abc/Images/Primary/0/{TAG}/Jpg/0/0/0/0".replace("Images", "Pictures"), NotFound),
])
def test_legacy_path_form_errors(path, error):
    with pytest.raises(error):
        parse(path, [])


# --- query parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["width", "height", "maxWidth", "maxHeight", "fillWidth", "fillHeight"])
@pytest.mark.parametrize("spelling", [str, str.lower, str.upper, lambda s: s[0].upper() + s[1:]])
def test_size_parameters_in_any_case(name, spelling):
    request = parse("/Items/abc/Images/Primary", [(spelling(name), "228")])
    assert request.size == SizeRequest(**{name: 228})


def test_every_size_parameter_together():
    query = [("width", "1"), ("height", "2"), ("maxWidth", "3"), ("maxHeight", "4"), ("fillWidth", "5"),
             ("fillHeight", "6")]
    assert parse("/Items/abc/Images/Primary", query).size == SizeRequest(1, 2, 3, 4, 5, 6)


def test_jellyfin_web_card_request():
    request = parse("/Items/abc/Images/Primary",
                    [("fillHeight", "342"), ("fillWidth", "228"), ("quality", "96"), ("tag", TAG)])
    assert request == ImageRequest("Items", "abc", "Primary", 0, SizeRequest(fillWidth=228, fillHeight=342),
                                   None, 96, TAG)


def test_apiclient_python_request():
    request = parse("items/abc/images/backdrop/1",
                    [("MaxWidth", "1920"), ("format", "jpg"), ("api_key", "secret")])
    assert (request.image_type, request.index, request.size, request.format) == (
        "Backdrop", 1, SizeRequest(maxWidth=1920), "Jpg")


def test_kodi_request():
    request = parse("/Items/abc/Images/Primary/0", [("Format", "original"), ("Tag", TAG)])
    assert (request.format, request.tag, request.size) == ("Original", TAG, SizeRequest())


def test_unknown_query_parameters_are_ignored():
    plain = parse("/Items/abc/Images/Primary", [("maxWidth", "300")])
    noisy = parse("/Items/abc/Images/Primary",
                  [("api_key", "k"), ("UserId", "../../etc"), ("DeviceId", "d?x"), ("maxWidth", "300"),
                   ("cropWhitespace", "true"), ("x", ""), ("enableImageEnhancers", "banana")])
    assert noisy == plain


def test_first_value_of_a_repeated_parameter_wins():
    request = parse("/Items/abc/Images/Primary", [("maxWidth", "100"), ("MaxWidth", "200"), ("maxwidth", "x")])
    assert request.size == SizeRequest(maxWidth=100)
    assert parse_query([("A", "1"), ("a", "2"), ("B", "3")]) == {"a": "1", "b": "3"}


@pytest.mark.parametrize("value, expected", [
    ("Jpg", "Jpg"), ("jpg", "Jpg"), ("JPG", "Jpg"), ("jpeg", "Jpg"), ("JPEG", "Jpg"), ("Jpeg", "Jpg"),
    ("jpp", "Jpg"), ("png", "Png"), ("PNG", "Png"), ("webp", "Webp"), ("WebP", "Webp"), ("gif", "Gif"),
    ("bmp", "Bmp"), ("original", "Original"), ("ORIGINAL", "Original"),
    ("tiff", None), ("svg", None), ("jpgx", None), ("", None), ("1", None),
])
def test_format_values(value, expected):
    assert parse("/Items/abc/Images/Primary", [("format", value)]).format == expected
    assert parse("/Items/abc/Images/Primary", [("FORMAT", value)]).format == expected


@pytest.mark.parametrize("value, expected", [("0", 0), ("100", 100), ("90", 90), ("", None), ("007", 7)])
def test_quality_values(value, expected):
    assert parse("/Items/abc/Images/Primary", [("Quality", value)]).quality == expected


@pytest.mark.parametrize("value, expected", [("0", None), ("", None), ("1", 1), ("3840", 3840)])
def test_size_zero_or_empty_is_absent(value, expected):
    assert parse("/Items/abc/Images/Primary", [("maxWidth", value)]).size.maxWidth == expected


def test_tag_is_kept_as_sent():
    assert parse("/Items/abc/Images/Primary", [("Tag", "AbC")]).tag == "AbC"
    assert parse("/Items/abc/Images/Primary", [("tag", "")]).tag is None
    assert parse("/Items/abc/Images/Primary", []).tag is None


def test_no_query_gives_an_empty_request():
    request = parse("/Items/abc/Images/Primary", [])
    assert (request.size, request.format, request.quality, request.tag, request.decorations) == (
        SizeRequest(), None, None, None, {})
    assert request.size.is_empty()


def test_decoration_parameters_are_recorded_as_sent():
    request = parse("/Items/abc/Images/Primary", [("PercentPlayed", "47.5"), ("unplayedcount", "3"),
                                                  ("blur", "")])
    assert request.decorations == {"percentPlayed": "47.5", "unplayedCount": "3"}


# --- 400 ------------------------------------------------------------------------------------------

BAD_REQUESTS = [
    ("/Items/abc/Images/Primary", [("maxWidth", "abc")], "maxWidth"),
    ("/Items/abc/Images/Primary", [("maxWidth", "1.5")], "maxWidth"),
    ("/Items/abc/Images/Primary", [("maxWidth", "-1")], "maxWidth"),
    ("/Items/abc/Images/Primary", [("MAXHEIGHT", "1e3")], "maxHeight"),
    ("/Items/abc/Images/Primary", [("width", "300px")], "width"),
    ("/Items/abc/Images/Primary", [("height", "-300")], "height"),
    ("/Items/abc/Images/Primary", [("fillWidth", "0x10")], "fillWidth"),
    ("/Items/abc/Images/Primary", [("fillHeight", "NaN")], "fillHeight"),
    ("/Items/abc/Images/Primary", [("quality", "101")], "quality"),
    ("/Items/abc/Images/Primary", [("quality", "1000")], "quality"),
    ("/Items/abc/Images/Primary", [("quality", "-1")], "quality"),
    ("/Items/abc/Images/Primary", [("quality", "high")], "quality"),
    ("/Items/abc/Images/Primary", [("quality", "90.0")], "quality"),
    ("/Items/abc/Images/Backdrop", [("imageIndex", "-1")], "imageIndex"),
    ("/Items/abc/Images/Backdrop", [("imageIndex", "one")], "imageIndex"),
    ("/Items/abc/Images/Backdrop/x", [], "imageIndex"),
    ("/Items/abc/Images/Backdrop/-1", [], "imageIndex"),
    ("/Items/abc/Images/Backdrop/1.0", [], "imageIndex"),
    ("/UserImage", [], "userId"),
    ("/UserImage", [("userId", "")], "userId"),
    ("/UserImage", [("userId", "u1"), ("imageIndex", "-2")], "imageIndex"),
    ("/Users/u1/Images/Primary", [("width", "w")], "width"),
]


@pytest.mark.parametrize("path, query, name", BAD_REQUESTS)
def test_bad_requests_name_the_parameter(path, query, name):
    with pytest.raises(BadRequest) as info:
        parse(path, query)
    assert str(info.value).startswith(name + " ")


def test_bad_request_and_not_found_are_distinct():
    assert not issubclass(BadRequest, LookupError) and issubclass(BadRequest, ValueError)
    assert issubclass(NotFound, LookupError) and not issubclass(NotFound, ValueError)


@pytest.mark.parametrize("path, query", [
    ("/Items/abc/Images/Primary", [("maxWidth", "1_000")]),
    ("/Items/abc/Images/Primary", [("maxWidth", "３００")]),
    ("/Items/abc/Images/Primary", [("quality", "٩٠")]),
    ("/Items/abc/Images/Backdrop/1_0", []),
], ids=["underscore", "fullwidth", "arabic-indic", "index-underscore"])
def test_non_ascii_or_separated_numbers_are_bad_requests(path, query):
    with pytest.raises(BadRequest):
        parse(path, query)


# --- 404 ------------------------------------------------------------------------------------------

NOT_FOUND = [
    # unknown routes
    "", "/", "/Items", "/Users", "/items/", "/Foo/abc", "/Items/abc/Foo", "/Items/abc/Metadata",
    "/Items/abc/Images/Poster", "/Items/abc/Images/Primaryx", "/Items/abc/Images/Primary/0/extra",
    "/Users/u1/Images", "/Users/u1/Foo", "/UserImage/u1", "/Items/abc/Images/Chapterimages/0",
    "/System/Info", "/web/index.html",
    # bad ids
    "/Items/a.b", "/Items/a b/Images/Primary", "/Items/a%20b/Images/Primary", "/Items/%C3%A4/Images/Primary",
    "/Items/ä", "/Items/a+b", "/Items/a;b", "/Items/a:b/Images/Primary", "/Users/u%2A", "/Items/a%25b",
    "/Items/abc%3Fx=1/Images/Primary",
    # traversal
    "/Items/../Images/Primary", "/Items/abc/../../etc/passwd", "/Items/abc/Images/../../../etc/passwd",
    "/Items/./Images/Primary", "/Items/abc/Images/./Primary", "/Items/%2e%2e/Images/Primary",
    "/Items/%2E%2E/Images", "/items/%2e/images", "/Items/abc/Images/Primary/%2e%2e",
    "/Items/abc%2F..%2F..%2Fetc/Images/Primary", "/Items/abc%2Fdef", "/Items/abc%2fdef/Images/Primary",
    "/Items/abc\\def", "/Items/abc%5Cdef/Images/Primary", "/Items/..%5C..%5Cwindows",
    "/Items/abc%00", "/Items/abc\x00/Images/Primary", "/Items/abc/Images/Primary%00",
    "/Items/%252e%252e/Images/Primary", "/..", "/%2e%2e/%2e%2e/etc/passwd",
]


@pytest.mark.parametrize("path", NOT_FOUND)
def test_not_found(path):
    with pytest.raises(NotFound):
        parse(path, [("maxWidth", "300")])


@pytest.mark.parametrize("user_id", ["../x", "a/b", "a b", "a\\b", "a\x00", "..", "ü"])
def test_user_image_with_a_bad_user_id_is_not_found(user_id):
    with pytest.raises(NotFound):
        parse("/UserImage", [("userId", user_id)])


def test_traversal_in_the_index_segment_is_not_found_not_bad_request():
    with pytest.raises(NotFound):
        parse("/Items/abc/Images/Backdrop/..", [])

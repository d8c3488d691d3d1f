"""Parent-image inheritance (pipeline/plan/inheritance.py, api-reference §2, Jellyfin AddInheritedImages)."""

import pytest

from imagefactory import fake_plan
from pipeline.plan.inheritance import inherited_fields

#: id: (type, parent, images). Names starting with "bad" fail to probe (count as absent).
LIBRARY = {
    # a series with everything, one backdrop of three failed
    "s": ("Series", None, {"Primary": "s-p.jpg", "Logo": "s-logo.png", "Art": "s-art.png", "Thumb": "s-th.jpg",
                           "Backdrop": ["s-bd0.jpg", "bad-s-bd1.jpg", "s-bd2.jpg"]}),
    "s1": ("Season", "s", {"Primary": "s1-p.jpg", "Thumb": "s1-th.jpg"}),
    "e1": ("Episode", "s1", {}),
    "e2": ("Episode", "s1", {"Primary": "e2-p.jpg", "Backdrop": ["e2-bd.jpg"], "Logo": "e2-logo.png",
                             "Thumb": "e2-th.jpg", "Art": "e2-art.png"}),
    "s2": ("Season", "s", {}),
    "e3": ("Episode", "s2", {}),
    # a season whose own images all failed
    "s3": ("Season", "s", {"Primary": "bad-s3-p.jpg", "Logo": "bad-s3-logo.png", "Backdrop": ["bad-s3-bd.jpg"],
                           "Thumb": "bad-s3-th.jpg"}),
    "e5": ("Episode", "s3", {}),
    # a series with a primary only; its season has a thumb
    "x": ("Series", None, {"Primary": "x-p.jpg"}),
    "x1": ("Season", "x", {"Thumb": "x1-th.jpg", "Logo": "x1-logo.png"}),
    "x1e1": ("Episode", "x1", {}),
    "xe": ("Episode", "x", {}),                               # an episode right under its series
    # a series inside a folder that has everything: a Series inherits nothing
    "f": ("Folder", None, {"Primary": "f-p.jpg", "Logo": "f-logo.png", "Art": "f-art.png", "Thumb": "f-th.jpg",
                           "Backdrop": ["f-bd.jpg"]}),
    "fs": ("Series", "f", {}),
    # a movie in a box set
    "bs": ("BoxSet", None, {"Primary": "bs-p.jpg", "Thumb": "bs-th.jpg", "Logo": "bs-logo.png",
                            "Backdrop": ["bs-bd.jpg"]}),
    "m": ("Movie", "bs", {}),
    "m2": ("Movie", "bs", {"Backdrop": ["m2-bd.jpg"], "Thumb": "m2-th.jpg"}),
    # music
    "ar": ("MusicArtist", None, {"Logo": "ar-logo.png", "Backdrop": ["ar-bd0.jpg", "ar-bd1.jpg"],
                                 "Primary": "ar-p.jpg"}),
    "al": ("MusicAlbum", "ar", {"Primary": "al-p.jpg"}),
    "t1": ("Audio", "al", {}),
    "t2": ("Audio", "al", {"Primary": "t2-p.jpg"}),
    "al2": ("MusicAlbum", "ar", {"Primary": "bad-al2-p.jpg"}),
    "t3": ("Audio", "al2", {}),
    # no parent, no images
    "lone": ("Movie", None, {}),
    "lone-ep": ("Episode", None, {}),
}

PLAN = fake_plan(LIBRARY)


def tag(owner, image_type, index=0):
    value = PLAN.tag_of("Items", owner, image_type, index)
    assert value is not None, (owner, image_type, index)
    return value


def tags(owner, image_type):
    return PLAN.tags_of("Items", owner, image_type)


def logo(o):
    return {"ParentLogoItemId": o, "ParentLogoImageTag": tag(o, "Logo")}


def art(o):
    return {"ParentArtItemId": o, "ParentArtImageTag": tag(o, "Art")}


def thumb(o):
    return {"ParentThumbItemId": o, "ParentThumbImageTag": tag(o, "Thumb")}


def backdrops(o):
    return {"ParentBackdropItemId": o, "ParentBackdropImageTags": tags(o, "Backdrop")}


def series(o, with_thumb=True):
    out = {"SeriesPrimaryImageTag": tag(o, "Primary")}
    if with_thumb:
        out["SeriesThumbImageTag"] = tag(o, "Thumb")
    return out


def parent_primary(o):
    return {"ParentPrimaryImageItemId": o, "ParentPrimaryImageTag": tag(o, "Primary")}


EXPECTED = {
    # Series: nothing, even when its folder has every image
    "s": lambda: {},
    "x": lambda: {},
    "fs": lambda: {},
    "f": lambda: {},
    # Season: Logo/Art/Backdrop from the series, its own Thumb; Series* tags
    "s1": lambda: {**logo("s"), **art("s"), **backdrops("s"), **series("s")},
    # Episode: Thumb of the Series overrides the Season's; primary from the season
    "e1": lambda: {**logo("s"), **art("s"), **thumb("s"), **backdrops("s"), **series("s"), **parent_primary("s1")},
    # Episode with its own images: only the Series* tags (set even with an own primary/thumb)
    "e2": lambda: {**series("s")},
    "s2": lambda: {**logo("s"), **art("s"), **thumb("s"), **backdrops("s"), **series("s")},
    # Season without a primary: the Series' primary
    "e3": lambda: {**logo("s"), **art("s"), **thumb("s"), **backdrops("s"), **series("s"), **parent_primary("s")},
    # failed sources count as absent
    "s3": lambda: {**logo("s"), **art("s"), **thumb("s"), **backdrops("s"), **series("s")},
    "e5": lambda: {**logo("s"), **art("s"), **thumb("s"), **backdrops("s"), **series("s"), **parent_primary("s")},
    # Season thumb used when the Series has none; no SeriesThumbImageTag then
    "x1": lambda: {**series("x", with_thumb=False)},
    "x1e1": lambda: {**logo("x1"), **thumb("x1"), **series("x", with_thumb=False), **parent_primary("x")},
    "xe": lambda: {**series("x", with_thumb=False), **parent_primary("x")},
    # Movie in a box set: no primary inheritance; only the types it lacks
    "bs": lambda: {},
    "m": lambda: {**logo("bs"), **thumb("bs"), **backdrops("bs")},
    "m2": lambda: {**logo("bs")},
    # Music: AlbumPrimaryImageTag for Audio, even with its own primary
    "ar": lambda: {},
    "al": lambda: {**logo("ar"), **backdrops("ar")},
    "al2": lambda: {**logo("ar"), **backdrops("ar")},
    "t1": lambda: {**logo("ar"), **backdrops("ar"), "AlbumPrimaryImageTag": tag("al", "Primary")},
    "t2": lambda: {**logo("ar"), **backdrops("ar"), "AlbumPrimaryImageTag": tag("al", "Primary")},
    "t3": lambda: {**logo("ar"), **backdrops("ar")},               # the album's primary failed
    "lone": lambda: {},
    "lone-ep": lambda: {},
}


def test_every_item_has_an_expectation():
    assert set(EXPECTED) == set(LIBRARY)


@pytest.mark.parametrize("item_id", list(EXPECTED))
def test_inherited_fields(item_id):
    got = inherited_fields(PLAN, PLAN.library.items[item_id])
    assert got == EXPECTED[item_id]()


@pytest.mark.parametrize("item_id", ["e1", "s1", "t1", "x1e1"])
def test_field_order(item_id):
    order = ["ParentLogoItemId", "ParentLogoImageTag", "ParentArtItemId", "ParentArtImageTag", "ParentThumbItemId",
             "ParentThumbImageTag", "ParentBackdropItemId", "ParentBackdropImageTags", "SeriesPrimaryImageTag",
             "SeriesThumbImageTag", "ParentPrimaryImageItemId", "ParentPrimaryImageTag", "AlbumPrimaryImageTag"]
    got = list(inherited_fields(PLAN, PLAN.library.items[item_id]))
    assert got == [name for name in order if name in got]


def test_failed_backdrop_leaves_consecutive_parent_backdrop_tags():
    assert tags("s", "Backdrop") == [tag("s", "Backdrop", 0), tag("s", "Backdrop", 1)]
    assert len(inherited_fields(PLAN, PLAN.library.items["e1"])["ParentBackdropImageTags"]) == 2
    assert PLAN.failed["bad-s-bd1.jpg"] == "not an image: bad-s-bd1.jpg"


def test_values_are_ids_and_tags():
    fields = inherited_fields(PLAN, PLAN.library.items["e1"])
    for name, value in fields.items():
        if name.endswith("ItemId"):
            assert value in LIBRARY
        elif name.endswith("ImageTags"):
            assert isinstance(value, list) and all(len(t) == 32 for t in value)
        else:
            assert isinstance(value, str) and len(value) == 32 and value in PLAN.sources


def test_a_season_thumb_wins_when_its_series_thumb_failed():
    plan = fake_plan({
        "s": ("Series", None, {"Thumb": "bad-th.jpg", "Primary": "p.jpg"}),
        "s1": ("Season", "s", {"Thumb": "s1-th.jpg"}),
        "e": ("Episode", "s1", {}),
    })
    fields = inherited_fields(plan, plan.library.items["e"])
    assert fields == {"ParentThumbItemId": "s1", "ParentThumbImageTag": plan.tag_of("Items", "s1", "Thumb"),
                      "SeriesPrimaryImageTag": plan.tag_of("Items", "s", "Primary"),
                      "ParentPrimaryImageItemId": "s", "ParentPrimaryImageTag": plan.tag_of("Items", "s", "Primary")}


def test_nearest_ancestor_wins_for_logo_art_and_backdrops():
    plan = fake_plan({
        "top": ("Folder", None, {"Logo": "top-logo.png", "Art": "top-art.png", "Backdrop": ["top-bd.jpg"]}),
        "mid": ("Folder", "top", {"Logo": "mid-logo.png", "Backdrop": ["mid-bd0.jpg", "mid-bd1.jpg"]}),
        "leaf": ("Video", "mid", {}),
    })
    t = lambda o, k, i=0: plan.tag_of("Items", o, k, i)
    assert inherited_fields(plan, plan.library.items["leaf"]) == {
        "ParentLogoItemId": "mid", "ParentLogoImageTag": t("mid", "Logo"),
        "ParentArtItemId": "top", "ParentArtImageTag": t("top", "Art"),
        "ParentBackdropItemId": "mid", "ParentBackdropImageTags": [t("mid", "Backdrop", 0), t("mid", "Backdrop", 1)],
    }


def test_user_images_are_not_inherited_by_items():
    plan = fake_plan({"s": ("Series", None, {}), "e": ("Episode", "s", {})}, users={"s": {"Primary": "u.png"}})
    assert inherited_fields(plan, plan.library.items["e"]) == {}


@pytest.mark.parametrize("item_id", ["fs1", "fs1e"])
def test_inheritance_stops_at_the_series(item_id):
    plan = fake_plan({
        "f": ("Folder", None, {"Logo": "f-logo.png", "Art": "f-art.png", "Thumb": "f-th.jpg", "Backdrop": ["f-bd.jpg"],
                               "Primary": "f-p.jpg"}),
        "fs": ("Series", "f", {"Primary": "fs-p.jpg"}),
        "fs1": ("Season", "fs", {}),
        "fs1e": ("Episode", "fs1", {}),
    })
    fs_primary = plan.tag_of("Items", "fs", "Primary")
    expected = {"SeriesPrimaryImageTag": fs_primary}
    if item_id == "fs1e":
        expected |= {"ParentPrimaryImageItemId": "fs", "ParentPrimaryImageTag": fs_primary}
    assert inherited_fields(plan, plan.library.items[item_id]) == expected

"""The JSON objects (pipeline/outputs/objects.py): BaseItemDto image fields, ImageInfo lists, user objects."""

import json

import pytest

from imagefactory import encode, fake_plan, fake_probe, jpeg, marked, png, write
from pipeline.model import layout
from pipeline.catalog.loader import load_catalog
from pipeline.outputs.dto import image_infos, item_dto, user_dto
from pipeline.outputs.renders import TagFacts
from pipeline.plan.assemble import apply_render_results
from pipeline.imaging.render import render_source
from pipeline.model.ids import SERVER_ID
from pipeline.plan.planner import make_plan
from pipeline.plan.probe import probe_all

LIBRARY = {
    "s": ("Series", None, {"Primary": "s-p.jpg", "Logo": "s-logo.png", "Thumb": "s-th.jpg", "Banner": "s-banner.jpg",
                           "Backdrop": ["s-bd0.jpg", "bad-bd.jpg", "s-bd1.jpg"]}),
    "s1": ("Season", "s", {"Primary": "s1-p.jpg"}),
    "e1": ("Episode", "s1", {"Screenshot": ["e1-sc0.jpg", "e1-sc1.jpg"],
                             "Chapter": ["e1-ch0.jpg", "e1-ch1.jpg", "e1-ch2.jpg"]}),
    "m": ("Movie", None, {}),
}
USERS = {"u1": {"Primary": "u1.png"}, "u2": {}, "u3": {"Primary": "bad-u3.png"}}
PROBES = {
    "s-p.jpg": fake_probe("s-p.jpg", 1000, 1500),
    "s-logo.png": fake_probe("s-logo.png", 800, 310, "Png"),
    "s-bd0.jpg": fake_probe("s-bd0.jpg", 1920, 1080),
    "s-bd1.jpg": fake_probe("s-bd1.jpg", 3840, 2160),
    "s1-p.jpg": fake_probe("s1-p.jpg", 680, 1000),
    "u1.png": fake_probe("u1.png", 300, 200, "Png"),
}
PLAN = fake_plan(LIBRARY, USERS, PROBES)


def tag(owner, image_type, index=0, kind="Items"):
    value = PLAN.tag_of(kind, owner, image_type, index)
    assert value is not None
    return value


def g(owner_id, kind="Items"):
    """The published GUID of a catalog id."""
    return getattr(PLAN.library, kind.lower())[owner_id].guid


def bh(name):
    return f"BH:{name}"


def item(owner_id):
    return PLAN.library.items[owner_id]


def nulls(value) -> list:
    """Paths of every None inside a JSON-like value."""
    if value is None:
        return [""]
    if isinstance(value, dict):
        return [f"{k}.{p}" for k, v in value.items() for p in nulls(v)]
    if isinstance(value, list):
        return [f"[{i}]{p}" for i, v in enumerate(value) for p in nulls(v)]
    return []


# --- BaseItemDto ---------------------------------------------------------------------------------

def test_series_dto():
    dto = item_dto(PLAN, item("s"))
    assert dto == {
        "Id": g("s"), "Name": "S", "Type": "Series", "ServerId": SERVER_ID, "IsFolder": True, "ChildCount": 1,
        "ImageTags": {"Primary": tag("s", "Primary"), "Banner": tag("s", "Banner"), "Logo": tag("s", "Logo"),
                      "Thumb": tag("s", "Thumb")},
        "BackdropImageTags": [tag("s", "Backdrop", 0), tag("s", "Backdrop", 1)],   # the failed one left out
        "ScreenshotImageTags": [],
        "ImageBlurHashes": {
            "Primary": {tag("s", "Primary"): bh("s-p.jpg")},
            "Backdrop": {tag("s", "Backdrop", 0): bh("s-bd0.jpg"), tag("s", "Backdrop", 1): bh("s-bd1.jpg")},
            "Banner": {tag("s", "Banner"): bh("s-banner.jpg")},
            "Logo": {tag("s", "Logo"): bh("s-logo.png")},
            "Thumb": {tag("s", "Thumb"): bh("s-th.jpg")},
        },
        "PrimaryImageAspectRatio": 1000 / 1500,
    }
    assert list(dto) == ["Id", "Name", "Type", "ServerId", "IsFolder", "ChildCount", "ImageTags",
                         "BackdropImageTags", "ScreenshotImageTags", "ImageBlurHashes", "PrimaryImageAspectRatio"]
    assert list(dto["ImageTags"]) == ["Primary", "Banner", "Logo", "Thumb"]            # enum order
    assert list(dto["ImageBlurHashes"]) == ["Primary", "Backdrop", "Banner", "Logo", "Thumb"]


def test_season_dto():
    dto = item_dto(PLAN, item("s1"))
    assert dto == {
        "Id": g("s1"), "Name": "S1", "Type": "Season", "ServerId": SERVER_ID, "IsFolder": True, "ParentId": g("s"),
        "ChildCount": 1, "SeriesName": "S", "SeriesId": g("s"),
        "ImageTags": {"Primary": tag("s1", "Primary")},
        "BackdropImageTags": [], "ScreenshotImageTags": [],
        "ImageBlurHashes": {
            "Primary": {tag("s1", "Primary"): bh("s1-p.jpg"), tag("s", "Primary"): bh("s-p.jpg")},
            "Logo": {tag("s", "Logo"): bh("s-logo.png")},
            "Thumb": {tag("s", "Thumb"): bh("s-th.jpg")},
            "Backdrop": {tag("s", "Backdrop", 0): bh("s-bd0.jpg"), tag("s", "Backdrop", 1): bh("s-bd1.jpg")},
        },
        "PrimaryImageAspectRatio": 680 / 1000,
        "ParentLogoItemId": g("s"), "ParentLogoImageTag": tag("s", "Logo"),
        "ParentThumbItemId": g("s"), "ParentThumbImageTag": tag("s", "Thumb"),
        "ParentBackdropItemId": g("s"), "ParentBackdropImageTags": [tag("s", "Backdrop", 0), tag("s", "Backdrop", 1)],
        "SeriesPrimaryImageTag": tag("s", "Primary"),
        "SeriesThumbImageTag": tag("s", "Thumb"),
    }
    assert list(dto) == ["Id", "Name", "Type", "ServerId", "IsFolder", "ParentId", "ChildCount", "SeriesName",
                         "SeriesId", "ImageTags", "BackdropImageTags", "ScreenshotImageTags", "ImageBlurHashes",
                         "PrimaryImageAspectRatio", "ParentLogoItemId", "ParentLogoImageTag", "ParentThumbItemId",
                         "ParentThumbImageTag", "ParentBackdropItemId", "ParentBackdropImageTags",
                         "SeriesPrimaryImageTag", "SeriesThumbImageTag"]


def test_episode_dto_with_screenshots_and_chapters():
    dto = item_dto(PLAN, item("e1"))
    chapters = [tag("e1", "Chapter", i) for i in range(3)]
    assert dto == {
        "Id": g("e1"), "Name": "E1", "Type": "Episode", "ServerId": SERVER_ID, "IsFolder": False, "ParentId": g("s1"),
        "SeriesName": "S", "SeriesId": g("s"), "SeasonId": g("s1"), "SeasonName": "S1",
        "ImageTags": {},
        "BackdropImageTags": [],
        "ScreenshotImageTags": [tag("e1", "Screenshot", 0), tag("e1", "Screenshot", 1)],
        "Chapters": [{"Name": "Chapter 1", "ImageTag": chapters[0]}, {"Name": "Chapter 2", "ImageTag": chapters[1]},
                     {"Name": "Chapter 3", "ImageTag": chapters[2]}],
        "ImageBlurHashes": {
            "Screenshot": {tag("e1", "Screenshot", 0): bh("e1-sc0.jpg"), tag("e1", "Screenshot", 1): bh("e1-sc1.jpg")},
            "Chapter": {chapters[i]: bh(f"e1-ch{i}.jpg") for i in range(3)},
            "Logo": {tag("s", "Logo"): bh("s-logo.png")},
            "Thumb": {tag("s", "Thumb"): bh("s-th.jpg")},
            "Backdrop": {tag("s", "Backdrop", 0): bh("s-bd0.jpg"), tag("s", "Backdrop", 1): bh("s-bd1.jpg")},
            "Primary": {tag("s", "Primary"): bh("s-p.jpg"), tag("s1", "Primary"): bh("s1-p.jpg")},
        },
        "ParentLogoItemId": g("s"), "ParentLogoImageTag": tag("s", "Logo"),
        "ParentThumbItemId": g("s"), "ParentThumbImageTag": tag("s", "Thumb"),
        "ParentBackdropItemId": g("s"), "ParentBackdropImageTags": [tag("s", "Backdrop", 0), tag("s", "Backdrop", 1)],
        "SeriesPrimaryImageTag": tag("s", "Primary"),
        "SeriesThumbImageTag": tag("s", "Thumb"),
        "ParentPrimaryImageItemId": g("s1"), "ParentPrimaryImageTag": tag("s1", "Primary"),
    }
    assert list(dto)[:15] == ["Id", "Name", "Type", "ServerId", "IsFolder", "ParentId", "SeriesName", "SeriesId",
                              "SeasonId", "SeasonName", "ImageTags", "BackdropImageTags", "ScreenshotImageTags",
                              "Chapters", "ImageBlurHashes"]
    assert "PrimaryImageAspectRatio" not in dto   # no own primary
    assert list(dto["Chapters"][0]) == ["Name", "ImageTag"]


def test_item_without_images_has_only_the_always_present_fields():
    dto = item_dto(PLAN, item("m"))
    assert dto == {"Id": g("m"), "Name": "M", "Type": "Movie", "ServerId": SERVER_ID, "IsFolder": False,
                   "ImageTags": {}, "BackdropImageTags": [], "ScreenshotImageTags": [], "ImageBlurHashes": {}}
    assert list(dto) == ["Id", "Name", "Type", "ServerId", "IsFolder", "ImageTags", "BackdropImageTags",
                         "ScreenshotImageTags", "ImageBlurHashes"]


@pytest.mark.parametrize("owner_id", list(LIBRARY))
def test_item_dto_omits_nulls_and_is_json(owner_id):
    dto = item_dto(PLAN, item(owner_id))
    assert nulls(dto) == []
    assert json.loads(json.dumps(dto)) == dto
    for name in ("ImageTags", "ImageBlurHashes"):
        assert isinstance(dto[name], dict)
    assert isinstance(dto["BackdropImageTags"], list)


def test_every_tag_in_a_dto_is_a_planned_source():
    for owner_id in LIBRARY:
        dto = item_dto(PLAN, item(owner_id))
        for type_hashes in dto["ImageBlurHashes"].values():
            for t in type_hashes:
                assert t in PLAN.sources and len(t) == 32


# --- ImageInfo ------------------------------------------------------------------------------------

def info(owner, image_type, index, name, width, height, multi=False, kind="Items"):
    return {"ImageType": image_type, "ImageIndex": index if multi else None,
            "ImageTag": tag(owner, image_type, index, kind), "Path": name, "BlurHash": bh(name),
            "Width": width, "Height": height, "Size": 100 + len(name)}


def test_image_infos_single_types_first_then_multi_by_index():
    infos = image_infos(PLAN, item("s"))
    assert infos == [
        info("s", "Primary", 0, "s-p.jpg", 1000, 1500),
        info("s", "Banner", 0, "s-banner.jpg", 1000, 1500),
        info("s", "Logo", 0, "s-logo.png", 800, 310),
        info("s", "Thumb", 0, "s-th.jpg", 1000, 1500),
        info("s", "Backdrop", 0, "s-bd0.jpg", 1920, 1080, multi=True),
        info("s", "Backdrop", 1, "s-bd1.jpg", 3840, 2160, multi=True),   # index 1: the failed one is gone
    ]
    for entry in infos:
        assert list(entry) == ["ImageType", "ImageIndex", "ImageTag", "Path", "BlurHash", "Width", "Height", "Size"]


def test_image_infos_multi_types_in_enum_order():
    infos = image_infos(PLAN, item("e1"))
    assert [(i["ImageType"], i["ImageIndex"], i["Path"]) for i in infos] == [
        ("Screenshot", 0, "e1-sc0.jpg"), ("Screenshot", 1, "e1-sc1.jpg"),
        ("Chapter", 0, "e1-ch0.jpg"), ("Chapter", 1, "e1-ch1.jpg"), ("Chapter", 2, "e1-ch2.jpg"),
    ]


def test_image_infos_of_an_item_without_images():
    assert image_infos(PLAN, item("m")) == []


def test_image_infos_null_index_serialises_as_json_null():
    text = json.dumps(image_infos(PLAN, item("s1")))
    assert '"ImageIndex": null' in text


def test_image_infos_of_a_user():
    assert image_infos(PLAN, PLAN.library.users["u1"]) == [info("u1", "Primary", 0, "u1.png", 300, 200, kind="Users")]


# --- user objects ----------------------------------------------------------------------------------

def test_user_with_a_primary_image():
    dto = user_dto(PLAN, PLAN.library.users["u1"])
    assert dto == {"Id": g("u1", "Users"), "Name": "U1", "ServerId": SERVER_ID,
                   "PrimaryImageTag": tag("u1", "Primary", kind="Users"), "PrimaryImageAspectRatio": 1.5}
    assert list(dto) == ["Id", "Name", "ServerId", "PrimaryImageTag", "PrimaryImageAspectRatio"]


@pytest.mark.parametrize("user_id", ["u2", "u3"], ids=["no-image", "failed-image"])
def test_user_without_a_usable_primary_image(user_id):
    assert user_dto(PLAN, PLAN.library.users[user_id]) == {"Id": g(user_id, "Users"), "Name": user_id.title(),
                                                           "ServerId": SERVER_ID}


def test_user_and_item_with_the_same_id_are_separate():
    plan = fake_plan({"x": ("Movie", None, {"Primary": "item.jpg"})}, {"x": {"Primary": "user.png"}})
    assert user_dto(plan, plan.library.users["x"])["PrimaryImageTag"] == plan.tag_of("Users", "x", "Primary")
    assert item_dto(plan, plan.library.items["x"])["ImageTags"]["Primary"] == plan.tag_of("Items", "x", "Primary")
    assert plan.tag_of("Users", "x", "Primary") != plan.tag_of("Items", "x", "Primary")


# --- from a real catalog: upright sizes ------------------------------------------------------------

def test_objects_from_a_real_catalog_use_upright_sizes(tmp_path):
    write(tmp_path / "media" / "poster.jpg", encode(marked((40, 20)), "JPEG", orientation=6))  # shows 20×40
    write(tmp_path / "media" / "bd.jpg", jpeg((64, 36)))
    write(tmp_path / "media" / "me.png", png((30, 10)))
    (tmp_path / "catalog.yaml").write_text(
        "items:\n"
        "  - {id: mv, name: A Film, type: Movie, images: {Primary: media/poster.jpg, Backdrop: [media/bd.jpg]}}\n"
        "users:\n"
        "  - {id: me, name: Me, images: {Primary: media/me.png}}\n")
    library = load_catalog(tmp_path / "catalog.yaml")
    paths = [s.path for o in library.owners() for s in o.slots()]
    output = tmp_path / "output"
    plan = make_plan(library, probe_all(paths, layout.probe_cache_file(output)))
    for source in plan.sources.values():
        render_source(source, output)
    plan, failed = apply_render_results(plan, TagFacts(output))   # BlurHashes come from the renders
    assert failed == {}
    dto = item_dto(plan, library.items["mv"])
    assert dto["Name"] == "A Film"
    assert dto["PrimaryImageAspectRatio"] == 0.5
    infos = image_infos(plan, library.items["mv"])
    assert [(i["ImageType"], i["Width"], i["Height"], i["Path"]) for i in infos] == [
        ("Primary", 20, 40, "media/poster.jpg"), ("Backdrop", 64, 36, "media/bd.jpg")]
    assert infos[0]["Size"] == (tmp_path / "media" / "poster.jpg").stat().st_size
    assert infos[0]["BlurHash"][0] == "T"   # 3×4 components: portrait once upright
    assert user_dto(plan, library.users["me"]) == {"Id": library.users["me"].guid, "Name": "Me",
                                                   "ServerId": SERVER_ID,
                                                   "PrimaryImageTag": plan.tag_of("Users", "me", "Primary"),
                                                   "PrimaryImageAspectRatio": 3.0}


# --- bugs -------------------------------------------------------------------------------------------------

def test_image_info_path_is_the_owners_own_catalog_path():
    same = fake_probe("shared-content")
    plan = fake_plan({"a": ("Movie", None, {"Primary": "a/poster.jpg"}),
                      "b": ("Movie", None, {"Primary": "b/poster.jpg"})},
                     probes={"a/poster.jpg": same, "b/poster.jpg": same})
    assert plan.tag_of("Items", "a", "Primary") == plan.tag_of("Items", "b", "Primary")   # shared, fine
    assert image_infos(plan, plan.library.items["a"])[0]["Path"] == "a/poster.jpg"
    assert image_infos(plan, plan.library.items["b"])[0]["Path"] == "b/poster.jpg"

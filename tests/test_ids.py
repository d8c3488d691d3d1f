"""Jellyfin-shaped ids (pipeline/model/ids.py), the catalog's guid keys, the BaseItemDto identity
and hierarchy fields (pipeline/outputs/fields.py) and GUID aliases in serve.py's index (issue 9)."""

import json
import uuid

import pytest

from imagefactory import fake_plan, jpeg, write
from pipeline.catalog.loader import load_catalog
from pipeline.errors import CatalogErrors
from pipeline.model.ids import NAMESPACE, SERVER_ID, canonical_guid, dashed, derived_guid, name_key, safe_name
from pipeline.outputs.fields import FOLDER_TYPES, item_fields
from pipeline.outputs.objects import item_dto, user_item_dto
from pipeline.serve.index import Index
from pipeline.serve.request import NotFound

GUID = "6f9619ff8b86d011b42d00c04fc964ff"


@pytest.mark.parametrize("text", [
    GUID, GUID.upper(), "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff",
    "{6f9619ff-8b86-d011-b42d-00c04fc964ff}", "(6F9619FF-8B86-D011-B42D-00C04FC964FF)", "{" + GUID + "}",
])
def test_canonical_guid_reads_every_dotnet_spelling(text):
    assert canonical_guid(text) == GUID


@pytest.mark.parametrize("text", [
    "", "nature-series", GUID[:-1], GUID + "0", "6f9619ff-8b86d011-b42d-00c04fc964ff", "6f9619ff8b86d011b42d00c04fc964fg",
    "{" + GUID, "-6f9619ff-8b86-d011-b42d-00c04fc964f", "６f9619ff8b86d011b42d00c04fc964ff",
])
def test_canonical_guid_refuses_other_text(text):
    assert canonical_guid(text) is None


def test_derived_guid_is_uuid5_of_kind_and_id_and_stable():
    assert derived_guid("Items", "nature-series") == uuid.uuid5(NAMESPACE, "Items/nature-series").hex
    # pinned: a change of NAMESPACE would change every published id
    assert NAMESPACE == uuid.UUID("8f2b4f1e-5a34-5c0e-9d8e-6f1b8a7c4d21")
    assert derived_guid("Items", "x") != derived_guid("Users", "x")
    for value in (derived_guid("Items", "a"), SERVER_ID):
        assert len(value) == 32 and value == value.lower() and canonical_guid(value) == value
    assert dashed(GUID) == "6f9619ff-8b86-d011-b42d-00c04fc964ff"


def _catalog(tmp_path, items: str, users: str = "[]"):
    write(tmp_path / "media" / "a.jpg", jpeg((8, 6)))
    path = tmp_path / "catalog.yaml"
    path.write_text(f"items: {items}\nusers: {users}\n")
    return path


def test_catalog_guid_key_any_spelling_else_derived(tmp_path):
    library = load_catalog(_catalog(
        tmp_path, "[{id: a, name: A, type: Movie, guid: '{6F9619FF-8B86-D011-B42D-00C04FC964FF}'}, "
                  "{id: b, name: B, type: Movie}]",
        "[{id: u, name: U, guid: 00000000000000000000000000000001}]"))
    assert library.items["a"].guid == GUID
    assert library.items["b"].guid == derived_guid("Items", "b")
    assert library.users["u"].guid == "00000000000000000000000000000001"


@pytest.mark.parametrize("items, message", [
    ("[{id: a, name: A, type: Movie, guid: nope}]", "guid must be a GUID"),
    (f"[{{id: a, name: A, type: Movie, guid: {GUID}}}, {{id: b, name: B, type: Movie, guid: '{dashed(GUID)}'}}]",
     "is also the guid of 'a'"),
    ("[{id: a, name: A, type: Movie, index_number: -1}]", "index_number: must be an integer"),
    ("[{id: a, name: A, type: Movie, parent_index_number: x}]", "parent_index_number: must be an integer"),
])
def test_catalog_guid_and_index_errors_name_the_field(tmp_path, items, message):
    with pytest.raises(CatalogErrors) as info:
        load_catalog(_catalog(tmp_path, items))
    assert message in str(info.value)
    assert "catalog.yaml:" in str(info.value)


MUSIC = {
    "artist": ("MusicArtist", None, {"Primary": "artist.jpg"}),
    "album": ("MusicAlbum", "artist", {"Primary": "album.jpg"}),
    "track": ("Audio", "album", {}),
    "show": ("Series", None, {"Primary": "show.jpg"}),
    "s1": ("Season", "show", {}),
    "e1": ("Episode", "s1", {"Primary": "e1.jpg"}),
    "e2": ("Episode", "s1", {}),
}


def test_hierarchy_fields_of_episodes_seasons_and_music():
    plan = fake_plan(MUSIC)
    lib = plan.library
    lib.items["s1"].index_number = 2
    lib.items["e1"].index_number = 5
    g = {i: o.guid for i, o in lib.items.items()}
    assert item_fields(lib, lib.items["e1"]) == {
        "Id": g["e1"], "ServerId": SERVER_ID, "IsFolder": False, "ParentId": g["s1"], "IndexNumber": 5,
        "ParentIndexNumber": 2, "SeriesName": "Show", "SeriesId": g["show"], "SeasonId": g["s1"], "SeasonName": "S1"}
    assert item_fields(lib, lib.items["s1"]) == {
        "Id": g["s1"], "ServerId": SERVER_ID, "IsFolder": True, "ParentId": g["show"], "IndexNumber": 2,
        "ChildCount": 2, "SeriesName": "Show", "SeriesId": g["show"]}
    pair = [{"Name": "Artist", "Id": g["artist"]}]
    assert item_fields(lib, lib.items["track"]) == {
        "Id": g["track"], "ServerId": SERVER_ID, "IsFolder": False, "ParentId": g["album"],
        "AlbumId": g["album"], "Album": "Album", "AlbumArtist": "Artist", "AlbumArtists": pair, "ArtistItems": pair}
    album = item_fields(lib, lib.items["album"])
    assert album["ChildCount"] == 1 and album["AlbumArtists"] == pair and "AlbumId" not in album
    assert item_fields(lib, lib.items["artist"])["IsFolder"] is True
    assert {"Series", "Season", "MusicAlbum", "BoxSet", "Folder"} <= FOLDER_TYPES
    assert not {"Episode", "Movie", "Audio", "Person"} & FOLDER_TYPES


def test_every_id_field_of_a_dto_is_a_guid():
    plan = fake_plan(MUSIC, {"u": {}})
    lib = plan.library
    for item in lib.items.values():
        dto = item_dto(plan, item)
        for name, value in dto.items():
            if name == "Id" or name.endswith("Id") or name.endswith("ItemId"):
                assert canonical_guid(value) == value, (item.id, name)
    track = item_dto(plan, lib.items["track"])
    assert track["AlbumPrimaryImageTag"] == plan.tag_of("Items", "album", "Primary")
    e2 = item_dto(plan, lib.items["e2"])
    assert e2["ParentPrimaryImageItemId"] == lib.items["show"].guid and e2["SeriesId"] == lib.items["show"].guid
    data = user_item_dto(plan, lib.users["u"], lib.items["e1"])["UserData"]
    assert data["Key"] == data["ItemId"] == lib.items["e1"].guid


def test_index_resolves_guids_in_any_spelling_and_catalog_ids(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "version": 1, "images": {}, "owners": {"Items": {"Nature-Series": {}}, "Users": {"alice": {}}},
        "ids": {"Items": {GUID: "Nature-Series"}, "Users": {"0" * 31 + "1": "alice"}}}))
    index = Index(tmp_path)
    for spelling in (GUID, GUID.upper(), dashed(GUID), dashed(GUID).upper(), "Nature-Series", "nature-series"):
        assert index.owner("Items", spelling)[0] == "Nature-Series", spelling
    assert index.owner("Users", dashed("0" * 31 + "1"))[0] == "alice"
    for missing in ("0" * 32, GUID[:-1], "show"):
        with pytest.raises(NotFound):
            index.owner("Items", missing)
    with pytest.raises(NotFound):
        index.owner("Users", GUID)        # an item's GUID is not a user's


@pytest.mark.parametrize("name, safe", [
    ("AC/DC & Co.", "ac%2Fdc%20%26%20co%2E"),
    ("..", "%2E%2E"),
    ("Sigur Rós", "sigur%20r%C3%B3s"),
    ("SIGUR RO\u0301S", "sigur%20r%C3%B3s"),          # decomposed and upper case: the same name
    ("a\0b%c", "a%00b%25c"),
])
def test_safe_name_is_one_case_folded_segment(name, safe):
    assert safe_name(name) == safe
    assert name_key(name_key(name)) == name_key(name)


def test_safe_name_of_long_and_empty_names():
    long = safe_name("é" * 300)
    assert len(long.encode()) <= 209 and "~" in long and safe_name("é" * 301) != long
    assert safe_name("") and "/" not in safe_name("/" * 500)


def test_named_items_must_have_unique_names_per_type(tmp_path):
    with pytest.raises(CatalogErrors) as info:
        load_catalog(_catalog(tmp_path, "[{id: a, name: Sigur Rós, type: MusicArtist}, "
                                        "{id: b, name: SIGUR RÓS, type: MusicArtist}, {id: c, name: Sigur Rós, type: Genre}]"))
    assert "is also the name of 'a'" in str(info.value) and "items[1].name" in str(info.value)
    assert "items[2]" not in str(info.value)        # another type may share the name

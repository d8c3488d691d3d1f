"""pipeline.catalog.scan: a media folder → items with Jellyfin's local image rules; a re-scan
keeps hand edits and reports what it changed; trouble in the folder is reported, never fatal."""

import os
import shutil
from pathlib import Path

import pytest

from mediafolder import EXPECTED, MEDIA, PROBLEMS, make_media_folder
from pipeline.catalog.loader import load_catalog
from pipeline.catalog.scan import (clean_name, episode_numbers, item_id, merge_catalog, scan_library,
                                   scan_to_catalog, season_number)


@pytest.fixture()
def folder(tmp_path):
    make_media_folder(tmp_path)
    return tmp_path


def by_path(scan):
    return {i.path: i for i in scan.items}


def test_items_types_names_parents_and_images(folder):
    scan = scan_library(folder / "library", folder)
    items = by_path(scan)
    assert set(items) == set(EXPECTED)
    for path, (item_type, name, parent, images) in EXPECTED.items():
        item = items[path]
        assert (item.type, item.name) == (item_type, name), path
        assert item.parent == (item_id(parent) if parent else None), path
        assert item.images == images, path
        assert item.id == item_id(path) and len(item.id) == 32


def test_problems_are_reported_not_fatal(folder):
    scan = scan_library(folder / "library", folder)
    problems = {p.path: p.message for p in scan.problems}
    for path, words in PROBLEMS.items():
        assert path in problems and words in problems[path], (path, problems)
    claimed = {p for i in scan.items for paths in i.images.values() for p in paths}
    assert not claimed & set(PROBLEMS)


def test_unreadable_folder_is_reported(folder, monkeypatch):
    bad = folder / "library" / "Music" / "Wings" / "Double"
    real = os.scandir

    def scandir(path):
        if Path(path) == bad:
            raise PermissionError(13, "Permission denied")
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    scan = scan_library(folder / "library", folder)
    assert any(p.path == "library/Music/Wings/Double" and "cannot read folder" in p.message for p in scan.problems)
    assert "library/Music/Wings/Flight (2001)" in by_path(scan)


def test_same_path_same_id_on_every_scan(folder):
    first = [(i.id, i.path) for i in scan_library(folder / "library", folder).items]
    second = [(i.id, i.path) for i in scan_library(folder / "library", folder).items]
    assert first == second


def test_library_outside_the_catalog_folder_is_refused(folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with pytest.raises(ValueError, match="outside the catalog's folder"):
        scan_to_catalog(folder / "library", elsewhere / "catalog.yaml")


@pytest.mark.parametrize("name,number", [("Season 01", 1), ("season 1", 1), ("S2", 2), ("Specials", 0),
                                         ("Season 00", 0), ("Staffel 3", 3), ("Extras", None),
                                         ("Season 10 (2020)", 10)])
def test_season_folders(name, number):
    assert season_number(name) == number


@pytest.mark.parametrize("stem,numbers", [("Show - S01E02 - Title", (1, 2)), ("show.s10e100", (10, 100)),
                                          ("Show 1x05", (1, 5)), ("Show 1080p", None)])
def test_episode_numbers(stem, numbers):
    assert episode_numbers(stem) == numbers


@pytest.mark.parametrize("raw,name", [("Alien (1979)", "Alien"), ("The.Matrix.1999", "The Matrix"),
                                      ("Heat [imdbid-tt0113277]", "Heat"), ("2001", "2001"),
                                      ("Blade Runner 2049 (2017)", "Blade Runner 2049")])
def test_clean_name(raw, name):
    assert clean_name(raw) == name


def put(folder: Path, rel: str, sample: str = "Aqua.jpg"):
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(MEDIA / sample, path)


def one(tmp_path, files: dict, video="Movies/M (2000)/M (2000).mkv") -> dict:
    (tmp_path / "library" / video).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "library" / video).write_bytes(b"video")
    for rel, sample in files.items():
        put(tmp_path / "library", rel, sample)
    scan = scan_library(tmp_path / "library", tmp_path)
    return {k: [p.rsplit("/", 1)[1] for p in v] for k, v in by_path(scan)[f"library/{video}"].images.items()}


def test_rules_png_first_logo_before_clearlogo_landscape_before_thumb(tmp_path):
    d = "Movies/M (2000)/"
    images = one(tmp_path, {d + "poster.jpg": "Aqua.jpg", d + "poster.png": "Stripes.png",
                            d + "logo.png": "Stripes.png", d + "clearlogo.png": "Waves.png",
                            d + "thumb.jpg": "Garden.jpg", d + "landscape.jpg": "Wood.jpg",
                            d + "clearart.png": "Waves.png", d + "cdart.png": "disc-storm.png",
                            d + "discart.png": "disc-storm.png"})
    assert images == {"Primary": ["poster.png"], "Logo": ["logo.png"], "Thumb": ["landscape.jpg"],
                      "Art": ["clearart.png"], "Disc": ["cdart.png"]}


def test_rules_backdrops_in_jellyfin_order_and_numbering_stops_after_three_misses(tmp_path):
    d = "Movies/M (2000)/"
    images = one(tmp_path, {d + "backdrop.jpg": "Aqua.jpg", d + "backdrop2.jpg": "Aqua.jpg",
                            d + "fanart.jpg": "Garden.jpg", d + "fanart-2.jpg": "Wood.jpg",
                            d + "fanart-6.jpg": "Wood.jpg", d + "background.jpg": "Dune.jpg",
                            d + "art.jpg": "Storm.jpg", d + "extrafanart/a.jpg": "Elephants.jpg",
                            d + "M (2000)-fanart.jpg": "TwoWings.jpg"})
    assert images == {"Backdrop": ["M (2000)-fanart.jpg", "fanart.jpg", "fanart-2.jpg", "background.jpg",
                                   "art.jpg", "a.jpg", "backdrop.jpg", "backdrop2.jpg"]}


def test_rules_mixed_folder_takes_only_prefixed_names(tmp_path):
    images = one(tmp_path, {"Movies/poster.jpg": "Aqua.jpg", "Movies/A-fanart.jpg": "Garden.jpg",
                            "Movies/A-poster.jpg": "Wood.jpg", "Movies/A-logo.png": "Stripes.png"},
                 video="Movies/A.mkv")
    assert images == {"Primary": ["A-poster.jpg"], "Backdrop": ["A-fanart.jpg"], "Logo": ["A-logo.png"]}


def test_rules_every_extension_the_build_reads(tmp_path):
    from PIL import Image
    d = tmp_path / "library" / "Movies" / "M (2000)"
    d.mkdir(parents=True)
    (d / "M (2000).mkv").write_bytes(b"video")
    with Image.open(MEDIA / "Aqua.jpg") as im:
        small = im.convert("RGB").resize((64, 40))
    for i, (ext, fmt) in enumerate([("webp", "WEBP"), ("gif", "GIF"), ("bmp", "BMP"), ("tiff", "TIFF"),
                                    ("tbn", "JPEG"), ("jpeg", "JPEG")]):
        small.save(d / f"fanart-{i + 1}.{ext}", fmt)
    scan = scan_library(tmp_path / "library", tmp_path)
    backdrops = by_path(scan)["library/Movies/M (2000)/M (2000).mkv"].images["Backdrop"]
    assert [p.rsplit(".", 1)[1] for p in backdrops] == ["webp", "gif", "bmp", "tiff", "tbn", "jpeg"]
    assert not scan.problems


def test_album_prefers_cdart_and_folder(tmp_path):
    lib = tmp_path / "library" / "Music" / "A" / "B"
    lib.mkdir(parents=True)
    (lib / "01.flac").write_bytes(b"audio")
    for name, sample in (("cover.jpg", "Aqua.jpg"), ("folder.jpg", "Wood.jpg"), ("disc.png", "disc-storm.png"),
                         ("cdart.png", "disc-storm.png")):
        shutil.copy(MEDIA / sample, lib / name)
    album = by_path(scan_library(tmp_path / "library", tmp_path))["library/Music/A/B"]
    assert album.type == "MusicAlbum"
    assert album.images == {"Primary": ["library/Music/A/B/folder.jpg"], "Disc": ["library/Music/A/B/cdart.png"]}


HAND = """\
# my library, hand-tuned
settings:
  formats: [Original, Jpg]     # keep this comment
  sizes: [{maxWidth: [160, 320]}]
"""


def test_rescan_changes_only_what_changed_and_keeps_hand_edits(folder):
    catalog = folder / "catalog.yaml"
    catalog.write_text(HAND)
    first = scan_to_catalog(folder / "library", catalog)
    assert len(first.added) == len(EXPECTED) and not first.changed and not first.removed and first.written
    # hand edits: a rename, an image outside the library, a user with user data, an extra item
    painting = item_id("library/Movies/Painting Colors (2019)/Painting Colors (2019).mkv")
    wood = item_id("library/Movies/Wood.1999.mp4")
    put(folder, "mine/thumb.jpg", "Garden.jpg")
    text = catalog.read_text()
    text = text.replace("    name: Painting Colors\n", "    name: Painting Colours   # renamed by hand\n")
    text = text.replace("      Primary: library/Movies/Painting Colors (2019)/poster.jpg\n",
                        "      Primary: library/Movies/Painting Colors (2019)/poster.jpg\n"
                        "      Thumb: mine/thumb.jpg\n")
    text += ("  - id: my-collection     # added by hand\n    name: Favourites\n    type: BoxSet\n"
             "    images: {Primary: mine/thumb.jpg}\n"
             "users:\n  - {id: alice, name: alice}\n"
             f"user_data:\n  - {{user: alice, item: {painting}, played: true}}\n"
             f"  - {{user: alice, item: {wood}, playedPercentage: 30}}\n")
    catalog.write_text(text)
    load_catalog(catalog)
    assert not scan_to_catalog(folder / "library", catalog).written     # nothing changed: not rewritten
    # the folder changes: a movie removed, a movie added, a backdrop added to one movie
    (folder / "library" / "Movies" / "Wood.1999.mp4").unlink()
    (folder / "library" / "Movies" / "Wood.1999.jpg").unlink()
    new = folder / "library" / "Movies" / "Storm (2021)"
    new.mkdir()
    (new / "Storm (2021).mkv").write_bytes(b"video")
    put(new, "poster.jpg", "Storm.jpg")
    put(folder / "library" / "Movies" / "Painting Colors (2019)", "fanart-2.jpg", "Wood.jpg")
    changes = scan_to_catalog(folder / "library", catalog)
    assert [a[2] for a in changes.added] == ["Storm"]
    assert [c[0] for c in changes.changed] == [painting]
    assert [r[0] for r in changes.removed] == [wood]
    assert changes.dropped and wood in changes.dropped[0]
    text = catalog.read_text()
    for kept in ("# my library, hand-tuned", "# keep this comment", "name: Painting Colours   # renamed by hand",
                 "Thumb: mine/thumb.jpg", "# added by hand", "formats: [Original, Jpg]", "fanart-2.jpg"):
        assert kept in text, kept
    library = load_catalog(catalog)
    assert library.items[painting].name == "Painting Colours"
    assert library.items[painting].images["Thumb"][0].relpath == "mine/thumb.jpg"
    assert len(library.items[painting].images["Backdrop"]) == 4
    assert "my-collection" in library.items and wood not in library.items
    assert list(library.user_data) == [("alice", painting)]


def test_merge_refuses_a_catalog_that_is_not_a_mapping(folder):
    catalog = folder / "catalog.yaml"
    catalog.write_text("- just a list\n")
    scan = scan_library(folder / "library", folder)
    with pytest.raises(ValueError, match="must be a mapping"):
        merge_catalog(catalog, scan, folder / "library")
    assert catalog.read_text() == "- just a list\n"


def test_a_rescan_that_changes_nothing_skips_the_round_trip_parse(folder, monkeypatch):
    """The common re-scan is decided on libyaml's fast parse: ruamel (slow on big catalogs) is
    loaded only when something is to be written."""
    import pipeline.catalog.scan as scan_module
    catalog = folder / "catalog.yaml"
    scan_to_catalog(folder / "library", catalog)
    before = catalog.read_bytes()

    def no_round_trip():
        raise AssertionError("round-trip parse for a scan that changes nothing")
    monkeypatch.setattr(scan_module, "_yaml", no_round_trip)
    changes = scan_to_catalog(folder / "library", catalog)
    assert not changes.written and changes.items == len(EXPECTED) and catalog.read_bytes() == before
    (folder / "library" / "Movies" / "Wood.1999.mp4").unlink()
    with pytest.raises(AssertionError, match="round-trip"):
        scan_to_catalog(folder / "library", catalog)

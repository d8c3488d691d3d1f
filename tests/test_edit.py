"""Unit tests: pipeline.catalog.edit (round-trip catalog edits, uploads, prune)."""

import threading
import textwrap

import pytest

from conftest import copy_media
from pipeline.catalog import edit
from pipeline.catalog.loader import load_catalog

CATALOG = textwrap.dedent("""\
    # Library of the tests: comments must survive every edit.
    settings: {formats: [Original], sizes: [{maxWidth: [160]}]}

    items:
      - id: show          # the series
        name: Show
        type: Series
        images:
          Primary: media/avatar-meadow.jpg    # poster
          Backdrop: [media/box-painting.jpg, media/avatar-meadow.jpg]

      - id: "0042"
        name: Quoted id
        type: Movie
    users:
      - id: alice
        name: alice
        images: {Primary: media/avatar-meadow.jpg}
""")


@pytest.fixture
def catalog(tmp_path):
    copy_media(tmp_path, "avatar-meadow.jpg", "box-painting.jpg")
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    return path


def test_round_trip_without_change_is_byte_identical(catalog):
    editor = edit.CatalogEditor(catalog)
    editor.edit(lambda doc: None)
    assert catalog.read_text() == CATALOG


def test_upload_appends_backdrop_and_keeps_comments_order_and_quotes(catalog):
    editor = edit.CatalogEditor(catalog)
    data = (catalog.parent / "media/box-painting.jpg").read_bytes()
    index = editor.edit(lambda doc, rel: edit.set_image(edit.find_owner(doc, "Items", "show"), "Backdrop", None, rel),
                        upload=(data, "jpg"))
    assert index == 2
    text = catalog.read_text()
    for line in ("# Library of the tests: comments must survive every edit.", "  - id: show          # the series",
                 "      Primary: media/avatar-meadow.jpg    # poster", '  - id: "0042"'):
        assert line in text
    rel = load_catalog(catalog).items["show"].images["Backdrop"][2].relpath
    assert rel.startswith("media/uploads/") and rel.endswith(".jpg")
    assert (catalog.parent / rel).read_bytes() == data
    # the new key sits before the blank line that separates the items
    assert "\n\n  - id: \"0042\"" in text


def test_new_single_type_goes_inside_its_item(catalog):
    editor = edit.CatalogEditor(catalog)
    editor.edit(lambda doc: edit.set_image(edit.find_owner(doc, "Items", "0042"), "Logo", None, "media/box-painting.jpg"))
    library = load_catalog(catalog)
    assert library.items["0042"].images["Logo"][0].relpath == "media/box-painting.jpg"
    assert "users:\n  - id: alice" in catalog.read_text()


def test_invalid_edit_is_refused_and_changes_nothing(catalog):
    editor = edit.CatalogEditor(catalog)
    with pytest.raises(edit.InvalidEdit) as info:
        editor.edit(lambda doc: edit.set_image(edit.find_owner(doc, "Items", "show"), "Primary", None, "media/missing.jpg"))
    assert str(catalog) in str(info.value) and "items[0].images.Primary: file not found" in str(info.value)
    assert catalog.read_text() == CATALOG
    assert not [p for p in catalog.parent.iterdir() if ".tmp-" in p.name]


def test_delete_swap_and_errors(catalog):
    editor = edit.CatalogEditor(catalog)
    editor.edit(lambda doc: edit.swap_images(edit.find_owner(doc, "Items", "show"), "Backdrop", 0, 1))
    assert [s.relpath for s in load_catalog(catalog).items["show"].images["Backdrop"]] == \
        ["media/avatar-meadow.jpg", "media/box-painting.jpg"]
    removed = editor.edit(lambda doc: edit.delete_image(edit.find_owner(doc, "Items", "show"), "Backdrop", 0))
    assert removed == "media/avatar-meadow.jpg"
    editor.edit(lambda doc: edit.delete_image(edit.find_owner(doc, "Items", "show"), "Backdrop", 0))
    assert "Backdrop" not in load_catalog(catalog).items["show"].images
    with pytest.raises(edit.UnknownImage):
        editor.edit(lambda doc: edit.delete_image(edit.find_owner(doc, "Items", "show"), "Backdrop", 0))
    with pytest.raises(edit.BadIndex):
        editor.edit(lambda doc: edit.swap_images(edit.find_owner(doc, "Items", "show"), "Primary", 0, 0))
    with pytest.raises(edit.UnknownOwner):
        editor.edit(lambda doc: edit.find_owner(doc, "Items", "nope"))
    with pytest.raises(edit.BadIndex):
        editor.edit(lambda doc: edit.set_image(edit.find_owner(doc, "Items", "show"), "Primary", 3, "media/box-painting.jpg"))
    assert "# poster" in catalog.read_text()


def test_swap_out_of_range_is_bad_index(catalog):
    editor = edit.CatalogEditor(catalog)
    with pytest.raises(edit.BadIndex, match="newIndex 2 is out of range"):
        editor.edit(lambda doc: edit.swap_images(edit.find_owner(doc, "Items", "show"), "Backdrop", 0, 2))


def test_concurrent_edits_from_threads_all_land(catalog):
    data = (catalog.parent / "media/box-painting.jpg").read_bytes()
    editors = [edit.CatalogEditor(catalog) for _ in range(2)]   # two editors: the file lock serialises them

    def append(i):
        editors[i % 2].edit(lambda doc, rel: edit.set_image(edit.find_owner(doc, "Items", "show"), "Backdrop", None, rel),
                            upload=(data + bytes([i]), "jpg"))   # distinct bytes (JPEG ignores the tail)
    threads = [threading.Thread(target=append, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(load_catalog(catalog).items["show"].images["Backdrop"]) == 14


def test_prune_uploads_removes_only_unnamed_files(catalog):
    editor = edit.CatalogEditor(catalog)
    data = (catalog.parent / "media/box-painting.jpg").read_bytes()
    editor.edit(lambda doc, rel: edit.set_image(edit.find_owner(doc, "Items", "0042"), "Primary", None, rel),
                upload=(data, "jpg"))
    kept = catalog.parent / load_catalog(catalog).items["0042"].images["Primary"][0].relpath
    stale = catalog.parent / edit.UPLOADS_DIR / ("0" * 64 + ".png")
    stale.write_bytes(b"x")
    other = catalog.parent / edit.UPLOADS_DIR / "notes.txt"     # not an upload name: left alone
    other.write_text("mine")
    assert edit.prune_uploads(catalog, dry_run=True) == [stale] and stale.exists()
    assert edit.prune_uploads(catalog) == [stale]
    assert kept.exists() and other.exists() and not stale.exists()


def test_guessed_indent_styles(tmp_path):
    copy_media(tmp_path, "avatar-meadow.jpg")
    text = "items:\n- id: a\n  type: Movie\n  images:\n      Primary: media/avatar-meadow.jpg\n"
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    edit.CatalogEditor(path).edit(lambda doc: None)
    assert path.read_text() == text


def test_kept_document_is_dropped_when_the_file_changes_or_an_edit_fails(catalog):
    editor = edit.CatalogEditor(catalog)
    editor.edit(lambda doc: edit.set_image(edit.find_owner(doc, "Items", "0042"), "Logo", None, "media/box-painting.jpg"))
    # a hand edit (another process) in between: the next edit must start from the file
    catalog.write_text(catalog.read_text().replace("name: Quoted id", "name: Renamed by hand"))
    editor.edit(lambda doc: edit.set_image(edit.find_owner(doc, "Items", "0042"), "Thumb", None, "media/box-painting.jpg"))
    text = catalog.read_text()
    assert "name: Renamed by hand" in text and "Logo:" in text and "Thumb:" in text
    # a refused edit must not leak its half-made change into the next one
    with pytest.raises(edit.BadIndex):
        editor.edit(lambda doc: (edit.set_image(edit.find_owner(doc, "Items", "0042"), "Banner", None,
                                                "media/box-painting.jpg"),
                                 edit.set_image(edit.find_owner(doc, "Items", "0042"), "Logo", 5, "x")))
    editor.edit(lambda doc: None)
    assert "Banner" not in catalog.read_text()

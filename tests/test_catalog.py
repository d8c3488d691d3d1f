"""catalog.yaml → Library (pipeline/catalog/loader.py): a valid catalog, and every error kind with its
file, exact line and dotted field (``catalog.yaml:17: items[3].images.Primary: …``)."""

import re
import textwrap
from pathlib import Path

import pytest

from imagefactory import jpeg, png, write
from pipeline.catalog.loader import ITEM_TYPES, ImageSlot, ancestors, field_name, load_catalog
from pipeline.errors import CatalogError, CatalogErrors
from pipeline.model.formats import FORMATS
from pipeline.model.imagetypes import IMAGE_TYPES


@pytest.fixture
def root(tmp_path) -> Path:
    """A catalog folder with a few tiny sources, and a file just outside it."""
    lib = tmp_path / "lib"
    write(lib / "media" / "a.jpg", jpeg((8, 6), (200, 0, 0)))
    write(lib / "media" / "b.jpg", jpeg((8, 6), (0, 200, 0)))
    write(lib / "media" / "c.png", png((6, 8)))
    write(lib / "media" / "sub" / "d.jpg", jpeg((4, 4)))
    write(tmp_path / "outside.jpg", jpeg())
    return lib


def write_catalog(root: Path, text: str) -> Path:
    path = root / "catalog.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(root: Path, text: str):
    return load_catalog(write_catalog(root, text))


def errors_of(root: Path, text: str) -> list[CatalogError]:
    with pytest.raises(CatalogErrors) as info:
        load(root, text)
    return info.value.errors


def line_of(text: str, needle: str | int, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line of the dedented ``text`` containing ``needle``
    (an int ``needle`` is already a line number)."""
    if isinstance(needle, int):
        return needle
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    hits = [n for n, line in enumerate(lines, 1) if needle in line]
    return hits[occurrence - 1]


# --- a valid catalog ---------------------------------------------------------------------------

VALID = """
settings:
  quality: 85
items:
  - id: series1
    name: The Show
    type: Series
    images:
      Primary: media/a.jpg
      Backdrop: [media/b.jpg, media/c.png]
  - id: season1
    type: Season
    parent: series1
    images:
      Backdrop:
        - ./media/sub/d.jpg
      Logo: media/sub/../a.jpg
  - id: 42
    name: Pilot
    type: Episode
    parent: season1
users:
  - id: u1
    name: alice
    images: {Primary: media/a.jpg}
  - id: series1
"""


def test_valid_catalog_loads_items_users_and_slots(root):
    library = load(root, VALID)
    media = (root / "media").resolve()

    assert library.catalog_path == (root / "catalog.yaml").resolve()
    assert library.root == root.resolve()
    assert list(library.items) == ["series1", "season1", "42"]
    assert list(library.users) == ["u1", "series1"]  # users are their own id space

    series = library.items["series1"]
    assert (series.kind, series.id, series.name, series.type, series.parent) == (
        "Items", "series1", "The Show", "Series", None)
    assert series.images == {
        "Primary": [ImageSlot("Primary", 0, media / "a.jpg", "media/a.jpg")],
        "Backdrop": [ImageSlot("Backdrop", 0, media / "b.jpg", "media/b.jpg"),
                     ImageSlot("Backdrop", 1, media / "c.png", "media/c.png")],
    }
    # slots(): ImageType order (Primary, Art, Backdrop, …) then index
    assert [(s.image_type, s.index) for s in series.slots()] == [
        ("Primary", 0), ("Backdrop", 0), ("Backdrop", 1)]

    season = library.items["season1"]
    assert (season.name, season.type, season.parent) == ("season1", "Season", "series1")  # name defaults to id
    assert season.images["Backdrop"] == [ImageSlot("Backdrop", 0, media / "sub" / "d.jpg", "./media/sub/d.jpg")]
    # ".." that stays inside the folder is fine; relpath is kept as written, path is resolved
    assert season.images["Logo"] == [ImageSlot("Logo", 0, media / "a.jpg", "media/sub/../a.jpg")]
    assert [(s.image_type, s.index) for s in season.slots()] == [("Backdrop", 0), ("Logo", 0)]

    episode = library.items["42"]  # an integer id is accepted as text
    assert (episode.id, episode.name, episode.type, episode.parent, episode.images) == (
        "42", "Pilot", "Episode", "season1", {})

    user = library.users["u1"]
    assert (user.kind, user.id, user.name, user.type, user.parent) == ("Users", "u1", "alice", "User", None)
    assert user.images == {"Primary": [ImageSlot("Primary", 0, media / "a.jpg", "media/a.jpg")]}
    assert library.users["series1"].kind == "Users"

    assert [o.id for o in library.owners()] == ["series1", "season1", "42", "u1", "series1"]
    assert [o.kind for o in library.owners()] == ["Items"] * 3 + ["Users"] * 2
    assert [a.id for a in ancestors(library, episode)] == ["season1", "series1"]
    assert ancestors(library, series) == []

    assert library.settings.profile("Primary").quality == 85
    assert all(p.quality == 85 for p in library.settings.profiles.values())


def test_paths_are_absolute_and_resolved(root):
    library = load(root, VALID)
    for owner in library.owners():
        for slot in owner.slots():
            assert slot.path.is_absolute()
            assert slot.path == slot.path.resolve()
            assert slot.path.is_file()


@pytest.mark.parametrize("text", ["", "# only a comment\n", "items: []\nusers: []\n", "items:\nusers:\n"])
def test_empty_catalogs_load_with_default_settings(root, text):
    library = load(root, text)
    assert library.items == {} and library.users == {}
    assert library.settings.profile("Backdrop").qualities == (80, 90)


def test_every_item_type_is_accepted(root):
    text = "items:\n" + "".join(f"  - {{id: i{n}, type: {t}}}\n" for n, t in enumerate(ITEM_TYPES))
    library = load(root, text)
    assert [o.type for o in library.items.values()] == list(ITEM_TYPES)


def test_every_image_type_is_accepted(root):
    lines = "".join(f"      {t}: media/a.jpg\n" for t in IMAGE_TYPES)
    library = load(root, "items:\n  - id: x\n    type: Movie\n    images:\n" + lines)
    assert list(library.items["x"].images) == list(IMAGE_TYPES)
    assert all(len(v) == 1 and v[0].index == 0 for v in library.items["x"].images.values())


@pytest.mark.parametrize("image_type", ["Backdrop", "Screenshot", "Chapter"])
def test_multi_image_types_take_lists(root, image_type):
    library = load(root, f"""
        items:
          - id: x
            type: Movie
            images:
              {image_type}: [media/a.jpg, media/b.jpg, media/a.jpg]
    """)
    slots = library.items["x"].images[image_type]
    assert [(s.index, s.relpath) for s in slots] == [(0, "media/a.jpg"), (1, "media/b.jpg"), (2, "media/a.jpg")]


def test_symlink_inside_the_folder_is_allowed(root):
    (root / "link.jpg").symlink_to(root / "media" / "a.jpg")
    library = load(root, "items:\n  - {id: x, type: Movie, images: {Primary: link.jpg}}\n")
    slot = library.items["x"].images["Primary"][0]
    assert slot.relpath == "link.jpg"
    assert slot.path == (root / "media" / "a.jpg").resolve()


def test_field_name():
    assert field_name(("items", 3, "images", "Backdrop", 1)) == "items[3].images.Backdrop[1]"
    assert field_name(("settings", "types", "Primary", "qualities", 0)) == "settings.types.Primary.qualities[0]"
    assert field_name(("users",)) == "users"
    assert field_name(()) == ""


# --- one error each: (field, line needle, message fragment) ------------------------------------

ERROR_CASES = [
    pytest.param("""
        items:
          - id: a
            type: Movie
        itemz: []
        """, "itemz", "itemz:", "unknown key (known: settings, items, users", id="unknown-top-level-key"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - id: b
            type: Movie
            colour: red
        """, "items[1].colour", "colour", "unknown key (known: id, name, type, parent, images",
        id="unknown-item-key"),
    pytest.param("""
        users:
          - id: u
            type: Movie
        """, "users[0].type", "type", "unknown key (known: id, name, images", id="user-has-no-type"),
    pytest.param("""
        items:
          - id: ok
            type: Movie
          - id: "a b"
            type: Movie
        """, "items[1].id", "a b", "id must match [A-Za-z0-9_-]+, got 'a b'", id="id-with-space"),
    pytest.param("""
        items:
          - id: ../x
            type: Movie
        """, "items[0].id", "../x", "got '../x'", id="id-with-traversal"),
    pytest.param("""
        items:
          - id: a/b
            type: Movie
        """, "items[0].id", "a/b", "got 'a/b'", id="id-with-slash"),
    pytest.param("""
        items:
          - id: ""
            type: Movie
        """, "items[0].id", "id:", "got ''", id="empty-id"),
    pytest.param("""
        items:
          - id: true
            type: Movie
        """, "items[0].id", "id:", "got True", id="bool-id"),
    pytest.param("""
        items:
          - id: ok
            type: Movie
          - name: nameless
            type: Movie
        """, "items[1].id", "nameless", "got None", id="missing-id"),
    pytest.param("""
        users:
          - id: ü
        """, "users[0].id", "ü", "got 'ü'", id="non-ascii-user-id"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - id: b
            type: Movie
          - id: a
            type: Series
        """, "items[2].id", 6, "duplicate id 'a'", id="duplicate-item-id"),
    pytest.param("""
        users:
          - id: u1
          - id: u1
        """, "users[1].id", 3, "duplicate id 'u1'", id="duplicate-user-id"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - id: b
            type: Movie
            name: one
            name: two
        """, "items[1].name", "name: two", "duplicate key", id="duplicate-yaml-key-in-item"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: media/a.jpg
              Primary: media/b.jpg
        """, "items[0].images.Primary", "media/b.jpg", "duplicate key", id="duplicate-yaml-key-in-images"),
    pytest.param("""
        items:
          - id: a
            type: Film
        """, "items[0].type", "Film", "unknown item type 'Film' (known: AggregateFolder, Audio,",
        id="unknown-item-type"),
    pytest.param("""
        items:
          - id: a
            type: movie
        """, "items[0].type", "movie", "unknown item type 'movie'", id="item-type-is-case-sensitive"),
    pytest.param("""
        items:
          - id: a
            name: typeless
        """, "items[0].type", "id: a", "unknown item type None", id="missing-item-type"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - id: b
            type: Movie
            images:
              Primary: media/a.jpg
              Poster: media/b.jpg
        """, "items[1].images.Poster", "Poster", "unknown ImageType 'Poster' (known: Primary, Art, Backdrop,",
        id="unknown-image-type"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              ChapterImage: [media/a.jpg]
        """, "items[0].images.ChapterImage", "ChapterImage", "unknown ImageType 'ChapterImage' (write Chapter)",
        id="chapterimage-hint"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Logo: [media/a.jpg, media/b.jpg]
        """, "items[0].images.Logo", "Logo",
        "Logo holds one image; a list is only allowed for Backdrop, Chapter, Screenshot", id="list-for-single-type"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - id: b
            type: Movie
            images:
              Primary: media/missing.jpg
        """, "items[1].images.Primary", "missing.jpg", "file not found: media/missing.jpg", id="missing-file"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Backdrop: [media/a.jpg, media/nope.jpg]
        """, "items[0].images.Backdrop[1]", "nope.jpg", "file not found: media/nope.jpg",
        id="missing-file-in-list"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: media/sub
        """, "items[0].images.Primary", "media/sub", "file not found: media/sub", id="directory-not-file"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: /etc/passwd
        """, "items[0].images.Primary", "/etc/passwd", "must be a relative POSIX path inside the catalog's folder",
        id="absolute-path"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: 'media\\a.jpg'
        """, "items[0].images.Primary", "Primary", "must be a relative POSIX path", id="backslash"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: "media/a.jpg\\0"
        """, "items[0].images.Primary", "Primary", "must be a relative POSIX path", id="nul"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: ../outside.jpg
        """, "items[0].images.Primary", "outside.jpg", "path leaves the catalog's folder: '../outside.jpg'",
        id="dotdot-leaves-folder"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Backdrop:
                - media/a.jpg
                - media/../../outside.jpg
        """, "items[0].images.Backdrop[1]", "outside.jpg", "path leaves the catalog's folder",
        id="dotdot-in-list"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: ""
        """, "items[0].images.Primary", "Primary", "must be a path relative to the catalog's folder, got ''",
        id="empty-path"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary: 12
        """, "items[0].images.Primary", "Primary", "got 12", id="non-string-path"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images: media/a.jpg
        """, "items[0].images", "images:", "images must be a mapping of ImageType to path",
        id="images-not-a-mapping"),
    pytest.param("""
        items:
          - id: a
            type: Movie
          - just a string
        """, "items[1]", "just a string", "must be a mapping with id, name and images", id="item-not-a-mapping"),
    pytest.param("""
        users: {id: u}
        """, "users", "users:", "must be a list", id="users-not-a-list"),
    pytest.param("""
        items:
          - id: a
            type: Series
          - id: b
            type: Season
            parent: nope
        """, "items[1].parent", "nope", "parent 'nope' does not exist", id="missing-parent"),
    pytest.param("""
        users:
          - id: u1
        items:
          - id: a
            type: Season
            parent: u1
        """, "items[0].parent", "parent: u1", "parent 'u1' does not exist", id="parent-must-be-an-item"),
    pytest.param("""
        items:
          - id: a
            type: Folder
            parent: a
        """, "items[0].parent", "parent: a", "parent cycle: a -> a", id="self-parent"),
    pytest.param("""
        settings:
          quality: 90
          colour: red
        """, "settings.colour", "colour", "unknown settings key 'colour'", id="settings-unknown-key"),
    pytest.param("""
        settings:
          quality: 101
        """, "settings.quality", "101", "quality must be an integer in 0–100, got 101", id="settings-bad-quality"),
    pytest.param("""
        settings:
          quality: 90
          legacy_links: yes please
        """, "settings.legacy_links", "yes please", "legacy_links must be true or false (true only for a static host",
        id="settings-bad-legacy-links"),
    pytest.param("""
        settings:
          qualities: [80, 90,
            "high"]
        """, "settings.qualities[2]", "high", "got 'high'", id="settings-bad-quality-in-list"),
    pytest.param("""
        settings:
          formats: [Original, Jpg,
            Tiff]
        """, "settings.formats[2]", "Tiff", f"unknown format 'Tiff' (known: {', '.join(['Original', *FORMATS])})",
        id="settings-bad-format"),
    pytest.param("""
        settings:
          sizes:
            - {maxWidth: 300}
            - {fillWidth: [228, 456], fillHeight: [342]}
        """, "settings.sizes[1]", "fillWidth", "need equal lengths, got [1, 2]", id="settings-zipped-unequal"),
    pytest.param("""
        settings:
          types:
            Backdrop:
              qualities: [80]
              formats: [Jpg]
            Primary:
              sizes: [{maxWidht: 300}]
        """, "settings.types.Primary.sizes[0].maxWidht", "maxWidht", "unknown size parameter 'maxWidht'",
        id="settings-type-size-typo"),
    pytest.param("""
        settings:
          types:
            Poster: {qualities: [80]}
        """, "settings.types.Poster", "Poster", "unknown ImageType 'Poster'", id="settings-unknown-type"),
    pytest.param("""
        settings:
          background_color: "#12345"
        """, "settings.background_color", "12345", "not a colour: '#12345'", id="settings-bad-colour"),
    pytest.param("""
        settings: [quality]
        """, "settings", "settings", "settings must be a mapping", id="settings-not-a-mapping"),
]


@pytest.mark.parametrize("text, field, needle, message", ERROR_CASES)
def test_each_error_names_file_line_and_field(root, text, field, needle, message):
    errors = errors_of(root, text)
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    catalog = str((root / "catalog.yaml").resolve())
    line = line_of(text, needle)
    assert (error.file, error.line, error.field) == (catalog, line, field)
    assert message in error.message
    assert str(error) == f"{catalog}:{line}: {field}: {error.message}"
    assert f"catalog.yaml:{line}: {field}: " in str(error)


def test_symlink_pointing_outside_is_refused(root):
    (root / "media" / "evil.jpg").symlink_to(root.parent / "outside.jpg")
    text = """
        items:
          - id: a
            type: Movie
            images:
              Primary: media/evil.jpg
    """
    (error,) = errors_of(root, text)
    assert (error.line, error.field) == (5, "items[0].images.Primary")
    assert error.message == "path leaves the catalog's folder: 'media/evil.jpg'"


def test_symlinked_directory_pointing_outside_is_refused(root):
    (root.parent / "elsewhere").mkdir()
    write(root.parent / "elsewhere" / "x.jpg", jpeg())
    (root / "ext").symlink_to(root.parent / "elsewhere", target_is_directory=True)
    (error,) = errors_of(root, "items:\n  - {id: a, type: Movie, images: {Primary: ext/x.jpg}}\n")
    assert (error.line, error.field) == (2, "items[0].images.Primary")
    assert "path leaves the catalog's folder" in error.message


def test_parent_cycle_is_reported_for_every_item_on_it(root):
    text = """
        items:
          - id: a
            type: Folder
            parent: c
          - id: b
            type: Folder
            parent: a
          - id: c
            type: Folder
            parent: b
          - id: d
            type: Folder
    """
    errors = errors_of(root, text)
    assert [(e.line, e.field, e.message) for e in errors] == [
        (4, "items[0].parent", "parent cycle: a -> c -> b -> a"),
        (7, "items[1].parent", "parent cycle: b -> a -> c -> b"),
        (10, "items[2].parent", "parent cycle: c -> b -> a -> c"),
    ]


def test_item_below_a_cycle_reports_the_cycle_too(root):
    text = """
        items:
          - id: a
            type: Folder
            parent: b
          - id: b
            type: Folder
            parent: a
          - id: leaf
            type: Movie
            parent: a
    """
    errors = errors_of(root, text)
    assert [(e.line, e.field, e.message) for e in errors] == [
        (4, "items[0].parent", "parent cycle: a -> b -> a"),
        (7, "items[1].parent", "parent cycle: b -> a -> b"),
        (10, "items[2].parent", "parent cycle: leaf -> a -> b -> a"),
    ]


def test_yaml_syntax_error_names_its_line(root):
    text = """
        items:
          - id: a
            type: Movie
            images: {Primary: media/a.jpg
          - id: b
    """
    (error,) = errors_of(root, text)
    catalog = str((root / "catalog.yaml").resolve())
    assert error.line == 5
    assert error.field == ""
    assert error.message.startswith("YAML syntax error: ")
    assert str(error).startswith(f"{catalog}:5: YAML syntax error: ")


def test_yaml_syntax_error_bad_indentation(root):
    text = "items:\n  - id: a\n    type: Movie\n   name: x\n"
    (error,) = errors_of(root, text)
    assert error.line == 4
    assert "catalog.yaml:4: YAML syntax error" in str(error)


def test_catalog_that_is_not_a_mapping(root):
    (error,) = errors_of(root, "- id: a\n- id: b\n")
    assert (error.line, error.field) == (1, "")
    assert error.message == "the catalog must be a mapping with items, users and settings"
    assert str(error).endswith("catalog.yaml:1: the catalog must be a mapping with items, users and settings")


def test_missing_catalog_file(tmp_path):
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "nope.yaml")
    (error,) = info.value.errors
    assert error.line is None and error.field == ""
    assert error.message == "cannot read catalog: No such file or directory"
    assert str(error) == f"{(tmp_path / 'nope.yaml').resolve()}: cannot read catalog: No such file or directory"


def test_catalog_error_text_without_line_or_field():
    assert str(CatalogError("c.yaml", None, "", "boom")) == "c.yaml: boom"
    assert str(CatalogError("c.yaml", 3, "", "boom")) == "c.yaml:3: boom"
    assert str(CatalogError("c.yaml", 3, "items[0]", "boom")) == "c.yaml:3: items[0]: boom"
    assert str(CatalogErrors([CatalogError("c", 1, "a", "x"), CatalogError("c", 2, "b", "y")])) == "c:1: a: x\nc:2: b: y"


def test_every_error_of_one_catalog_is_reported(root):
    text = """
        settings:
          quality: 900
        items:
          - id: a
            type: Movie
            type: Series
            parent: zzz
            images:
              Primary: media/missing.jpg
              Logo: [media/a.jpg]
          - id: c
            type: Spaceship
            images:
              ChapterImage: media/a.jpg
              Backdrop: [media/a.jpg, /abs.jpg, ../outside.jpg]
          - id: a
            type: Movie
        users:
          - id: u
            name: alice
            age: 3
        extra: 1
    """
    errors = errors_of(root, text)
    assert [(e.line, e.field) for e in errors] == [
        (6, "items[0].type"),                  # duplicate YAML key (reported first)
        (22, "extra"),                         # unknown top-level key
        (2, "settings.quality"),               # bad settings
        (9, "items[0].images.Primary"),        # file not found
        (10, "items[0].images.Logo"),          # list for a single-image type
        (12, "items[1].type"),                 # unknown item type
        (14, "items[1].images.ChapterImage"),  # unknown ImageType, with the hint
        (15, "items[1].images.Backdrop[1]"),   # absolute path
        (15, "items[1].images.Backdrop[2]"),   # leaves the folder
        (16, "items[2].id"),                   # duplicate id
        (21, "users[0].age"),                  # unknown user key
        (7, "items[0].parent"),                # missing parent (checked last)
    ]
    starts = [
        "duplicate key",
        "unknown key (known: settings, items, users",
        "quality must be an integer in 0–100, got 900",
        "file not found: media/missing.jpg",
        "Logo holds one image; a list is only allowed for Backdrop, Chapter, Screenshot",
        "unknown item type 'Spaceship' (known: ",
        "unknown ImageType 'ChapterImage' (write Chapter) (known: Primary, ",
        "must be a relative POSIX path inside the catalog's folder, got '/abs.jpg'",
        "path leaves the catalog's folder: '../outside.jpg'",
        "duplicate id 'a'",
        "unknown key (known: id, name, images",
        "parent 'zzz' does not exist",
    ]
    assert len(errors) == len(starts)
    for error, start in zip(errors, starts):
        assert error.message.startswith(start), (error.message, start)
    lines = str(CatalogErrors(errors)).splitlines()
    assert len(lines) == 12
    assert all(re.search(r"catalog\.yaml:\d+: \S+: ", line) for line in lines)


# --- bugs -----------------------------------------------------------------------------------------

def test_parent_error_after_a_skipped_item_names_the_right_item(root):
    text = """
        items:
          - id: "bad id"
            type: Movie
          - id: b
            type: Season
            parent: nope
    """
    errors = errors_of(root, text)
    assert [(e.line, e.field) for e in errors] == [(2, "items[0].id"), (6, "items[1].parent")]


@pytest.mark.parametrize("text, needle, field", [
    pytest.param("""
        items:
          - {id: a, type: Movie}
        extra:
          - 1
          - 2
     """, "extra:", "extra", id="unknown-top-level-key-with-block-value"),
    pytest.param("""
        items:
          - id: a
            type: Movie
            images:
              Primary:
                - media/a.jpg
                - media/b.jpg
     """, "Primary:", "items[0].images.Primary", id="block-list-for-single-type"),
])
def test_error_about_a_key_with_a_block_value_names_the_key_line(root, text, needle, field):
    (error,) = errors_of(root, text)
    assert (error.line, error.field) == (line_of(text, needle), field)


def test_numeric_looking_id_is_kept_as_written_or_rejected(root):
    try:
        library = load(root, "items:\n  - id: 0123\n    type: Movie\n")
    except CatalogErrors as exc:
        assert [e.field for e in exc.errors] == ["items[0].id"]
    else:
        assert list(library.items) == ["0123"]


def test_include_splits_a_catalog_and_errors_keep_their_file_and_line(tmp_path):
    """Issue 12 item 3: ``include:`` appends the items/users/user_data/podcast_images of other
    files; every error names the file and line it is in; ids are unique across files."""
    from pipeline.catalog.loader import load_catalog
    from pipeline.errors import CatalogErrors
    from PIL import Image
    (tmp_path / "media").mkdir()
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (40, 60), "red").save(tmp_path / "media" / name)
    (tmp_path / "catalog.yaml").write_text(
        "include: [films.yaml, more/series.yaml]\n"
        "items:\n  - {id: main1, name: Main, type: Movie, images: {Primary: media/a.jpg}}\n")
    (tmp_path / "films.yaml").write_text(
        "items:\n  - {id: film1, name: Film, type: Movie, images: {Primary: media/b.jpg}}\n"
        "users:\n  - {id: alice, name: alice}\n")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "series.yaml").write_text(
        "items:\n  - {id: show, name: Show, type: Series}\n"
        "  - {id: ep, name: Ep, type: Episode, parent: show, images: {Primary: media/a.jpg}}\n")
    library = load_catalog(tmp_path / "catalog.yaml")
    assert list(library.items) == ["main1", "film1", "show", "ep"]
    assert list(library.users) == ["alice"]
    assert library.included == ((tmp_path / "films.yaml").resolve(), (tmp_path / "more/series.yaml").resolve())

    (tmp_path / "more" / "series.yaml").write_text(
        "items:\n  - {id: show, name: Show, type: Series}\n"
        "  - {id: film1, name: Again, type: Movie}\n"
        "  - {id: ep, name: Ep, type: Episode, parent: nowhere,\n"
        "     images: {Primary: media/missing.jpg}}\n")
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "catalog.yaml")
    text = str(info.value)
    series = str((tmp_path / "more/series.yaml").resolve())
    assert f"{series}:3: items[1].id: duplicate id 'film1'" in text
    assert f"{series}:4: items[2].parent: parent 'nowhere' does not exist" in text
    assert f"{series}:5: items[2].images.Primary" in text

    (tmp_path / "films.yaml").write_text("settings: {}\nitems: [\n")
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "catalog.yaml")
    assert str((tmp_path / "films.yaml").resolve()) in str(info.value)
    (tmp_path / "films.yaml").write_text("settings: {}\n")
    with pytest.raises(CatalogErrors) as info:
        load_catalog(tmp_path / "catalog.yaml")
    assert "films.yaml:1: settings: unknown key in an included file" in str(info.value)


def test_every_settings_error_is_reported_with_suggestions(root):
    text = """
        settings:
          fromats: [Jpg]
          qualities: [80, 900]
          sizes: [{maxWidht: 320}]
          types:
            Backdrop: {formats: [Jpg, Webpp]}
            Primay: {qualities: [80]}
            Logo: {qualitees: [80]}
          podcast: {quality: 101, formt: Jpg}
        items:
          - {id: a, name: A, type: Moive, images: {Primray: media/a.jpg}}
        itmes: []
    """
    errors = errors_of(root, text)
    found = {(e.line, e.field): e.message for e in errors}
    expected = {
        (2, "settings.fromats"): "did you mean 'formats'?",
        (3, "settings.qualities[1]"): "got 900",
        (4, "settings.sizes[0].maxWidht"): "did you mean 'maxWidth'?",
        (6, "settings.types.Backdrop.formats[1]"): "did you mean 'Webp'?",
        (7, "settings.types.Primay"): "did you mean 'Primary'?",
        (8, "settings.types.Logo.qualitees"): "did you mean 'qualities'?",
        (9, "settings.podcast.formt"): "did you mean 'format'?",
        (11, "items[0].type"): "did you mean 'Movie'?",
        (11, "items[0].images.Primray"): "did you mean 'Primary'?",
        (12, "itmes"): "did you mean 'items'?",
    }
    for where, hint in expected.items():
        assert where in found, (where, sorted(found))
        assert hint in found[where], (where, found[where])
    lines = str(CatalogErrors(errors)).splitlines()
    assert len(lines) == len(errors) >= len(expected)
    assert all(re.match(r".*catalog\.yaml:\d+: \S+: ", line) for line in lines)

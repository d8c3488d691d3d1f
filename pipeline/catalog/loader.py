"""Load and validate ``catalog.yaml`` into a typed ``Library``, before any pixel is touched.

Catalog shape (README "Catalog reference"):

```yaml
settings: {...}                 # optional, see pipeline.catalog.settings
items:
  - id: a1b2c3                  # unique, [A-Za-z0-9_-]+
    name: Some Series
    type: Series                # Series, Season, Episode, Movie, MusicAlbum, Audio, BoxSet, Folder, …
    parent: null                # id of the parent item
    path: Shows/Some Series     # optional: the media it was scanned from (doit scan owns it)
    guid: 6f9619ff8b86d011b42d00c04fc964ff   # optional published Id (else derived, pipeline.model.ids)
    index_number: 1             # optional IndexNumber (episode or season number, track number)
    parent_index_number: 1      # optional ParentIndexNumber (an episode's season number)
    images:                     # ImageType -> path, or a list of paths for Backdrop/Screenshot/Chapter
      Primary: media/series/poster.jpg
      Backdrop: [media/series/bd0.jpg, media/series/bd1.jpg]
    remote_images:              # optional candidates for GET/POST /Items/{id}/RemoteImages…
      - {provider: TheMovieDb, url: "https://img.example/p.jpg", type: Primary,
         width: 1000, height: 1500, language: en, rating: 7.5, votes: 12}
users:
  - id: u1
    name: alice
    images: {Primary: media/users/alice.jpg}
user_data:                      # optional playback state, per user and item (Jellyfin UserData)
  - {user: u1, item: a1b2c3, played: false, playedPercentage: 47, unplayedItemCount: 3}
podcast_images:                 # optional ART19 images (seed 003)
  - id: 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39      # UUID
    bucket: {type: Series, id: a1b2c3}          # Series/Season/Episode/User must exist here
    source: media/podcast/cover.jpg
    crop: {left: 100, top: 150, width: 3000, height: 3000}   # optional, pixels, square
```

Paths are relative to the catalog's folder and may not leave it. No pixel is decoded here; the one
file read beyond the YAML is the header (size and EXIF orientation, via Pillow's lazy
``Image.open``) of a podcast source that has a ``crop``, so that a crop outside the upright image
is reported against its field. Every problem is reported as a
``CatalogError`` naming the file, the line and the field; all problems of a catalog are collected
and raised together as ``CatalogErrors``.
"""

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from pipeline.art19.crop import CropData, validate
from pipeline.imaging.decode import upright_size
from pipeline.errors import CatalogError, CatalogErrors, did_you_mean
from pipeline.model.ids import NAMED_COLLECTIONS, canonical_guid, derived_guid, name_key
from pipeline.model.imagetypes import IMAGE_TYPES, MULTI_IMAGE_TYPES
from pipeline.art19.jsonapi import BUCKET_TYPES, canonical_uuid
from pipeline.catalog.settings import Settings, SettingsError, parse_settings

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
INT32_MAX = 2**31 - 1   # Jellyfin's Int32 fields (UserData.UnplayedItemCount, ImageInfo Width/Height)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser: ~10x faster

#: Item types the catalog accepts (Jellyfin's ``BaseItemKind`` values a library uses).
ITEM_TYPES = (
    "AggregateFolder", "Audio", "AudioBook", "BoxSet", "Book", "Channel", "CollectionFolder",
    "Episode", "Folder", "Genre", "MusicAlbum", "MusicArtist", "MusicGenre", "MusicVideo", "Movie", "Person",
    "Photo", "PhotoAlbum", "Playlist", "Program", "Season", "Series", "Studio", "Trailer",
    "TvChannel", "Video",
)

_ITEM_KEYS = ("id", "name", "type", "parent", "images", "path", "guid", "index_number", "parent_index_number",
              "remote_images")
_REMOTE_KEYS = ("provider", "url", "type", "thumbnail", "width", "height", "language", "rating", "votes")
_USER_KEYS = ("id", "name", "images", "guid")
_TOP_KEYS = ("settings", "items", "users", "user_data", "podcast_images", "include")
#: The list sections an ``include:``d file may hold; they are appended to the main file's.
_INCLUDED_KEYS = ("items", "users", "user_data", "podcast_images")
_PODCAST_KEYS = ("id", "bucket", "source", "crop", "created_at", "updated_at")
#: Bucket types that name an entity of the catalog (the others are ART19 accounts we do not model).
_BUCKET_ENTITIES = {"Series": "Items", "Season": "Items", "Episode": "Items", "User": "Users"}
_USER_DATA_KEYS = ("user", "item", "played", "playedPercentage", "unplayedItemCount")


@dataclass(frozen=True)
class ImageSlot:
    """One image of an item or user: its ``ImageType``, index (0 for single types) and source.

    ``path`` is absolute; ``relpath`` is as written in the catalog (POSIX, relative to its folder).
    """

    image_type: str
    index: int
    path: Path
    relpath: str


@dataclass
class Owner:
    """An item or a user: ``kind`` is ``"Items"`` or ``"Users"`` (the URL collection).

    ``id`` is the catalog id (output folders, an alias in URLs); ``guid`` the published ``Id``
    (32 lowercase hex digits: the catalog's ``guid``, else ``ids.derived_guid``);
    ``index_number``/``parent_index_number``: the catalog's ``IndexNumber``/``ParentIndexNumber``.
    """

    kind: str
    id: str
    name: str
    type: str
    parent: str | None = None
    images: dict[str, list[ImageSlot]] = field(default_factory=dict)
    position: int = 0          # index in the catalog's list (for error locations)
    path: str | None = None    # the media file or folder it was scanned from (``doit scan``)
    guid: str = ""
    index_number: int | None = None
    parent_index_number: int | None = None
    remote_images: list["RemoteImage"] = field(default_factory=list)

    def __post_init__(self):
        if not self.guid:
            self.guid = derived_guid(self.kind, self.id)

    def slots(self) -> list[ImageSlot]:
        """Every image slot, in ImageType order then index."""
        return [s for t in IMAGE_TYPES for s in self.images.get(t, [])]


@dataclass(frozen=True)
class RemoteImage:
    """A candidate image an item's ``remote_images:`` lists (Jellyfin's ``RemoteImageInfo``):
    ``provider`` name, absolute http(s) ``url``, ``image_type``, optional ``thumbnail`` URL,
    ``width``/``height`` in pixels, ``language`` (ISO 639-1 such as ``en``), community
    ``rating`` and ``votes``. Only these URLs may be downloaded (no request forgery)."""

    provider: str
    url: str
    image_type: str
    thumbnail: str | None = None
    width: int | None = None
    height: int | None = None
    language: str | None = None
    rating: float | None = None
    votes: int | None = None


@dataclass(frozen=True)
class PodcastImage:
    """An ART19 image: ``id`` (lowercase UUID), its bucket, the source (absolute ``path`` and
    ``relpath``), the ``crop`` (``crop.CropData`` in upright pixels, or None) and optional
    ISO 8601 ``created_at``/``updated_at``."""

    id: str
    bucket_type: str
    bucket_id: str
    path: Path
    relpath: str
    crop: Any = None
    created_at: str | None = None
    updated_at: str | None = None


@dataclass
class Library:
    """A validated catalog: ``items`` and ``users`` keyed by id, in catalog order, and
    ``user_data`` keyed by (user id, item id): ``{"played": bool, "playedPercentage": float
    0–100 | absent, "unplayedItemCount": int ≥ 0 | absent}``."""

    catalog_path: Path
    root: Path
    settings: Settings
    items: dict[str, Owner]
    users: dict[str, Owner]
    user_data: dict[tuple[str, str], dict] = field(default_factory=dict)
    podcast_images: dict[str, PodcastImage] = field(default_factory=dict)
    #: Files named by ``include:`` (absolute), in order; their bytes are part of the catalog.
    included: tuple[Path, ...] = ()

    def owners(self) -> list[Owner]:
        """Items, then users."""
        return [*self.items.values(), *self.users.values()]


#: Bounds on what a catalog may make the loader do (issue 13): nodes added by expanding aliases
#: (a billion-laughs document stays ~1 KB until expanded), nesting depth, digits of an integer.
MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 1_000
MAX_INTEGER_CHARS = 40
_INT_TAG = "tag:yaml.org,2002:int"


class _HostileYaml(Exception):
    """A document the loader refuses to expand: ``line`` (1-based or None) and ``message``."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _parse(catalog_path: Path):
    """Read and parse a catalog: (root node, Python data). Every failure, however hostile the
    bytes (not UTF-8, deep nesting, long integers, bad timestamps…), is a ``CatalogErrors``
    with the line."""
    def fail(line, message):
        return CatalogErrors([CatalogError(catalog_path, line, "", message)])
    try:
        raw = catalog_path.read_bytes()
    except OSError as exc:
        raise fail(None, f"cannot read catalog: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(raw.count(b"\n", 0, exc.start) + 1, f"not UTF-8 text: byte {raw[exc.start]:#04x} "
                   f"at offset {exc.start}") from None
    try:
        _check_depth(text)
        node = yaml.compose(text, Loader=_LOADER)   # parsed once (libyaml when available) …
    except yaml.YAMLError as exc:
        raise fail(*_syntax_error(exc, text)) from None
    except _HostileYaml as exc:
        raise fail(exc.line, exc.message) from None
    if node is None:
        return None, None
    try:
        _check_nodes(node)
        return node, _LOADER(text).construct_document(node)   # … built once
    except _HostileYaml as exc:
        raise fail(exc.line, exc.message) from None
    except yaml.YAMLError as exc:
        raise fail(*_syntax_error(exc, text)) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:   # e.g. a timestamp 2020-13-45
        line, value = _failing_scalar(text, node)
        raise fail(line, f"cannot read value {value!r}: {exc}") from None


def _syntax_error(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(line, one-line message) of a PyYAML error."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return line, f"YAML syntax error: character {exc.character!r} is not allowed in YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        what = "; ".join(str(x) for x in (exc.context, exc.problem) if x)
        return (mark.line + 1 if mark else None), f"YAML syntax error: {what}"
    return None, f"YAML syntax error: {' '.join(str(exc).split())}"


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before libyaml's composer, which recurses in C
    and crashes the process on ~50,000 levels. A cheap bound first (flow brackets, plus twice
    the longest line for block nesting); the exact depth from the event stream only when the
    bound is high."""
    depth = top = 0
    for ch in re.findall(r"[][{}]", text):
        depth = depth + 1 if ch in "[{" else max(0, depth - 1)
        top = max(top, depth)
    if top + 2 * max(map(len, text.splitlines()), default=0) + 2 <= MAX_DEPTH:
        return
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _HostileYaml(event.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_nodes(root) -> None:
    """Walk the node graph once (iteratively): refuse an alias that contains itself, aliases
    that expand to more than ``MAX_ALIAS_NODES`` nodes, and integers longer than
    ``MAX_INTEGER_CHARS`` characters. Raises ``_HostileYaml``."""
    sizes: dict[int, int] = {}            # expanded size of each finished node
    on_path: set[int] = set()
    expanded = 0                          # nodes added by aliases so far
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            continue
        if key in sizes:                  # met again: an alias
            expanded += sizes[key]
            if expanded > MAX_ALIAS_NODES:
                raise _HostileYaml(node.start_mark.line + 1, f"aliases of this node expand the document by "
                                   f"more than {MAX_ALIAS_NODES} nodes")
            continue
        if key in on_path:
            raise _HostileYaml(node.start_mark.line + 1, "an alias refers to a node that contains it")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT_TAG and len(node.value) > MAX_INTEGER_CHARS:
                raise _HostileYaml(node.start_mark.line + 1, f"integer of {len(node.value)} characters "
                                   f"(at most {MAX_INTEGER_CHARS})")
            sizes[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _failing_scalar(text: str, root) -> tuple[int | None, str]:
    """(line, value) of the first scalar that cannot be constructed on its own."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                _LOADER("").construct_object(node)
            except Exception:
                return node.start_mark.line + 1, node.value
        stack.extend(reversed(_children(node)))
    return None, ""


class _Located:
    """Line numbers of every node of a YAML document, by key path (1-based lines). The document
    has passed ``_check_nodes``: no recursive alias, bounded expansion."""

    def __init__(self, root_node):
        self.lines: dict[tuple, int] = {}
        self.raw: dict[tuple, str] = {}   # scalars as written (no YAML 1.1 typing: 0123 stays 0123)
        self.duplicates: list[tuple[tuple, int]] = []
        if root_node is not None:
            self._walk(root_node)

    def _walk(self, root):
        stack = [(root, ())]
        while stack:
            node, path = stack.pop()
            self.lines.setdefault(path, node.start_mark.line + 1)
            if isinstance(node, yaml.MappingNode):
                seen, children = set(), []
                for key_node, value_node in node.value:
                    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
                    if key in seen:
                        self.duplicates.append((path + (key,), key_node.start_mark.line + 1))
                    seen.add(key)
                    self.lines[path + (key,)] = key_node.start_mark.line + 1  # errors name the key's line
                    children.append((value_node, path + (key,)))
                stack.extend(reversed(children))
            elif isinstance(node, yaml.ScalarNode):
                self.raw[path] = node.value
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(reversed([(child, path + (i,)) for i, child in enumerate(node.value)]))

    def line(self, path: tuple) -> int | None:
        """Line of ``path`` or of its nearest ancestor that has one."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)


def field_name(path: tuple) -> str:
    """``('items', 3, 'images', 'Backdrop', 1)`` → ``'items[3].images.Backdrop[1]'``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Checker:
    def __init__(self, file: Path, located: _Located):
        self.file, self.located, self.errors = file, located, []
        self.sources: dict[str, tuple[Path | None, str]] = {}   # ``_source``'s answers, by relpath
        self.slots: dict[ImageSlot, ImageSlot] = {}              # one ``ImageSlot`` per distinct value

    def raw(self, path: tuple, value: Any) -> Any:
        """A scalar as written in the file (so ``id: 0123`` is ``"0123"``), else ``value``."""
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        return self.located.raw.get(path, value) if numeric else value

    def fail(self, path: tuple, message: str):
        self.errors.append(CatalogError(self.file, self.located.line(path), field_name(path), message))

    def unknown_keys(self, path: tuple, mapping: dict, known) -> list:
        """Report every key of ``mapping`` (found at ``path``) that is not in ``known``, naming
        the known ones and the likeliest misspelling; return those keys."""
        unknown = [key for key in mapping if key not in known]
        for key in unknown:
            self.fail(path + (key,), f"unknown key (known: {', '.join(known)})" + did_you_mean(key, known))
        return unknown


class _Included(_Checker):
    """A checker over the main catalog and its ``include:``d files, whose list sections were
    appended to the main file's: a path ``(section, i, …)`` is routed to the file and local
    index that entry came from, so every error keeps its own file:line."""

    def __init__(self, main: _Checker, parts: list[tuple[_Checker, dict]]):
        self.file, self.located, self.errors = main.file, main.located, main.errors
        self.sources, self.slots = main.sources, main.slots
        self.spans: dict[str, list[tuple[int, int, _Checker]]] = {}   # section → (start, end, checker)
        for checker, data in parts:
            for section in _INCLUDED_KEYS:
                entries = data.get(section)
                if isinstance(entries, list) and entries:
                    spans = self.spans.setdefault(section, [])
                    start = spans[-1][1] if spans else 0
                    spans.append((start, start + len(entries), checker))

    def _route(self, path: tuple) -> tuple[_Checker, tuple]:
        if len(path) >= 2 and isinstance(path[1], int):
            for start, end, checker in self.spans.get(path[0], ()):
                if start <= path[1] < end:
                    return checker, (path[0], path[1] - start) + path[2:]
        return self, path

    def raw(self, path: tuple, value: Any) -> Any:
        checker, local = self._route(path)
        return _Checker.raw(checker, local, value)

    def fail(self, path: tuple, message: str):
        checker, local = self._route(path)
        self.errors.append(CatalogError(checker.file, checker.located.line(local), field_name(local), message))


def _include(check: _Checker, data: dict, catalog_path: Path) -> tuple[dict, _Checker, tuple[Path, ...]]:
    """Parse the files of ``data["include"]`` (paths relative to the main catalog's folder; one
    level: an included file holds only ``items``, ``users``, ``user_data``, ``podcast_images``)
    and append their sections to the main file's. Returns (merged data, a checker routing
    errors to their file, the included paths). Parse errors of an included file are raised
    with its own file:line."""
    names = data.get("include")
    if names is None:
        return data, check, ()
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        check.fail(("include",), "must be a file path or a list of file paths")
        return data, check, ()
    parts = [(check, data)]
    paths = []
    for i, name in enumerate(names):
        path = (catalog_path.parent / name).resolve()
        if path == catalog_path or path in paths:
            check.fail(("include", i), f"{name!r} is included twice (or is this catalog)")
            continue
        node, part = _parse(path)
        located = _Located(node)
        sub = _Checker(path, located)
        sub.errors = check.errors
        for dup, line in located.duplicates:
            check.errors.append(CatalogError(path, line, field_name(dup), "duplicate key"))
        if part is None:
            part = {}
        if not isinstance(part, dict):
            sub.fail((), f"an included file must be a mapping with {', '.join(_INCLUDED_KEYS)}")
            continue
        for key in part:
            if key not in _INCLUDED_KEYS:
                sub.fail((key,), f"unknown key in an included file (known: {', '.join(_INCLUDED_KEYS)})")
        paths.append(path)
        parts.append((sub, part))
    merged = dict(data)
    for section in _INCLUDED_KEYS:
        lists = [p.get(section) for _, p in parts]
        if any(entries is not None for entries in lists[1:]):
            if not all(entries is None or isinstance(entries, list) for entries in lists):
                continue   # the section's own check reports "must be a list"
            merged[section] = [entry for entries in lists if entries for entry in entries]
    return merged, _Included(check, parts), tuple(paths)


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while a large object graph is built (a catalog's
    nodes, a plan): it would scan the growing graph again and again (at 100,000 items it tripled
    the time), and building makes no garbage cycles. Restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_catalog(catalog_path: str | Path) -> Library:
    """Read, parse and validate a catalog file.

    Returns a ``Library``. Raises ``CatalogErrors`` listing every problem (file:line: field:
    message): YAML syntax, unknown keys, bad ids, unknown ImageType, a list for a single-image
    type, duplicate ids, a missing parent or a parent cycle, a missing source file, a path that
    leaves the catalog's folder, bad settings. Decodes no pixels; the only image it opens is the
    header of a podcast source with a ``crop``.
    """
    with paused_gc():
        return _load_catalog(Path(catalog_path).resolve())


def _load_catalog(catalog_path: Path) -> Library:
    node, data = _parse(catalog_path)
    located = _Located(node)
    check = _Checker(catalog_path, located)
    for path, line in located.duplicates:
        check.errors.append(CatalogError(catalog_path, line, field_name(path), "duplicate key"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        check.fail((), "the catalog must be a mapping with items, users and settings")
        raise CatalogErrors(check.errors)
    check.unknown_keys((), data, _TOP_KEYS)

    data, check, included = _include(check, data, catalog_path)
    settings = None
    try:
        settings = parse_settings(data.get("settings"))
    except SettingsError as exc:
        for error in getattr(exc, "errors", [exc]):
            check.fail(("settings",) + error.path, str(error))

    root = catalog_path.parent
    items = _owners(check, data, "items", root)
    users = _owners(check, data, "users", root)
    _check_parents(check, items)
    _check_names(check, items)
    user_data = _user_data(check, data.get("user_data"), items, users)
    podcast = _podcast_images(check, data.get("podcast_images"), root, items, users)
    if check.errors:
        raise CatalogErrors(check.errors)
    return Library(catalog_path, root, settings, items, users, user_data, podcast, included)


def _podcast_images(check: _Checker, entries: Any, root: Path, items: dict, users: dict) -> dict:
    out: dict[str, PodcastImage] = {}
    if entries is None:
        return out
    if not isinstance(entries, list):
        check.fail(("podcast_images",), "must be a list")
        return out
    for i, entry in enumerate(entries):
        where = ("podcast_images", i)
        if not isinstance(entry, dict):
            check.fail(where, "must be a mapping with id, bucket and source")
            continue
        check.unknown_keys(where, entry, _PODCAST_KEYS)
        image_id = canonical_uuid(str(entry.get("id", "")))
        if image_id is None:
            check.fail(where + ("id",), f"id must be a UUID such as 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39, "
                                        f"got {entry.get('id')!r}")
            continue
        if image_id in out:
            check.fail(where + ("id",), f"duplicate id {image_id!r}")
            continue
        bucket = entry.get("bucket")
        if not isinstance(bucket, dict) or set(bucket) != {"type", "id"}:
            check.fail(where + ("bucket",), "bucket must be {type: Series, id: <id>}")
            continue
        bucket_type, bucket_id = str(bucket["type"]), str(check.raw(where + ("bucket", "id"), bucket["id"]))
        if bucket_type not in BUCKET_TYPES:
            check.fail(where + ("bucket", "type"), f"unknown bucket type {bucket_type!r} "
                                                   f"(known: {', '.join(BUCKET_TYPES)})")
            continue
        kind = _BUCKET_ENTITIES.get(bucket_type)
        if kind == "Users" and bucket_id not in users or kind == "Items" and (
                bucket_id not in items or items[bucket_id].type != bucket_type):
            check.fail(where + ("bucket", "id"), f"no {bucket_type} with id {bucket_id!r} in this catalog")
            continue
        source = _source(check, entry.get("source"), where + ("source",), root)
        if source is None:
            continue
        crop = None
        if entry.get("crop") is not None:
            try:
                crop = CropData.from_mapping(entry["crop"])
                with Image.open(source) as header:  # header only: upright size for the crop
                    validate(crop, *upright_size(header))
            except ValueError as exc:
                check.fail(where + ("crop",), str(exc))
                continue
            except OSError as exc:
                check.fail(where + ("source",), f"not a readable image: {exc}")
                continue
        stamps = {}
        for key in ("created_at", "updated_at"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                value = value.isoformat() if hasattr(value, "isoformat") else str(value)
            stamps[key] = value
        out[image_id] = PodcastImage(image_id, bucket_type, bucket_id, source, str(entry["source"]),
                                     crop, **stamps)
    return out


def _user_data(check: _Checker, entries: Any, items: dict, users: dict) -> dict:
    out: dict[tuple[str, str], dict] = {}
    if entries is None:
        return out
    if not isinstance(entries, list):
        check.fail(("user_data",), "must be a list")
        return out
    for i, entry in enumerate(entries):
        where = ("user_data", i)
        if not isinstance(entry, dict):
            check.fail(where, "must be a mapping with user, item and played/playedPercentage/unplayedItemCount")
            continue
        check.unknown_keys(where, entry, _USER_DATA_KEYS)
        user = str(check.raw(where + ("user",), entry.get("user")))
        item = str(check.raw(where + ("item",), entry.get("item")))
        if user not in users:
            check.fail(where + ("user",), f"user {entry.get('user')!r} does not exist")
        if item not in items:
            check.fail(where + ("item",), f"item {entry.get('item')!r} does not exist")
        if (user, item) in out:
            check.fail(where, f"a second entry for user {user!r} and item {item!r}")
        record: dict = {"played": False}
        played = entry.get("played", False)
        if not isinstance(played, bool):
            check.fail(where + ("played",), f"must be true or false, got {played!r}")
        record["played"] = played is True
        pct = entry.get("playedPercentage")
        if pct is not None:
            if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 <= pct <= 100:
                check.fail(where + ("playedPercentage",), f"must be a number 0–100, got {pct!r}")
            else:
                record["playedPercentage"] = float(pct)
        count = entry.get("unplayedItemCount")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= INT32_MAX:
                check.fail(where + ("unplayedItemCount",), f"must be an integer ≥ 0 and ≤ {INT32_MAX} "
                           f"(Jellyfin's Int32), got {count!r}")
            else:
                record["unplayedItemCount"] = count
        out[(user, item)] = record
    return out


def _owners(check: _Checker, data: dict, section: str, root: Path) -> dict[str, Owner]:
    entries = data.get(section) or []
    kind = "Items" if section == "items" else "Users"
    allowed = _ITEM_KEYS if section == "items" else _USER_KEYS
    owners: dict[str, Owner] = {}
    guids: dict[str, str] = {}     # guid → catalog id
    folded: dict[str, str] = {}     # lowercased id -> id
    if not isinstance(entries, list):
        check.fail((section,), "must be a list")
        return owners
    for i, entry in enumerate(entries):
        where = (section, i)
        if not isinstance(entry, dict):
            check.fail(where, "must be a mapping with id, name and images")
            continue
        check.unknown_keys(where, entry, allowed)
        owner_id = check.raw(where + ("id",), entry.get("id"))
        if not isinstance(owner_id, (str, int)) or isinstance(owner_id, bool) \
                or not ID_PATTERN.match(str(owner_id)):
            check.fail(where + ("id",), f"id must match [A-Za-z0-9_-]+, got {owner_id!r}")
            continue
        owner_id = str(owner_id)
        if owner_id in owners:
            check.fail(where + ("id",), f"duplicate id {owner_id!r}")
            continue
        same = folded.get(owner_id.lower())
        if same is not None:   # they would share a folder on a case-insensitive disk, and a URL
            check.fail(where + ("id",), f"id {owner_id!r} differs from {same!r} ({section}[{owners[same].position}]) "
                       f"only in case")
            continue
        folded[owner_id.lower()] = owner_id
        item_type = entry.get("type", "User" if kind == "Users" else None)
        if kind == "Items" and item_type not in ITEM_TYPES:
            check.fail(where + ("type",), f"unknown item type {item_type!r} (known: {', '.join(ITEM_TYPES)})"
                       + did_you_mean(item_type, ITEM_TYPES))
        parent = check.raw(where + ("parent",), entry.get("parent"))
        if parent is not None:
            parent = str(parent)
        media_path = entry.get("path")
        if media_path is not None and not isinstance(media_path, str):
            check.fail(where + ("path",), f"must be the media path as a string, got {media_path!r}")
            media_path = None
        owner = Owner(kind, owner_id, str(entry.get("name") or owner_id), str(item_type), parent, position=i,
                      path=media_path)
        if entry.get("guid") is not None:
            guid = canonical_guid(str(check.raw(where + ("guid",), entry["guid"])))
            if guid is None:
                check.fail(where + ("guid",), f"guid must be a GUID (32 hex digits, dashes allowed), "
                                              f"got {entry['guid']!r}")
            elif guid in guids:
                check.fail(where + ("guid",), f"guid {guid} is also the guid of {guids[guid]!r}")
            else:
                owner.guid = guid
        guids.setdefault(owner.guid, owner_id)
        for key in ("index_number", "parent_index_number"):
            value = entry.get(key)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
                    check.fail(where + (key,), f"must be an integer ≥ 0 and ≤ {INT32_MAX} "
                                              f"(Jellyfin's Int32), got {value!r}")
                else:
                    setattr(owner, key, value)
        owner.images = _images(check, entry.get("images"), where + ("images",), root)
        if kind == "Items":
            owner.remote_images = _remote_images(check, entry.get("remote_images"), where + ("remote_images",))
        owners[owner_id] = owner
    for owner_id, owner in owners.items():     # a derived guid taken by another entry's own guid
        if guids.get(owner.guid) != owner_id:
            check.fail((section, owner.position, "guid"), f"guid {owner.guid} is also the guid of "
                                                          f"{guids[owner.guid]!r}")
    return owners


def _url(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"https?://[^\s/]+(/\S*)?", value) is not None


def _remote_images(check: _Checker, entries: Any, where: tuple) -> list[RemoteImage]:
    out: list[RemoteImage] = []
    if entries is None:
        return out
    if not isinstance(entries, list):
        check.fail(where, "must be a list of {provider, url, type, …}")
        return out
    for i, entry in enumerate(entries):
        path = where + (i,)
        if not isinstance(entry, dict):
            check.fail(path, "must be a mapping with provider, url and type")
            continue
        bad = check.unknown_keys(path, entry, _REMOTE_KEYS)
        provider, url, image_type = entry.get("provider"), entry.get("url"), entry.get("type")
        if not isinstance(provider, str) or not provider.strip():
            check.fail(path + ("provider",), f"must be a provider name, got {provider!r}")
            bad.append("provider")
        if not _url(url):
            check.fail(path + ("url",), f"must be an absolute http(s) URL, got {url!r}")
            bad.append("url")
        if image_type not in IMAGE_TYPES:
            check.fail(path + ("type",), f"unknown ImageType {image_type!r} (known: {', '.join(IMAGE_TYPES)})")
            bad.append("type")
        if entry.get("thumbnail") is not None and not _url(entry["thumbnail"]):
            check.fail(path + ("thumbnail",), f"must be an absolute http(s) URL, got {entry['thumbnail']!r}")
            bad.append("thumbnail")
        for key in ("width", "height", "votes"):
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                check.fail(path + (key,), f"must be an integer ≥ 0, got {value!r}")
                bad.append(key)
        rating = entry.get("rating")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, (int, float))):
            check.fail(path + ("rating",), f"must be a number, got {rating!r}")
            bad.append("rating")
        language = entry.get("language")
        if language is not None and not isinstance(language, str):
            check.fail(path + ("language",), f"must be a language code such as en, got {language!r}")
            bad.append("language")
        if not bad:
            out.append(RemoteImage(provider, url, image_type, entry.get("thumbnail"), entry.get("width"),
                                   entry.get("height"), language or None,
                                   float(rating) if rating is not None else None, entry.get("votes")))
    return out


def _images(check: _Checker, images: Any, where: tuple, root: Path) -> dict[str, list[ImageSlot]]:
    out: dict[str, list[ImageSlot]] = {}
    if images is None:
        return out
    if not isinstance(images, dict):
        check.fail(where, "images must be a mapping of ImageType to path")
        return out
    for image_type, value in images.items():
        path = where + (image_type,)
        if image_type not in IMAGE_TYPES:
            hint = " (write Chapter)" if str(image_type).lower() == "chapterimage" else ""
            check.fail(path, f"unknown ImageType {image_type!r}{hint} (known: {', '.join(IMAGE_TYPES)})"
                       + ("" if hint else did_you_mean(image_type, IMAGE_TYPES)))
            continue
        if isinstance(value, list):
            if image_type not in MULTI_IMAGE_TYPES:
                check.fail(path, f"{image_type} holds one image; a list is only allowed for "
                           f"{', '.join(sorted(MULTI_IMAGE_TYPES))}")
                continue
            values = [(v, path + (i,)) for i, v in enumerate(value)]
        else:
            values = [(value, path)]
        slots = []
        for index, (rel, p) in enumerate(values):
            source = _source(check, rel, p, root)
            if source is not None:   # equal slots are one object (items share sources): less to keep
                slot = ImageSlot(image_type, index, source, str(rel))
                slots.append(check.slots.setdefault(slot, slot))
        if slots and len(slots) == len(values):
            out[image_type] = slots
    return out


def _source(check: _Checker, rel: Any, path: tuple, root: Path) -> Path | None:
    if not isinstance(rel, str) or not rel.strip():
        check.fail(path, f"must be a path relative to the catalog's folder, got {rel!r}")
        return None
    known = check.sources.get(rel)   # one resolve and stat per distinct path: items share sources
    if known is None:
        known = check.sources[rel] = _resolve_source(rel, root)
    resolved, problem = known
    if problem:
        check.fail(path, problem)
        return None
    return resolved


def _resolve_source(rel: str, root: Path) -> tuple[Path | None, str]:
    """(absolute path, "") of the source file ``rel`` under ``root``, or (None, the problem)."""
    if Path(rel).is_absolute() or "\\" in rel or "\0" in rel:
        return None, f"must be a relative POSIX path inside the catalog's folder, got {rel!r}"
    resolved = (root / rel).resolve()
    if not resolved.is_relative_to(root):
        return None, f"path leaves the catalog's folder: {rel!r}"
    if not resolved.is_file():
        return None, f"file not found: {rel}"
    return resolved, ""


def _check_names(check: _Checker, items: dict[str, Owner]):
    """Named-item routes (``/Artists/{name}/…``) find MusicArtist, Genre, MusicGenre, Person and
    Studio items by name, case-insensitively (``ids.name_key``): such names must be unique."""
    seen: dict[tuple[str, str], str] = {}
    for item in items.values():
        if item.type in NAMED_COLLECTIONS.values():
            key = (item.type, name_key(item.name))
            if key in seen:
                check.fail(("items", item.position, "name"), f"{item.type} name {item.name!r} is also the "
                                                            f"name of {seen[key]!r} (names match case-insensitively)")
            seen.setdefault(key, item.id)


def _check_parents(check: _Checker, items: dict[str, Owner]):
    index_of = {item_id: item.position for item_id, item in items.items()}
    for item in items.values():
        if item.parent is not None and item.parent not in items:
            check.fail(("items", index_of[item.id], "parent"), f"parent {item.parent!r} does not exist")
    for item in items.values():
        seen = [item.id]
        current = item
        while current.parent is not None and current.parent in items:
            if current.parent in seen:
                chain = " -> ".join(seen + [current.parent])
                check.fail(("items", index_of[item.id], "parent"), f"parent cycle: {chain}")
                break
            seen.append(current.parent)
            current = items[current.parent]


def ancestors(library: Library, item: Owner) -> list[Owner]:
    """The item's parents, nearest first (Episode → [Season, Series]). The catalog has no cycles."""
    out = []
    while item.parent is not None:
        item = library.items[item.parent]
        out.append(item)
    return out

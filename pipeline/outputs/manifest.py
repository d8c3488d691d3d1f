"""``manifest.json``: the typed index of a build, written last by the ``objects`` step and read
by everything that needs to know what the build published (serve.py's ``Index``, the nginx
generator, the build report, ``prune``).

This is the only module that knows the file's JSON shape. It imports nothing but
``pipeline.model``, ``pipeline.store.atomic`` (a standard-library leaf) and the standard
library, so the serve side can use it without Pillow or the planner.

Shape (``version`` 1; keys in this order, compact JSON)::

    {"version": 1, "negotiate_format": bool,
     "images": {tag: {"type": ImageType, "source": catalog path, "width": px, "height": px,
                      "format": source format, "quality": default quality,
                      "derivatives": [{"file", "width", "height", "format", "quality" (int|null),
                                       "original", "keeps_aspect", "bytes",
                                       "decoration"?: {field: value}}]}},
     "owners": {"Items": {id: {ImageType: [tag, …]}}, "Users": {…}},
     "podcast": {"images": {id: ART19 image resource}, "media_assets": {id: {"resource", "file"}},
                 "feeds": {"Series/{id}": feed file}},
     "failed": [{"source": catalog path, "error": reason}],
     "ids": {"Items": {guid: id}, "Users": {…}},
     "names": {"Artists"|"Genres"|"MusicGenres"|"Persons"|"Studios": {name key: item id}},
     "legacy_links": true}                                   (only when true)

Widths and heights are upright pixels, ``bytes`` the file's size. ``ids`` maps each owner's
published GUID (32 lowercase hex, ``pipeline.model.ids``) to its catalog id (absent: none);
``names`` the named items (``ids.name_key`` of their name) of each named-image collection;
``legacy_links`` whether the build wrote the legacy-path links (settings ``legacy_links``;
absent: false), so ``prune`` deletes them when it did not. ``read`` checks the version and
every field it uses, and raises ``ManifestError`` naming the file and the field.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.model import layout
from pipeline.model.decoration import Decoration
from pipeline.model.derivative import Derivative
from pipeline.model.formats import FORMATS
from pipeline.model.ids import NAMED_COLLECTIONS
from pipeline.model.imagetypes import IMAGE_TYPES
from pipeline.store.atomic import write_if_changed

#: The version this code writes and reads. Bump it when the shape changes incompatibly.
MANIFEST_VERSION = 1

#: The owner kinds of ``owners`` (URL segments of the API).
OWNER_KINDS = ("Items", "Users")


class ManifestError(ValueError):
    """``manifest.json`` is unreadable, of another version or of the wrong shape. The message
    names the file, the field (``images.<tag>.derivatives[2].bytes``) and what is wrong."""


@dataclass(frozen=True)
class FileEntry:
    """One published file of an image: the ``derivative`` (``requests`` not recorded) and its
    size in ``bytes``."""

    derivative: Derivative
    bytes: int


@dataclass(frozen=True)
class ImageEntry:
    """One source image by ``tag``: its ImageType, catalog ``source`` path, upright ``width`` /
    ``height`` (pixels), source ``format``, default ``quality`` and published ``files``.
    ``derivatives`` is the files' ``Derivative`` values (what ``selection.select`` takes)."""

    tag: str
    type: str
    source: str
    width: int
    height: int
    format: str
    quality: int
    files: tuple[FileEntry, ...]
    derivatives: tuple[Derivative, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "derivatives", tuple(f.derivative for f in self.files))


@dataclass(frozen=True)
class MediaAsset:
    """An ART19 media asset: its JSON:API ``resource`` and the ``file`` (under the output
    folder) holding its bytes."""

    resource: dict
    file: str


@dataclass(frozen=True)
class Podcast:
    """The ART19 documents: ``images`` (id → image resource), ``media_assets`` (id →
    ``MediaAsset``), ``feeds`` (``"Series/{id}"`` → feed file)."""

    images: dict[str, dict] = field(default_factory=dict)
    media_assets: dict[str, MediaAsset] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FailedSource:
    """A source left out of the build: catalog ``source`` path and the ``error``."""

    source: str
    error: str


@dataclass(frozen=True)
class Manifest:
    """A build's index (see the module doc): ``images`` by tag, ``owners`` (kind → id →
    ImageType → tags by index), ``negotiate_format`` (serve picks AVIF/WebP by ``Accept``),
    ``podcast`` documents, ``failed`` sources, ``ids`` (kind → published GUID → id), ``names``
    and ``legacy_links`` (the build wrote the legacy-path links)."""

    images: dict[str, ImageEntry]
    owners: dict[str, dict[str, dict[str, list[str]]]]
    negotiate_format: bool = False
    podcast: Podcast = field(default_factory=Podcast)
    failed: tuple[FailedSource, ...] = ()
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    legacy_links: bool = False

    def published_files(self) -> set[str]:
        """Every file (path under the output folder) this build publishes: derivatives, the
        owners' JSON objects, podcast files and documents, feeds; not the legacy links (see
        ``layout.legacy_owner_and_tag``) nor the manifest itself."""
        files = {f.derivative.file for image in self.images.values() for f in image.files}
        for asset_id, asset in self.podcast.media_assets.items():
            files.add(asset.file)
            files.add(layout.art19_file("media_assets", asset_id))
        files.update(layout.art19_file("images", image_id) for image_id in self.podcast.images)
        files.update(self.podcast.feeds.values())
        items = self.owners.get("Items", {})
        for item_id in items:
            files.add(layout.object_file("Items", item_id))
            files.add(layout.image_infos_file(item_id))
        for user_id in self.owners.get("Users", {}):
            files.add(layout.object_file("Users", user_id))
            files.update(layout.user_item_file(user_id, item_id) for item_id in items)
        files.update(layout.named_object_file(collection, key)
                     for collection, by_name in self.names.items() for key in by_name)
        return files

    def to_json(self) -> dict:
        """The JSON value written to ``manifest.json`` (module doc)."""
        images = {}
        for tag, image in self.images.items():
            derivatives = []
            for f in image.files:
                d = f.derivative
                record = {"file": d.file, "width": d.width, "height": d.height, "format": d.format,
                          "quality": d.quality, "original": d.original, "keeps_aspect": d.keeps_aspect,
                          "bytes": f.bytes}
                if not d.decoration.is_empty():
                    record["decoration"] = {k: v for k, v in asdict(d.decoration).items()
                                            if v not in (None, False)}
                derivatives.append(record)
            images[tag] = {"type": image.type, "source": image.source, "width": image.width,
                           "height": image.height, "format": image.format, "quality": image.quality,
                           "derivatives": derivatives}
        podcast = {"images": self.podcast.images,
                   "media_assets": {i: {"resource": a.resource, "file": a.file}
                                    for i, a in self.podcast.media_assets.items()},
                   "feeds": self.podcast.feeds}
        value = {"version": MANIFEST_VERSION, "negotiate_format": self.negotiate_format,
                 "images": images, "owners": self.owners, "podcast": podcast,
                 "failed": [{"source": f.source, "error": f.error} for f in self.failed], "ids": self.ids,
                 "names": self.names}
        if self.legacy_links:
            value["legacy_links"] = True
        return value


def dumps(value) -> bytes:
    """Compact UTF-8 JSON with a final newline, as every JSON file of the build is written
    (``json``'s C encoder: ``indent=`` falls back to the pure-Python one, ~10x slower)."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def write(output: str | Path, manifest: Manifest) -> bool:
    """Write ``output/manifest.json`` atomically (temporary file + rename), only when its bytes
    change. Call it last: a reader that sees the manifest then finds every file it names.
    Returns whether it wrote."""
    return write_if_changed(Path(output) / layout.MANIFEST, dumps(manifest.to_json()))


def read(output: str | Path) -> Manifest:
    """Read and check ``output/manifest.json``. Raises ``FileNotFoundError`` (build first) when
    it is missing and ``ManifestError`` when it is unreadable, of another version or of the
    wrong shape."""
    return read_stamped(output)[0]


def read_stamped(output: str | Path) -> tuple[Manifest, int]:
    """``read``, with the ``st_mtime_ns`` of the very file read (to notice a later change)."""
    path = Path(output) / layout.MANIFEST
    try:
        with open(path, "rb") as f:
            mtime_ns = os.fstat(f.fileno()).st_mtime_ns
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: build first (doit)") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror}") from None
    # The cyclic GC would scan the growing tree of records again and again (half the time of a
    # large manifest); parsing makes no cycles, so it is paused while the file is read.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            value = json.loads(data)
        except ValueError as exc:   # also bad UTF-8
            raise ManifestError(f"{path}: not JSON: {exc}") from None
        return parse(value, str(path)), mtime_ns
    finally:
        if was_enabled:
            gc.enable()


def parse(value, name: str = layout.MANIFEST) -> Manifest:
    """Check a decoded manifest and return it typed. ``name`` is the file named in errors.
    Raises ``ManifestError``."""
    try:
        return _parse(value)
    except _Bad as exc:
        where = f" at {exc.where}" if exc.where else ""
        raise ManifestError(f"{name}{where}: {exc.message}") from None


def parse_image(tag: str, value, name: str) -> ImageEntry:
    """Check one ``images.<tag>`` record (as ``outputs.sqlindex`` stores it, decoded) and return
    it typed. ``name`` is the file named in errors. Raises ``ManifestError``."""
    try:
        return _image(tag, value, f"images.{tag}", {})
    except _Bad as exc:
        raise ManifestError(f"{name} at {exc.where}: {exc.message}") from None


# ---------------------------------------------------------------------------------------------
# checking


class _Bad(Exception):
    def __init__(self, where: str, message: str):
        self.where, self.message = where, message


_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {str: "a string", int: "an integer", float: "a number", dict: "an object",
            list: "a list"}.get(type(value), type(value).__name__)


def _check(value, kind, where: str, nullable: bool = False):
    if value is None and nullable:
        return None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise _Bad(where, f"must be {_NAMES[kind]}{' or null' if nullable else ''}, got {_kind(value)}")
    return value


def _field(obj: dict, key: str, kind, where: str, nullable: bool = False, default=...):
    if key not in obj:
        if default is not ...:
            return default
        raise _Bad(f"{where}.{key}" if where else key, "missing")
    return _check(obj[key], kind, f"{where}.{key}" if where else key, nullable)


def _parse(value) -> Manifest:
    _check(value, dict, "")
    if "version" not in value:
        raise _Bad("", f"no version: written by an older build; rebuild (doit) to get version "
                       f"{MANIFEST_VERSION}")
    version = value["version"]
    if version != MANIFEST_VERSION or isinstance(version, bool):
        raise _Bad("version", f"is {version!r}, this code reads version {MANIFEST_VERSION}; "
                              f"rebuild (doit) with this code")
    decorations: dict = {}   # one Decoration per distinct JSON form (most files share a few)
    images = {tag: _image(tag, image, f"images.{tag}", decorations)
              for tag, image in _field(value, "images", dict, "").items()}
    owners = _owners(_field(value, "owners", dict, ""), images)
    negotiate = _field(value, "negotiate_format", bool, "", default=False)
    legacy_links = _field(value, "legacy_links", bool, "", default=False)
    podcast = _podcast(_field(value, "podcast", dict, "", default={}))
    failed = []
    for i, entry in enumerate(_field(value, "failed", list, "", default=[])):
        where = f"failed[{i}]"
        _check(entry, dict, where)
        failed.append(FailedSource(_field(entry, "source", str, where), _field(entry, "error", str, where)))
    ids = _ids(_field(value, "ids", dict, "", default={}), owners)
    names = _field(value, "names", dict, "", default={})
    for collection, by_name in names.items():
        if collection not in NAMED_COLLECTIONS:
            raise _Bad(f"names.{collection}", f"not a named-item collection ({', '.join(NAMED_COLLECTIONS)})")
        for key, owner_id in _check(by_name, dict, f"names.{collection}").items():
            if _check(owner_id, str, f"names.{collection}.{key}") not in owners["Items"]:
                raise _Bad(f"names.{collection}.{key}", f"{owner_id!r} is not in owners.Items")
    return Manifest(images, owners, negotiate, podcast, tuple(failed), ids, names, legacy_links)


def _ids(ids: dict, owners: dict) -> dict:
    for kind, by_guid in ids.items():
        if kind not in OWNER_KINDS:
            raise _Bad(f"ids.{kind}", f"not an owner kind ({', '.join(OWNER_KINDS)})")
        for guid, owner_id in _check(by_guid, dict, f"ids.{kind}").items():
            if len(guid) != 32 or set(guid) - set("0123456789abcdef"):
                raise _Bad(f"ids.{kind}.{guid}", "not a GUID of 32 lowercase hex digits")
            if _check(owner_id, str, f"ids.{kind}.{guid}") not in owners[kind]:
                raise _Bad(f"ids.{kind}.{guid}", f"{owner_id!r} is not in owners.{kind}")
    return ids


def _image(tag: str, image, where: str, decorations: dict) -> ImageEntry:
    _check(image, dict, where)
    files = tuple(_file(d, where, i, decorations)
                  for i, d in enumerate(_field(image, "derivatives", list, where)))
    entry = ImageEntry(tag, _field(image, "type", str, where), _field(image, "source", str, where, default=""),
                       _field(image, "width", int, where), _field(image, "height", int, where),
                       _format(image, where), _field(image, "quality", int, where), files)
    if entry.width < 1 or entry.height < 1:
        raise _Bad(where, f"size must be positive, got {entry.width}x{entry.height}")
    return entry


def _format(obj: dict, where: str) -> str:
    fmt = _field(obj, "format", str, where)
    if fmt not in FORMATS:
        raise _Bad(f"{where}.format", f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return fmt


_ABSENT = object()
_PLAIN = Decoration()


def _file(d, image_where: str, i: int, decorations: dict) -> FileEntry:
    """One derivative record. The common, well-formed case is checked in one expression (a
    manifest has ~30 records per image); anything else goes through ``_checked_file``, which
    names the field that is wrong."""
    try:
        file, width, height, fmt, quality, size = (d["file"], d["width"], d["height"], d["format"],
                                                   d["quality"], d["bytes"])
        original, keeps, raw = d.get("original", False), d.get("keeps_aspect", True), d.get("decoration", _ABSENT)
    except (KeyError, TypeError, AttributeError):
        return _checked_file(d, f"{image_where}.derivatives[{i}]")
    if not (type(file) is str and type(width) is int and type(height) is int and type(fmt) is str
            and fmt in FORMATS and (quality is None or type(quality) is int) and type(size) is int
            and type(original) is bool and type(keeps) is bool):
        return _checked_file(d, f"{image_where}.derivatives[{i}]")
    if raw is _ABSENT:
        decoration = _PLAIN
    else:
        try:
            key = tuple(sorted((k, tuple(v) if type(v) is list else v) for k, v in raw.items()))
            decoration = decorations[key]
        except KeyError:
            decoration = decorations[key] = _decoration(raw, f"{image_where}.derivatives[{i}]")
        except (TypeError, AttributeError):   # not an object, or unhashable values
            return _checked_file(d, f"{image_where}.derivatives[{i}]")
    return FileEntry(Derivative(file, width, height, fmt, quality, original, keeps, decoration=decoration), size)


def _decoration(raw, where: str) -> Decoration:
    try:
        return Decoration(**_check(raw, dict, f"{where}.decoration"))
    except (TypeError, ValueError) as exc:
        raise _Bad(f"{where}.decoration", str(exc)) from None


def _checked_file(d, where: str) -> FileEntry:
    _check(d, dict, where)
    decoration = _decoration(d["decoration"], where) if "decoration" in d else _PLAIN
    derivative = Derivative(_field(d, "file", str, where), _field(d, "width", int, where),
                            _field(d, "height", int, where), _format(d, where),
                            _field(d, "quality", int, where, nullable=True),
                            _field(d, "original", bool, where, default=False),
                            _field(d, "keeps_aspect", bool, where, default=True), decoration=decoration)
    return FileEntry(derivative, _field(d, "bytes", int, where))


def _owners(owners: dict, images: dict) -> dict:
    out = {}
    for kind in OWNER_KINDS:
        by_id = _field(owners, kind, dict, "owners")
        for owner_id, slots in by_id.items():
            where = f"owners.{kind}.{owner_id}"
            _check(slots, dict, where)
            for image_type, tags in slots.items():
                if image_type not in IMAGE_TYPES:
                    raise _Bad(f"{where}.{image_type}", "not an ImageType")
                for i, tag in enumerate(_check(tags, list, f"{where}.{image_type}")):
                    if _check(tag, str, f"{where}.{image_type}[{i}]") not in images:
                        raise _Bad(f"{where}.{image_type}[{i}]", f"tag {tag} is not in images")
        out[kind] = by_id
    return out


def _podcast(podcast: dict) -> Podcast:
    images = _field(podcast, "images", dict, "podcast", default={})
    for image_id, resource in images.items():
        _resource(resource, f"podcast.images.{image_id}")
    assets = {}
    for asset_id, asset in _field(podcast, "media_assets", dict, "podcast", default={}).items():
        where = f"podcast.media_assets.{asset_id}"
        _check(asset, dict, where)
        resource = _field(asset, "resource", dict, where)
        attributes = _resource(resource, f"{where}.resource")
        _field(attributes, "content_type", str, f"{where}.resource.attributes")
        _field(attributes, "attachment_id", str, f"{where}.resource.attributes")
        assets[asset_id] = MediaAsset(resource, _field(asset, "file", str, where))
    feeds = _field(podcast, "feeds", dict, "podcast", default={})
    for key, file in feeds.items():
        _check(file, str, f"podcast.feeds.{key}")
    return Podcast(images, assets, feeds)


def _resource(resource, where: str) -> dict:
    _check(resource, dict, where)
    _field(resource, "id", str, where)
    return _field(resource, "attributes", dict, where)

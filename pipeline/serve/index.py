"""The read model of a build: ``manifest.json`` (``outputs.manifest``) loaded into lookups.

Used by serve.py's app (one ``Index`` per manifest version, swapped on change) and by the nginx
generator (``hosting.nginx``), so both answer from the same reading of the same file.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.model import layout
from pipeline.model.formats import FORMATS
from pipeline.model.ids import NAMED_COLLECTIONS, canonical_guid, name_key
from pipeline.outputs import manifest as manifest_file
from pipeline.outputs.manifest import ImageEntry
from pipeline.serve.request import NotFound


class Index:
    """``manifest.json`` of ``output`` loaded into memory.

    ``images``: ``ImageEntry`` by tag; ``owners``: kind → id → {ImageType: [tag…]};
    ``negotiate_format``; ``art19``: ``{"images": {id: resource}, "media_assets": {id:
    resource}}``; ``store``: content-named file → MIME type; ``lower_ids``: kind → lowercase id →
    id; ``manifest``: the file's path and ``mtime_ns`` its modification time when read.
    Raises ``FileNotFoundError`` without a manifest and ``ManifestError`` for a bad one.
    """

    def __init__(self, output: Path):
        self.output = Path(output)
        self.manifest = self.output / layout.MANIFEST
        data, self.mtime_ns = manifest_file.read_stamped(self.output)
        self.data = data
        self.images: dict[str, ImageEntry] = data.images
        self.owners: dict[str, dict[str, dict[str, list[str]]]] = data.owners
        self.negotiate_format: bool = data.negotiate_format
        assets = data.podcast.media_assets
        self.art19 = {"images": data.podcast.images,
                      "media_assets": {i: a.resource for i, a in assets.items()}}
        self.store = {d.file: FORMATS[d.format].mime for image in self.images.values() for d in image.derivatives}
        self.store.update({a.file: a.resource["attributes"]["content_type"] for a in assets.values()})
        self.lower_ids = {kind: {i.lower(): i for i in ids} for kind, ids in self.owners.items()}
        self.guids: dict[str, dict[str, str]] = data.ids     # kind → published GUID → catalog id
        self.names: dict[str, dict[str, str]] = data.names   # Artists … → name key → catalog id

    def owner(self, kind: str, owner_id: str) -> tuple[str, dict[str, list[str]]]:
        """(catalog id, {ImageType: [tag…]}) of an owner named by its published GUID
        (``ids.canonical_guid``: 32 hex digits or dashed, any case) or by its catalog id
        (exactly, else case-insensitively); for a named-image collection (``Artists`` …,
        ``ids.NAMED_COLLECTIONS``) ``owner_id`` is the name, matched by ``ids.name_key``.
        Raises ``NotFound``."""
        if kind in NAMED_COLLECTIONS:    # /Artists/{name}/Images/…: the item of that name
            found = self.names.get(kind, {}).get(name_key(owner_id))
            if found is None:
                raise NotFound(f"no such {NAMED_COLLECTIONS[kind]}: {owner_id}")
            return found, self.owners["Items"][found]
        owners = self.owners.get(kind, {})
        guid = canonical_guid(owner_id)
        if guid is not None and guid in self.guids.get(kind, {}):
            owner_id = self.guids[kind][guid]
        if owner_id not in owners:
            owner_id = self.lower_ids.get(kind, {}).get(owner_id.lower(), owner_id)
        if owner_id not in owners:
            raise NotFound(f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")
        return owner_id, owners[owner_id]

"""Durable edits of ``catalog.yaml``: the write half of the image API changes the catalog, never
the output directly (issue 10, "Nothing lost").

- **Round trip.** The catalog is read and written with ruamel.yaml's round-trip mode, so
  comments, key order, quoting, flow/block style and indentation (guessed from the file) are
  kept; a catalog written by hand stays the hand-written file plus the change.
- **One writer at a time, across processes.** ``CatalogEditor.locked()`` holds an exclusive
  ``fcntl.flock`` on ``.{catalog name}.lock`` beside the catalog (and a thread lock), so the
  worker processes of serve.py, ``doit prune`` and a second serve.py never interleave.
- **Validated, then atomic.** The edited document is written to a temporary file in the same
  folder, flushed with ``fsync``, validated by the same loader the build uses
  (``loader.load_catalog``), and only then renamed over the catalog (the folder is fsynced
  too). An edit that would make the catalog invalid raises ``InvalidEdit`` with the loader's
  ``file:line: field: message`` lines, and the catalog is untouched.
- **Uploads are content-addressed** under ``media/uploads/{sha256}.{ext}`` beside the catalog,
  written and fsynced before the catalog names them, inside the same lock (so ``prune_uploads``
  never removes a file an edit is about to reference).

Image-list operations follow Jellyfin's ``BaseItem``: an upload without an index appends to a
multi-image type (Backdrop, Screenshot, Chapter) and replaces a single one; ``swap_images`` is
``BaseItem.SwapImagesAsync`` (the two images change places, the others stay).
"""

import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from pipeline.catalog.loader import load_catalog
from pipeline.errors import CatalogError, CatalogErrors
from pipeline.model.imagetypes import MULTI_IMAGE_TYPES
from pipeline.store.atomic import TEMP_MARK, is_temporary, temp_name

#: Where uploads are stored, relative to the catalog's folder.
UPLOADS_DIR = "media/uploads"
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|gif|webp)$")


class EditError(Exception):
    """An edit that cannot be made; ``status`` is the HTTP status the write route answers."""

    status = 400


class UnknownOwner(EditError, LookupError):
    """No item or user with that id (404)."""

    status = 404


class UnknownImage(EditError, LookupError):
    """The owner has no image of that type at that index (404)."""

    status = 404


class BadIndex(EditError, ValueError):
    """An index out of range, or an index on a single-image type (400)."""


class InvalidEdit(EditError):
    """The edited catalog would not load; ``errors`` are the loader's ``CatalogError`` list,
    naming the real catalog file (400)."""

    def __init__(self, errors: list[CatalogError]):
        self.errors = errors
        super().__init__("the edit would make the catalog invalid:\n" + "\n".join(str(e) for e in errors))


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file) to disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``: temporary file in the same folder, fsync, rename, fsync of the
    folder. A reader sees the old or the new file, and after return the new one survives a
    crash or power loss."""
    temp = temp_name(path, per_thread=True)
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _mapping_indent(text: str) -> int | None:
    """Indentation of the first nested block mapping (spaces), or None when there is none."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in zip(lines, lines[1:]):
        key = re.match(r"^(\s*)(?:- )?[^\s#\-\[{][^:#]*:\s*(?:#.*)?$", line)
        if key is None:
            continue
        base = len(line) - len(line.lstrip()) + (2 if line.lstrip().startswith("- ") else 0)
        inner = len(following) - len(following.lstrip())
        if inner > base and not following.lstrip().startswith("- "):
            return inner - base
    return None


def _sequence_indent(text: str) -> tuple[int, int] | None:
    """(sequence indent, dash offset) of the first block sequence under a mapping key, read
    from the lines (``items:`` then ``  - id: a`` is (4, 2)); None when there is none."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line, following in zip(lines, lines[1:]):
        if not re.match(r"^\s*(?:- )?[^\s#\-\[{][^:#]*:\s*(?:#.*)?$", line):
            continue
        dash = re.match(r"^(\s*)-(\s+)\S", following)
        if dash is None:
            continue
        base = len(line) - len(line.lstrip()) + (2 if line.lstrip().startswith("- ") else 0)
        offset = len(dash.group(1)) - base
        if offset >= 0:
            return offset + 1 + len(dash.group(2)), offset
    return None


def yaml_for(text: str) -> YAML:
    """A round-trip ``YAML`` set up to write ``text``'s own style (indents, long lines kept).
    The indents are read from the lines, not by parsing (a round-trip parse is the slow part
    of an edit)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.brace_single_entry_mapping_in_flow_sequence = True   # keep [{maxWidth: 160}] as written
    mapping = _mapping_indent(text) or 2
    sequence, offset = _sequence_indent(text) or (mapping, 0)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _comment(container, key):
    """The comment token that follows ``container[key]`` (ruamel keeps a mapping's at index 2 of
    ``ca.items[key]`` and a sequence's at index 0), with its slot setter; or (None, None)."""
    slot = 2 if isinstance(container, CommentedMap) else 0
    entry = container.ca.items.get(key)
    if entry is None or len(entry) <= slot or entry[slot] is None:
        return None, None

    def setter(token):
        entry[slot] = token
    return entry[slot], setter


def _last_leaf(container):
    """(container, key) of the innermost last entry of a block collection: where ruamel hangs
    the blank lines and comments that follow the collection."""
    while True:
        if not container:
            return None
        key = next(reversed(container)) if isinstance(container, CommentedMap) else len(container) - 1
        value = container[key]
        if isinstance(value, (CommentedMap, CommentedSeq)) and value and not value.fa.flow_style():
            container = value
            continue
        return container, key


def _split_trailing(container) -> str:
    """Detach what follows the last entry's own line (blank lines, comments about the next
    entry) and return it, leaving the entry's end-of-line comment in place."""
    leaf = _last_leaf(container)
    if leaf is None:
        return ""
    token, setter = _comment(*leaf)
    if token is None:
        return ""
    first, _, rest = token.value.partition("\n")
    if not rest:
        return ""
    if first.strip():
        token.value = first + "\n"
    else:
        setter(None)
    return rest


def _attach_trailing(container, rest: str) -> None:
    """Hang ``rest`` (from ``_split_trailing``) after the new last entry of ``container``."""
    if not rest:
        return
    leaf = _last_leaf(container)
    if leaf is None:
        return
    parent, key = leaf
    token, setter = _comment(parent, key)
    if token is not None:
        token.value = token.value.rstrip("\n") + "\n" + rest
        return
    token = CommentToken("\n" + rest, start_mark=CommentMark(0))
    if isinstance(parent, CommentedMap):
        parent.ca.items.setdefault(key, [None, None, None, None])[2] = token
    else:
        parent.ca.items.setdefault(key, [None, None, None, None])[0] = token


def _append_key(mapping: CommentedMap, key: str, value: Any) -> None:
    """``mapping[key] = value`` for a new last key, placed before the blank lines that ended
    the mapping (ruamel would otherwise put it after them, in the next entry's spacing)."""
    rest = _split_trailing(mapping)
    mapping[key] = value
    _attach_trailing(mapping, rest)


def _delete_key(mapping: CommentedMap, key: str) -> None:
    """``del mapping[key]``, keeping the blank lines that followed it when it was last."""
    last = next(reversed(mapping)) == key
    rest = _split_trailing(mapping) if last else ""
    del mapping[key]
    if last:
        _attach_trailing(mapping, rest)


def find_owner(doc: Any, kind: str, owner_id: str) -> CommentedMap:
    """The catalog entry of an item (``kind="Items"``) or user (``"Users"``): ids match exactly,
    else case-insensitively (as serve.py's reads do). Raises ``UnknownOwner``."""
    entries = doc.get("items" if kind == "Items" else "users") if isinstance(doc, dict) else None
    entries = entries if isinstance(entries, list) else []
    candidates = [e for e in entries if isinstance(e, dict) and "id" in e]
    for entry in candidates:
        if str(entry["id"]) == owner_id:
            return entry
    for entry in candidates:
        if str(entry["id"]).lower() == owner_id.lower():
            return entry
    raise UnknownOwner(f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")


def _images(owner: CommentedMap, create: bool) -> CommentedMap | None:
    images = owner.get("images")
    if images is None and create:
        images = CommentedMap()
        images.fa.set_flow_style()
        _append_key(owner, "images", images)
    if images is not None and not isinstance(images, dict):
        raise EditError(f"images of {owner.get('id')} is not a mapping")
    return images


def image_list(owner: CommentedMap, image_type: str) -> list[str]:
    """The owner's sources of ``image_type`` as a list (empty when none)."""
    images = owner.get("images") or {}
    value = images.get(image_type) if isinstance(images, dict) else None
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def set_image(owner: CommentedMap, image_type: str, index: int | None, relpath: str) -> int:
    """Put ``relpath`` in the owner's ``image_type`` slot and return the index it got.

    Single-image types: replaced (``index`` must be None or 0). Multi-image types: ``index``
    None or equal to the list's length appends (Jellyfin's ``ImageSaver``: a new backdrop),
    a smaller one replaces that entry. Raises ``BadIndex`` past the end."""
    images = _images(owner, create=True)
    if image_type not in MULTI_IMAGE_TYPES:
        if index not in (None, 0):
            raise BadIndex(f"{image_type} holds one image: index must be 0, got {index}")
        if image_type in images:
            images[image_type] = relpath
        else:
            _append_key(images, image_type, relpath)
        return 0
    current = images.get(image_type)
    if current is None:
        if index not in (None, 0):
            raise BadIndex(f"no {image_type} images yet: index must be 0, got {index}")
        seq = CommentedSeq([relpath])
        seq.fa.set_flow_style()
        _append_key(images, image_type, seq)
        return 0
    if not isinstance(current, list):       # a lone path written for a list type
        current = images[image_type] = CommentedSeq([current])
        current.fa.set_flow_style()
    if index is None or index == len(current):
        current.append(relpath)
        return len(current) - 1
    if index > len(current):
        raise BadIndex(f"{image_type} index {index} is past the end (the item has {len(current)})")
    current[index] = relpath
    return index


def delete_image(owner: CommentedMap, image_type: str, index: int) -> str:
    """Remove the owner's ``image_type`` image at ``index`` (the later ones move down, as
    Jellyfin's ``RemoveImage`` leaves them); return its path. Raises ``UnknownImage``."""
    images = _images(owner, create=False)
    current = images.get(image_type) if images is not None else None
    if current is None:
        raise UnknownImage(f"{owner.get('id')} has no {image_type} image")
    if not isinstance(current, list):
        if index != 0:
            raise UnknownImage(f"{owner.get('id')} has no {image_type} image at index {index}")
        _delete_key(images, image_type)
        return str(current)
    if index >= len(current):
        raise UnknownImage(f"{owner.get('id')} has no {image_type} image at index {index}")
    removed = current.pop(index)
    if not current:
        _delete_key(images, image_type)
    return str(removed)


def swap_images(owner: CommentedMap, image_type: str, index: int, new_index: int) -> None:
    """Jellyfin's ``UpdateItemImageIndex`` (``BaseItem.SwapImagesAsync``): the images at
    ``index`` and ``new_index`` change places. Only multi-image types; raises ``BadIndex`` for
    another type or an index out of range."""
    if image_type not in MULTI_IMAGE_TYPES:
        raise BadIndex(f"the index of a {image_type} image cannot change: only "
                       f"{', '.join(sorted(MULTI_IMAGE_TYPES))} hold several images")
    images = _images(owner, create=False)
    current = images.get(image_type) if images is not None else None
    count = len(current) if isinstance(current, list) else (0 if current is None else 1)
    for name, value in (("imageIndex", index), ("newIndex", new_index)):
        if not 0 <= value < count:
            raise BadIndex(f"{name} {value} is out of range: the item has {count} {image_type} image(s)")
    if index != new_index:
        current[index], current[new_index] = current[new_index], current[index]


class CatalogEditor:
    """Edits one catalog file durably (see the module doc). Safe to share between threads."""

    def __init__(self, catalog_path: str | Path):
        self.path = Path(catalog_path).resolve()
        self.root = self.path.parent
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self._thread_lock = threading.Lock()
        self._kept: tuple | None = None    # (file stamp, document, YAML) of the last write

    @contextmanager
    def locked(self):
        """Hold the catalog's lock (threads of this process and every other process)."""
        with self._thread_lock:
            with open(self.lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> tuple[Any, YAML]:
        """The catalog as a round-trip document and the ``YAML`` that writes it back."""
        text = self.path.read_text(encoding="utf-8")
        yaml = yaml_for(text)
        return yaml.load(text), yaml

    def edit(self, change: Callable[[Any], Any], upload: tuple[bytes, str] | None = None) -> Any:
        """Apply ``change(document)`` under the lock and replace the catalog with the result,
        validated and durable; return what ``change`` returned.

        ``upload``: (bytes, extension) stored first with ``store_upload``; ``change`` is then
        called as ``change(document, relpath)``. Raises what ``change`` raises (nothing is
        written) and ``InvalidEdit`` when the result does not load.

        The document this editor last wrote is kept and reused while the file on disk is still
        that one (same inode, size and mtime): a round-trip parse is the slow part of an edit."""
        with self.locked():
            kept, self._kept = self._kept, None
            stamp = self._stamp()
            if kept is not None and kept[0] == stamp:
                doc, yaml = kept[1], kept[2]
            else:
                doc, yaml = self.read()
            if upload is not None:
                relpath = self.store_upload(*upload)
                result = change(doc, relpath)
            else:
                result = change(doc)
            out = StringIO()
            yaml.dump(doc, out)
            self._replace_validated(out.getvalue().encode("utf-8"))
            self._kept = (self._stamp(), doc, yaml)
            return result

    def _stamp(self) -> tuple:
        st = self.path.stat()
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _replace_validated(self, data: bytes) -> None:
        temp = temp_name(self.path, per_thread=True)
        try:
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                load_catalog(temp)
            except CatalogErrors as exc:
                raise InvalidEdit([CatalogError(self.path, e.line, e.field, e.message) for e in exc.errors]) from None
            os.replace(temp, self.path)
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(self.root)

    def store_upload(self, data: bytes, extension: str) -> str:
        """Store image bytes as ``media/uploads/{sha256}.{extension}`` (fsynced; kept as is when
        already there) and return that path relative to the catalog's folder."""
        name = f"{hashlib.sha256(data).hexdigest()}.{extension}"
        folder = self.root / UPLOADS_DIR
        path = folder / name
        if not (path.is_file() and path.stat().st_size == len(data)):
            folder.mkdir(parents=True, exist_ok=True)
            durable_write(path, data)
        return f"{UPLOADS_DIR}/{name}"

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary catalogs and uploads a killed process left (under the lock)."""
        removed = []
        with self.locked():
            for folder, prefix in ((self.root, f".{self.path.name}{TEMP_MARK}"),
                                   (self.root / UPLOADS_DIR, ".")):
                if not folder.is_dir():
                    continue
                for path in folder.iterdir():
                    if path.name.startswith(prefix) and is_temporary(path.name):
                        path.unlink(missing_ok=True)
                        removed.append(path)
        return removed


def prune_uploads(catalog_path: str | Path, dry_run: bool = False) -> list[Path]:
    """Delete files under ``media/uploads/`` (beside the catalog) that no entry of the catalog
    names any more (items, users, podcast images), under the catalog's lock so no upload in
    flight is lost. Returns the deleted paths. Raises ``CatalogErrors`` for an invalid catalog
    (nothing is deleted then)."""
    editor = CatalogEditor(catalog_path)
    folder = editor.root / UPLOADS_DIR
    if not folder.is_dir():
        return []
    deleted = []
    with editor.locked():
        library = load_catalog(editor.path)
        named = {slot.path for owner in library.owners() for slot in owner.slots()}
        named |= {image.path for image in library.podcast_images.values()}
        for path in sorted(folder.iterdir()):
            if path.is_file() and _UPLOAD_NAME.match(path.name) and path.resolve() not in named:
                deleted.append(path)
                if not dry_run:
                    path.unlink()
    return deleted

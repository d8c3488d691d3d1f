"""What the render tasks left on disk, per tag: the render record, each file's size, and the
legacy link targets; cached in ``.cache/tags.json`` so an incremental build does not stat or
select again for tags whose render did not change."""

import json
import os
from pathlib import Path

from pipeline.model import layout
from pipeline.outputs.links import link_targets
from pipeline.plan.planner import SourcePlan
from pipeline.store.atomic import atomic_write_bytes


class TagFacts:
    """Per-tag facts of the *current* render of each tag, read from ``output``.

    ``record(tag)``: the render record ``{"blurhash"}`` or ``{"error"}`` (None when the render
    task never finished). ``for_source(source, links)``: ``{"bytes": {file: size in bytes},
    "record": …}`` and, when ``links`` (settings ``legacy_links``), ``"links": {"Fmt/mw/mh":
    file}``; a file that does not exist is left out.

    A cached entry is used only while the tag's render record is the very file it was read
    with (same ``st_mtime_ns``, ``st_size``, ``st_ino``): a render rewrites the record last by
    atomic rename, so after any re-render (same tag, new bytes) the sizes are read again from the
    files and the manifest never lists stale sizes (issue 13 item 5).

    ``store``: a remote store (``store.s3.S3Store``) holding the renders; then stamps and sizes
    come from its listing and records from ``store.read``, the cache stays under ``output``.
    """

    def __init__(self, output: Path, store=None):
        self.path = output / layout.CACHE_DIR / "tags.json"
        self.output = output
        self.store = store
        try:
            self.facts = json.loads(self.path.read_bytes())
            if not isinstance(self.facts, dict):
                self.facts = {}
        except (OSError, ValueError):
            self.facts = {}
        self.changed = False
        self._stamps: dict[str, list | None] = {}

    def _stamp(self, tag: str) -> list | None:
        if tag not in self._stamps and self.store is not None:
            found = self.store.listing().get(layout.render_record_file(tag))
            self._stamps[tag] = ["store", found[0], found[1]] if found else None
        if tag not in self._stamps:
            try:
                st = os.stat(self.output / layout.render_record_file(tag))
                self._stamps[tag] = [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                self._stamps[tag] = None
        return self._stamps[tag]

    def _known(self, tag: str) -> dict | None:
        known = self.facts.get(tag)
        stamp = self._stamp(tag)
        if isinstance(known, dict) and stamp is not None and known.get("stamp") == stamp:
            return known
        return None

    def record(self, tag: str) -> dict | None:
        """The render record of ``tag`` (see the class doc)."""
        known = self._known(tag)
        if known is not None and isinstance(known.get("record"), dict):
            return known["record"]
        if self._stamp(tag) is None:
            return None
        try:
            relpath = layout.render_record_file(tag)
            data = (self.store.read(relpath) if self.store is not None
                    else (self.output / relpath).read_bytes())
            record = json.loads(data)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def for_source(self, source: SourcePlan, links: bool = False) -> dict:
        """The facts of ``source``'s tag (see the class doc); complete facts of a successful
        render are cached. ``links``: include the legacy link targets (``links.link_targets``,
        a ``selection.select`` per legacy request: skipped unless the links are written)."""
        known = self._known(source.tag)
        if known is not None and len(known.get("bytes", ())) == len(source.derivatives):
            if links and "links" not in known:
                known["links"] = link_targets(source)
                self.changed = True
            return known
        stamp = self._stamp(source.tag)
        record = self.record(source.tag)
        sizes = {}
        for d in source.derivatives:
            size = self.size(d.file)
            if size is not None:
                sizes[d.file] = size   # else its render failed: left out, and not cached
        facts = {"bytes": sizes, "record": record, "stamp": stamp}
        if links:
            facts["links"] = link_targets(source)
        if len(sizes) == len(source.derivatives) and record and not record.get("error"):
            self.facts[source.tag] = facts
            self.changed = True
        return facts

    def size(self, relpath: str) -> int | None:
        """Size in bytes of the rendered file ``relpath``, None when it does not exist."""
        if self.store is not None:
            return self.store.size(relpath)
        try:
            return os.stat(f"{self.output}/{relpath}").st_size
        except OSError:
            return None

    def save(self, live_tags) -> None:
        """Write the cache back, keeping only ``live_tags``."""
        live = {t: self.facts[t] for t in live_tags if t in self.facts}
        if self.changed or len(live) != len(self.facts):
            atomic_write_bytes(self.path, json.dumps(live, separators=(",", ":")).encode())

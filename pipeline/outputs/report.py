"""The build report: ``output/index.html``, a page people can open from disk or from any host.

Written by ``doit report`` after ``objects`` from ``manifest.json`` (read with ``outputs.manifest``)
and the JSON objects. It shows the build's totals and failures, then every item and user with
its images as small thumbnails (the smallest undecorated derivative of each image, linked
relatively, so the page works as ``file://…/index.html`` and when the folder is served), the
derivatives of each image (size, format, quality, bytes), and the images an item inherits from
its parents (``Parent*`` fields, api-reference §2). No JavaScript framework: one small inline
script counts images that failed to load and shows a warning (``data-broken-images`` on
``<body>``, which the tests read).

Charts (``charts``: bytes by ImageType and format, the ladder's overshoot against client
requests) are inline SVG drawn here, so the page needs no network; the render time per
source, which differs on every build, is drawn on ``.cache/report/render-times.html`` and
linked, so the published pages stay byte-identical for the same inputs. A
library of more than ``PAGE_SIZE`` items and users is split per library section into pages
under ``report/``; ``index.html`` then lists them (a 100,000-item library stays pages of a few
hundred kB instead of one page of hundreds of MB).

A rebuild costs what changed (``write_report``): JSON objects are parsed only when their file
changed (``ObjectFields``, keyed by inode/mtime/size in ``.cache/report/objects.pickle``), a
page's body (its owners' cards, report-body.html.j2) is rendered only when the digest of what it
shows changed (``.cache/report/pages.json``), and only pages whose bytes changed are written
(atomically). At 100,000 items: 12 s for every rebuild before, 1.8 s with nothing changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from markupsafe import Markup

from pipeline.model import layout
from pipeline.model.decoration import Decoration
from pipeline.outputs import manifest
from pipeline.outputs.manifest import OWNER_KINDS, ImageEntry
from pipeline.store.atomic import atomic_write_bytes
from pipeline.templating import environment
from pipeline.model.imagetypes import IMAGE_TYPES

TEMPLATES = Path(__file__).parent / "templates"
TYPE_ORDER = {t: i for i, t in enumerate(IMAGE_TYPES)}
REPORT_FILE = layout.REPORT

#: (field holding the tag(s), field holding the parent id, ImageType) of inherited images.
INHERITED_FIELDS = (
    ("ParentPrimaryImageTag", "ParentPrimaryImageItemId", "Primary"),
    ("SeriesPrimaryImageTag", None, "Primary"),
    ("AlbumPrimaryImageTag", None, "Primary"),
    ("ParentBackdropImageTags", "ParentBackdropItemId", "Backdrop"),
    ("ParentLogoImageTag", "ParentLogoItemId", "Logo"),
    ("ParentArtImageTag", "ParentArtItemId", "Art"),
    ("ParentThumbImageTag", "ParentThumbItemId", "Thumb"),
    ("SeriesThumbImageTag", None, "Thumb"),
)


@dataclass(frozen=True)
class ImageView:
    """One image as the report shows it: ``tag``, ``image_type``, ``index``, ``source`` path,
    upright ``width``/``height`` (pixels), source ``format``, ``thumb`` (relative path of the
    smallest undecorated derivative), ``original`` (relative path of the original copy or the
    largest file), ``derivatives`` (dicts: file, width, height, format, quality, bytes,
    decoration) and their total ``bytes``."""

    tag: str
    image_type: str
    index: int
    source: str
    width: int
    height: int
    format: str
    thumb: str
    original: str
    derivatives: list
    bytes: int


def _image_view(image: ImageEntry, image_type: str, index: int) -> ImageView:
    files = sorted(image.files, key=lambda f: (f.derivative.format, f.derivative.width * f.derivative.height,
                                               f.derivative.quality or 0, f.derivative.decoration.key()))
    plain = [f for f in files if f.derivative.decoration.is_empty()] or files
    # the smallest file, in the source's own format when there is one (keeps transparency)
    own = [f for f in plain if f.derivative.format == image.format] or plain
    thumb = min(own, key=lambda f: (f.derivative.width * f.derivative.height, f.bytes))
    original = next((f for f in files if f.derivative.original),
                    max(plain, key=lambda f: f.derivative.width * f.derivative.height))
    rows = [{"file": f.derivative.file, "width": f.derivative.width, "height": f.derivative.height,
             "format": f.derivative.format, "quality": f.derivative.quality, "bytes": f.bytes,
             "original": f.derivative.original, "decoration": _decoration(f.derivative.decoration)}
            for f in files]
    return ImageView(image.tag, image_type, index, image.source, image.width, image.height,
                     image.format, thumb.derivative.file, original.derivative.file, rows,
                     sum(r["bytes"] for r in rows))


def _decoration(decoration: Decoration) -> str:
    deco = {k: v for k, v in asdict(decoration).items() if v not in (None, False)}
    return ", ".join(f"{k}={v}" for k, v in sorted(deco.items()))


#: Owners per page: a library up to this size is one page (``index.html``); a larger one is
#: split by library section into ``report/{section}-{n}.html`` pages of this many owners, and
#: ``index.html`` keeps the totals, failures, charts and the list of pages.
PAGE_SIZE = 250
PAGES_DIR = "report"
TIMING_PAGE = f"{layout.CACHE_DIR}/report/render-times.html"


#: The JSON object fields the report shows: name, type, parent and the inherited images.
OBJECT_FIELDS = ("Name", "Type", "ParentId") + tuple(
    f for field, parent_field, _ in INHERITED_FIELDS for f in (field, parent_field) if f)
#: ``{"version", "objects": {relative object file: ((inode, mtime_ns, ctime_ns, size), fields)}}``.
OBJECTS_CACHE = f"{layout.CACHE_DIR}/report/objects.pickle"
_OBJECTS_CACHE_VERSION = (1, OBJECT_FIELDS)


class ObjectFields:
    """The ``OBJECT_FIELDS`` of each JSON object file (``{}`` when the file is missing).

    With ``cached``, a file is parsed only when its (inode, mtime, ctime, size) differ from
    those recorded in ``OBJECTS_CACHE`` by the last report; the objects step writes an object
    only when its bytes change, and always by rename (a new inode), so an unchanged object is
    a ``stat`` instead of a read and a parse (100,000 objects: about 0.3 s instead of 2 s).
    ``save()`` records what was seen. ``read`` counts the files parsed."""

    def __init__(self, output: Path, cached: bool):
        self.output, self.cached, self.read = str(output), cached, 0
        self.old: dict = {}
        self.new: dict = {}
        if cached:
            try:
                with open(os.path.join(self.output, OBJECTS_CACHE), "rb") as f:
                    data = pickle.load(f)
                if data["version"] == _OBJECTS_CACHE_VERSION:
                    self.old = data["objects"]
            except Exception:          # absent, truncated or from other code: read every file
                self.old = {}

    def get(self, rel: str) -> dict:
        path = os.path.join(self.output, rel)
        try:
            st = os.stat(path)
        except OSError:
            return {}
        if not stat.S_ISREG(st.st_mode):
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        hit = self.old.get(rel)
        if hit is not None and hit[0] == key:
            fields = hit[1]
        else:
            with open(path, "rb") as f:
                obj = json.loads(f.read())
            fields = {k: obj[k] for k in OBJECT_FIELDS if k in obj}
            self.read += 1
        if self.cached:
            self.new[rel] = (key, fields)
        return fields

    def save(self) -> None:
        if self.cached and (self.read or self.new.keys() != self.old.keys()):
            atomic_write_bytes(Path(self.output) / OBJECTS_CACHE, pickle.dumps(
                {"version": _OBJECTS_CACHE_VERSION, "objects": self.new}, protocol=pickle.HIGHEST_PROTOCOL))


def report_context(output: str | Path, page_size: int = PAGE_SIZE, cached: bool = False) -> dict:
    """Everything the pages show, from ``output``'s manifest and JSON objects.

    Keys: ``owners`` (list of dicts: kind, id, name, type, parent, section, images [ImageView],
    inherited [dicts: field, parent, image_type, image ImageView]), ``totals`` (n_items, n_users,
    n_images, n_files, bytes), ``failed`` (dicts: source, error), ``charts`` (``charts.Chart``
    list), ``pages`` (dicts: file, section, number, of, owners; empty when every owner fits on
    ``index.html``). Sections: the library section (the top ``CollectionFolder`` an item is
    under, as ``doit scan`` writes them), else ``Items``; ``Users``. Raises FileNotFoundError
    without a manifest, ``ManifestError`` for a bad one.
    """
    from pipeline.outputs.charts import charts, timing_chart
    output = Path(output)
    data = manifest.read(output)
    images = data.images
    owner_of_tag: dict[str, str] = {}
    for owner_id, slots in data.owners["Items"].items():
        for tags in slots.values():
            for tag in tags:
                owner_of_tag.setdefault(tag, owner_id)
    views: dict[tuple, ImageView] = {}

    def view(tag: str, image_type: str, index: int) -> ImageView:
        key = (tag, image_type, index)
        if key not in views:
            views[key] = _image_view(images[tag], image_type, index)
        return views[key]

    owners = []
    catalog_id = data.ids.get("Items", {}).get      # published GUID → catalog id
    objects = ObjectFields(output, cached)
    for kind in OWNER_KINDS:
        for owner_id, slots in data.owners[kind].items():
            obj = objects.get(layout.object_file(kind, owner_id))
            types = [t for t in slots if t in TYPE_ORDER]      # in Jellyfin's ImageType order
            if len(types) > 1:
                types.sort(key=TYPE_ORDER.__getitem__)
            own = [view(tag, image_type, index) for image_type in types
                   for index, tag in enumerate(slots[image_type])]
            inherited = []
            for field, parent_field, image_type in INHERITED_FIELDS:
                value = obj.get(field)
                for index, tag in enumerate(value if isinstance(value, list) else [value] if value else []):
                    if tag in images:
                        parent = catalog_id(obj.get(parent_field)) if parent_field else owner_of_tag.get(tag)
                        inherited.append({"field": field, "parent": parent, "image_type": image_type,
                                          "image": view(tag, image_type, index)})
            owners.append({"kind": kind, "id": owner_id, "name": obj.get("Name", owner_id),
                           "type": obj.get("Type", "User" if kind == "Users" else ""),
                           "parent": catalog_id(obj.get("ParentId")), "object": layout.object_file(kind, owner_id),
                           "images": own, "inherited": inherited})
    objects.save()
    _assign_sections(owners)
    totals = {
        "n_items": len(data.owners["Items"]),
        "n_users": len(data.owners["Users"]),
        "n_images": len(images),
        "n_files": sum(len(i.files) for i in images.values()),
        "bytes": sum(f.bytes for i in images.values() for f in i.files),
    }
    pages = []
    if len(owners) > page_size:
        by_section: dict[str, list] = {}
        for o in owners:
            by_section.setdefault(o["section"], []).append(o)
        for section, members in by_section.items():
            slug = re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "section"
            chunks = [members[i:i + page_size] for i in range(0, len(members), page_size)]
            for number, chunk in enumerate(chunks, 1):
                pages.append({"file": f"{PAGES_DIR}/{slug}-{number}.html", "section": section,
                              "number": number, "of": len(chunks), "owners": chunk})
        for i, page in enumerate(pages):    # several sections may share a slug: keep files apart
            if any(p["file"] == page["file"] for p in pages[:i]):
                page["file"] = page["file"].replace(".html", f"-{i}.html")
    return {"owners": owners, "totals": totals, "failed": [asdict(f) for f in data.failed],
            "charts": charts(data), "timing": timing_chart(output, data), "pages": pages}


def _assign_sections(owners: list[dict]):
    """Set each owner's ``section`` (see ``report_context``)."""
    by_id = {o["id"]: o for o in owners if o["kind"] == "Items"}
    for o in owners:
        if o["kind"] == "Users":
            o["section"] = "Users"
            continue
        root, seen = o, {o["id"]}
        while root["parent"] in by_id and root["parent"] not in seen:
            seen.add(root["parent"])
            root = by_id[root["parent"]]
        o["section"] = root["name"] if root["type"] == "CollectionFolder" else "Items"


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _environment():
    return environment(TEMPLATES, escape=True, filters={"size": _megabytes})


def _pages(ctx: dict):
    """Each page of the report as ``(relative file, values of report.html.j2, values of
    report-body.html.j2)``: ``index.html`` first, then the pages of a large library."""
    page_of = {}
    for page in ctx["pages"]:
        for o in page["owners"]:
            page_of[(o["kind"], o["id"])] = page["file"]

    def linker(current: str):
        base = "../" if "/" in current else ""

        def href(kind: str, owner_id: str | None) -> str:
            target = page_of.get((kind, owner_id), REPORT_FILE if not ctx["pages"] else None)
            anchor = f"#{kind}-{owner_id}"
            if target is None or target == current:
                return anchor
            return (target.rsplit("/", 1)[1] if base and "/" in target else base + target) + anchor
        return base, href

    base, href = linker(REPORT_FILE)
    owners = ctx["owners"] if not ctx["pages"] else []
    yield (REPORT_FILE, dict(ctx, base=base, href=href, page=None, timing_page=TIMING_PAGE),
           {"shown": owners, "base": base, "href": href})
    for i, page in enumerate(ctx["pages"]):
        base, href = linker(page["file"])
        yield (page["file"],
               dict(ctx, base=base, href=href, page=page,
                    previous=ctx["pages"][i - 1]["file"].rsplit("/", 1)[1] if i else None,
                    next=ctx["pages"][i + 1]["file"].rsplit("/", 1)[1] if i + 1 < len(ctx["pages"]) else None),
               {"shown": page["owners"], "base": base, "href": href})


class _Templates:
    """The page frame (report.html.j2: title, totals, failures, charts, list of pages, script)
    and the page body (report-body.html.j2: the owners' sections), rendered apart: a page is
    ``head + body + tail``, where ``head`` and ``tail`` are the frame around a unique mark."""

    def __init__(self):
        env = _environment()
        self.frame = env.get_template("report.html.j2")
        self.body = env.get_template("report-body.html.j2")
        self.mark = f"\x00{os.urandom(8).hex()}\x00"

    def head_and_tail(self, values: dict) -> tuple[str, str]:
        head, tail = self.frame.render(**values, body=Markup(self.mark)).split(self.mark)
        return head, tail

    def page(self, values: dict, body_values: dict) -> str:
        head, tail = self.head_and_tail(values)
        return head + self.body.render(**body_values) + tail


def _render_pages(ctx: dict) -> dict[str, str]:
    """{relative file: HTML} of the report: ``index.html`` and, for a large library, its pages."""
    templates = _Templates()
    return {rel: templates.page(values, body_values) for rel, values, body_values in _pages(ctx)}


def render_report(output: str | Path) -> str:
    """The HTML text of ``index.html`` for ``output`` (see ``report_context``)."""
    return _render_pages(report_context(output))[REPORT_FILE]


#: What the last ``write_report`` wrote: ``{"code": digest, "pages": {file: {"key", "stat",
#: "start", "end"}}}`` (see ``write_report``).
PAGES_CACHE = f"{layout.CACHE_DIR}/report/pages.json"


def _code_digest() -> str:
    """SHA-256 of this module and both templates: a page body is reused only from the same code."""
    digest = hashlib.sha256()
    for path in (Path(__file__), TEMPLATES / "report.html.j2", TEMPLATES / "report-body.html.j2"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _body_key(body_values: dict) -> str:
    """A digest of everything a page body shows: its owners (names, ids, parents, image views)
    and where each of their links points. Pickled without memo (``fast``), so the bytes depend
    on the values alone, not on which equal objects happen to be shared."""
    href = body_values["href"]
    links = []
    for o in body_values["shown"]:
        links.append(href("Items", o["parent"]) if o["parent"] else None)
        links.extend(href("Items", inh["parent"] or "") for inh in o["inherited"])
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump((body_values["base"], body_values["shown"], links))
    return hashlib.blake2b(buffer.getvalue(), digest_size=20).hexdigest()


def _stat_key(path: Path) -> list:
    st = path.stat()
    return [st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size]


def write_report(output: str | Path, page_size: int = PAGE_SIZE) -> dict:
    """Write ``output/index.html`` (and, for more than ``page_size`` owners, the pages under
    ``output/report/``); removes pages of an earlier, larger report. Returns doit values
    ``{"bytes": n, "pages": n, "rendered": bodies rendered, "written": files written}``.

    Costs what changed: the JSON objects are read only when their file changed
    (``report_context(cached=True)``); a page's body (its owners' sections, nearly all of its
    bytes and of the rendering time) is rendered only when the digest of what it shows
    (``_body_key``) differs from the one ``PAGES_CACHE`` recorded for that file and the file
    is still the one written then (inode, mtime, ctime, size); otherwise its bytes are taken
    from the page on disk and only the frame (totals, failures, pager) is rendered again.
    A page is written (atomically: ``atomic_write_bytes``) only when its bytes changed, so
    unchanged pages keep their inode and mtime. Pages are the same bytes as a full render
    (``render_report``).
    """
    output = Path(output)
    ctx = report_context(output, page_size, cached=True)
    _write_timing_page(output, ctx["timing"])
    templates = _Templates()
    code = _code_digest()
    try:
        recorded = json.loads((output / PAGES_CACHE).read_bytes())
        previous = recorded["pages"] if recorded.get("code") == code else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        previous = {}
    pages, done = {}, set()
    total = rendered = written = 0
    for rel, values, body_values in _pages(ctx):
        path = output / rel
        key = _body_key(body_values)
        head, tail = (part.encode() for part in templates.head_and_tail(values))
        old, body = None, None
        entry = previous.get(rel)
        if isinstance(entry, dict) and entry.get("key") == key:
            try:
                if _stat_key(path) == entry["stat"]:
                    old = path.read_bytes()
                    body = old[entry["start"]:entry["end"]]
            except (OSError, KeyError, TypeError):
                old = body = None
        if body is None:
            body = templates.body.render(**body_values).encode()
            rendered += 1
        data = head + body + tail
        if old is None:
            try:
                old = path.read_bytes() if path.stat().st_size == len(data) else None
            except OSError:
                old = None
        if data != old:
            atomic_write_bytes(path, data)
            written += 1
        pages[rel] = {"key": key, "stat": _stat_key(path), "start": len(head), "end": len(head) + len(body)}
        done.add(rel)
        total += len(data)
    folder = output / PAGES_DIR
    if folder.is_dir():
        for stale in folder.glob("*.html"):
            if f"{PAGES_DIR}/{stale.name}" not in done:
                stale.unlink()
    atomic_write_bytes(output / PAGES_CACHE, json.dumps({"code": code, "pages": pages}).encode())
    return {"bytes": total, "pages": len(pages), "rendered": rendered, "written": written}


def _write_timing_page(output: Path, chart) -> None:
    """``.cache/report/render-times.html``: the render-time chart (see ``charts``)."""
    template = _environment().from_string(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{{ chart.title }}</title>'
        '<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }</style></head>\n<body>'
        '<p><a href="../../index.html">← build report</a></p><h1>{{ chart.title }}</h1>'
        '<p>Measured on this machine by the render tasks that ran (kept in .cache/, never published).</p>'
        '{{ chart.svg }}{% if chart.note %}<p>{{ chart.note }}</p>{% endif %}</body></html>\n')
    atomic_write_bytes(output / TIMING_PAGE, template.render(chart=chart).encode())


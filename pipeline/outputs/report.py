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
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.model import layout
from pipeline.model.decoration import Decoration
from pipeline.outputs import manifest
from pipeline.outputs.manifest import OWNER_KINDS, ImageEntry
from pipeline.store.atomic import atomic_write_bytes
from pipeline.templating import environment
from pipeline.model.imagetypes import IMAGE_TYPES

TEMPLATES = Path(__file__).parent / "templates"
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


def report_context(output: str | Path, page_size: int = PAGE_SIZE) -> dict:
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
    for kind in OWNER_KINDS:
        for owner_id, slots in data.owners[kind].items():
            obj_path = output / layout.object_file(kind, owner_id)
            obj = json.loads(obj_path.read_text()) if obj_path.is_file() else {}
            own = [view(tag, image_type, index) for image_type in IMAGE_TYPES
                   for index, tag in enumerate(slots.get(image_type, []))]
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


def _render_pages(ctx: dict) -> dict[str, str]:
    """{relative file: HTML} of the report: ``index.html`` and, for a large library, its pages."""
    template = _environment().get_template("report.html.j2")
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

    out = {}
    base, href = linker(REPORT_FILE)
    owners = ctx["owners"] if not ctx["pages"] else []
    out[REPORT_FILE] = template.render(**ctx, shown=owners, base=base, href=href, page=None,
                                       timing_page=TIMING_PAGE)
    for i, page in enumerate(ctx["pages"]):
        base, href = linker(page["file"])
        out[page["file"]] = template.render(
            **ctx, shown=page["owners"], base=base, href=href, page=page,
            previous=ctx["pages"][i - 1]["file"].rsplit("/", 1)[1] if i else None,
            next=ctx["pages"][i + 1]["file"].rsplit("/", 1)[1] if i + 1 < len(ctx["pages"]) else None)
    return out


def render_report(output: str | Path) -> str:
    """The HTML text of ``index.html`` for ``output`` (see ``report_context``)."""
    return _render_pages(report_context(output))[REPORT_FILE]


def write_report(output: str | Path, page_size: int = PAGE_SIZE) -> dict:
    """Write ``output/index.html`` (and, for more than ``page_size`` owners, the pages under
    ``output/report/``) atomically; removes pages of an earlier, larger report. Returns doit
    values ``{"bytes": n, "pages": n}``."""
    output = Path(output)
    ctx = report_context(output, page_size)
    _write_timing_page(output, ctx["timing"])
    pages = _render_pages(ctx)
    for rel, text in pages.items():
        atomic_write_bytes(output / rel, text.encode())
    folder = output / PAGES_DIR
    if folder.is_dir():
        for stale in folder.glob("*.html"):
            if f"{PAGES_DIR}/{stale.name}" not in pages:
                stale.unlink()
    return {"bytes": sum(len(t) for t in pages.values()), "pages": len(pages)}


def _write_timing_page(output: Path, chart) -> None:
    """``.cache/report/render-times.html``: the render-time chart (see ``charts``)."""
    template = _environment().from_string(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{{ chart.title }}</title>'
        '<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }</style></head>\n<body>'
        '<p><a href="../../index.html">← build report</a></p><h1>{{ chart.title }}</h1>'
        '<p>Measured on this machine by the render tasks that ran (kept in .cache/, never published).</p>'
        '{{ chart.svg }}{% if chart.note %}<p>{{ chart.note }}</p>{% endif %}</body></html>\n')
    atomic_write_bytes(output / TIMING_PAGE, template.render(chart=chart).encode())


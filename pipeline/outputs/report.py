"""The build report: ``output/index.html``, a page people can open from disk or from any host.

Written by ``doit report`` after ``objects`` from ``manifest.json`` (read with ``outputs.manifest``)
and the JSON objects. It shows the build's totals and failures, then every item and user with
its images as small thumbnails (the smallest undecorated derivative of each image, linked
relatively, so the page works as ``file://…/index.html`` and when the folder is served), the
derivatives of each image (size, format, quality, bytes), and the images an item inherits from
its parents (``Parent*`` fields, api-reference §2). No JavaScript framework: one small inline
script counts images that failed to load and shows a warning (``data-broken-images`` on
``<body>``, which the tests read).
"""

from __future__ import annotations

import json
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


def report_context(output: str | Path) -> dict:
    """Everything the template shows, from ``output``'s manifest and JSON objects.

    Keys: ``owners`` (list of dicts: kind, id, name, type, parent, images [ImageView],
    inherited [dicts: field, parent, image_type, image ImageView]), ``totals`` (n_items, n_users,
    n_images, n_files, bytes), ``failed`` (dicts: source, error). Raises
    FileNotFoundError without a manifest, ``ManifestError`` for a bad one.
    """
    output = Path(output)
    data = manifest.read(output)
    images = data.images
    owners = []
    catalog_id = data.ids.get("Items", {}).get      # published GUID → catalog id
    for kind in OWNER_KINDS:
        for owner_id, slots in data.owners[kind].items():
            obj_path = output / layout.object_file(kind, owner_id)
            obj = json.loads(obj_path.read_text()) if obj_path.is_file() else {}
            own = []
            for image_type in IMAGE_TYPES:
                for index, tag in enumerate(slots.get(image_type, [])):
                    own.append(_image_view(images[tag], image_type, index))
            inherited = []
            for field, parent_field, image_type in INHERITED_FIELDS:
                value = obj.get(field)
                for index, tag in enumerate(value if isinstance(value, list) else [value] if value else []):
                    if tag in images:
                        parent = catalog_id(obj.get(parent_field)) if parent_field else _owner_of(data, tag)
                        inherited.append({"field": field, "parent": parent, "image_type": image_type,
                                          "image": _image_view(images[tag], image_type, index)})
            owners.append({"kind": kind, "id": owner_id, "name": obj.get("Name", owner_id),
                           "type": obj.get("Type", "User" if kind == "Users" else ""),
                           "parent": catalog_id(obj.get("ParentId")), "object": layout.object_file(kind, owner_id),
                           "images": own, "inherited": inherited})
    totals = {
        "n_items": len(data.owners["Items"]),
        "n_users": len(data.owners["Users"]),
        "n_images": len(images),
        "n_files": sum(len(i.files) for i in images.values()),
        "bytes": sum(f.bytes for i in images.values() for f in i.files),
    }
    return {"owners": owners, "totals": totals, "failed": [asdict(f) for f in data.failed]}


def _owner_of(data: manifest.Manifest, tag: str) -> str | None:
    for owner_id, slots in data.owners["Items"].items():
        if any(tag in tags for tags in slots.values()):
            return owner_id
    return None


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def render_report(output: str | Path) -> str:
    """The report's HTML text for ``output`` (see ``report_context``)."""
    env = environment(TEMPLATES, escape=True, filters={"size": _megabytes})
    return env.get_template("report.html.j2").render(**report_context(output))


def write_report(output: str | Path) -> dict:
    """Write ``output/index.html`` atomically; returns doit values ``{"bytes": n}``."""
    output = Path(output)
    text = render_report(output)
    atomic_write_bytes(output / REPORT_FILE, text.encode())
    return {"bytes": len(text)}


def report_task(output: Path) -> dict:
    """The doit task dict of ``doit report`` (after ``objects``; redone when the manifest,
    this module or the template changes)."""
    def action():
        values = write_report(output)
        print(f"report: wrote {output / REPORT_FILE}")
        return values
    return {
        "doc": "write output/index.html, the build report (thumbnails, derivatives, inheritance)",
        "actions": [action],
        "task_dep": ["objects"],
        "file_dep": [str(output / layout.MANIFEST), __file__, str(TEMPLATES / "report.html.j2")],
        "targets": [str(output / REPORT_FILE)],
        "clean": True,
        "verbosity": 2,
    }

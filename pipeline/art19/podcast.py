"""ART19 podcast artwork: plan, render and describe the media asset styles of each image.

Source: seed 003 and api-reference §5. Each catalog ``podcast_images`` entry is one image with
one media asset per style (``crop.STYLES``):

- ``original``: the uploaded file, byte for byte;
- ``stripped-original``: the same without metadata (``metadata.strip_metadata``; a JPEG's
  pixels are not re-encoded);
- ``regular``: the crop (or the centred square of side min(W, H)) at its own size;
- ``thumb`` 100, ``square-400``, ``-640``, ``-888``, ``itunes`` 1400 (always, upscaled from a
  smaller crop, since Apple requires 1400–3000 px) and ``square-3000`` only when the crop is at
  least 3000×3000.

Rendered styles are RGB (no alpha: transparent pixels over ``podcast.background_color``), sRGB,
in ``podcast.format`` (Jpg or Png). Files live under ``images/{tag}/{style}.{ext}``; the tag is
the MD5 of the source content, the crop and the podcast settings. One doit task per image.
"""

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipeline.model import layout
from pipeline.store import as_store
from pipeline.catalog.loader import Library, PodcastImage
from pipeline.art19.crop import SOURCE_STYLES, crop_box, produced_styles, style_size
from pipeline.imaging.decode import decode
from pipeline.errors import SourceError
from pipeline.model.formats import FORMATS
from pipeline.imaging.metadata import strip_metadata
from pipeline.plan.probe import Probe
from pipeline.imaging.render import Rendered, encode, flatten, read_source, recorded, write_rendered
from pipeline.imaging.resize import Resizer
from pipeline.catalog.settings import PodcastSettings

#: Namespace of the media asset ids: uuid5(namespace, "{image id}/{style}") is stable.
ASSET_NAMESPACE = uuid.UUID("7d1f1d3a-5b8e-4d0e-9a57-3c1d2e6f8a90")


@dataclass(frozen=True)
class Asset:
    """One media asset: ``id`` (UUID), ``style``, ``file`` under the output folder, ``format``
    (API name), ``width``/``height`` in pixels (the upright source size for the two source
    styles)."""

    id: str
    style: str
    file: str
    format: str
    width: int
    height: int


@dataclass(frozen=True)
class PodcastPlan:
    """Everything one podcast render task needs."""

    image: PodcastImage
    tag: str
    probe: Probe
    box: tuple[int, int, int, int]
    settings: PodcastSettings
    assets: tuple[Asset, ...]

    @property
    def relpath(self) -> str:
        return self.image.relpath


def podcast_tag(probe: Probe, image: PodcastImage, settings: PodcastSettings) -> str:
    """MD5 hex of the source content, the crop and the byte-affecting podcast settings."""
    crop = image.crop.as_dict() if image.crop else None
    return hashlib.md5(f"{probe.md5}\n{crop}\n{settings.fingerprint()}".encode()).hexdigest()


def asset_id(image_id: str, style: str) -> str:
    """The stable media asset id of ``style`` of image ``image_id``."""
    return str(uuid.uuid5(ASSET_NAMESPACE, f"{image_id}/{style}"))


def plan_podcast(library: Library, probes: dict[Path, Probe]) -> tuple[dict[str, PodcastPlan], dict[str, str]]:
    """Plan every podcast image: ({image id: PodcastPlan}, {relpath: error} for failed sources)."""
    plans, failed = {}, {}
    settings = library.settings.podcast
    for image in library.podcast_images.values():
        probe = probes[image.path]
        if probe.error:
            failed[image.relpath] = probe.error
            continue
        tag = podcast_tag(probe, image, settings)
        box = crop_box(image.crop, probe.width, probe.height)
        box_w, box_h = box[2] - box[0], box[3] - box[1]
        ext = FORMATS[settings.format].extension
        assets = []
        for style in produced_styles(box_w, box_h):
            if style in SOURCE_STYLES and not probe.native:
                continue  # ART19: "May not be available, depending on … file type"
            if style in SOURCE_STYLES:
                fmt, (w, h) = probe.format, (probe.width, probe.height)
                file = f"{layout.IMAGES_DIR}/{tag}/{style}.{FORMATS[fmt].extension}"
            else:
                fmt, (w, h) = settings.format, style_size(style, box_w, box_h)
                file = f"{layout.IMAGES_DIR}/{tag}/{style}.{ext}"
            assets.append(Asset(asset_id(image.id, style), style, file, fmt, w, h))
        plans[image.id] = PodcastPlan(image, tag, probe, box, settings, tuple(assets))
    return plans, failed


def render_styles(plan: PodcastPlan, data: bytes) -> Rendered:
    """Pure: every style of one podcast image from the source's bytes ``data``, as
    ``(relpath, bytes)`` pairs plus the render record (``{}`` when fine, ``{"error"}`` when the
    source cannot be decoded or stripped; then no file is produced). Touches no file."""
    return recorded(plan.relpath, lambda: (_render_styles(plan, data), None))


def render_podcast(plan: PodcastPlan, store) -> dict:
    """Read the source, ``render_styles`` and write them into ``store`` (a ``Store`` or a
    folder), the render record last; return doit values ``{"files", "bytes"}`` (+ ``"error"``
    when the source cannot be decoded: the objects step then leaves the image out). Raises
    ``SourceError`` when the source changed since planning."""
    data = read_source(plan.image.path, plan.relpath, plan.probe.md5)
    return write_rendered(as_store(store), plan.tag, render_styles(plan, data))


def _render_styles(plan: PodcastPlan, data: bytes) -> list[tuple[str, bytes]]:
    files = []
    resizer = None
    for asset in plan.assets:
        if asset.style == "original":
            payload = data
        elif asset.style == "stripped-original":
            try:
                payload = strip_metadata(data)
            except ValueError as exc:
                raise SourceError(f"cannot strip metadata: {exc}") from None
        else:
            if resizer is None:
                resizer = Resizer(decode(data).crop(plan.box))
            image = resizer.to((asset.width, asset.height), keep=False)   # each style from the crop
            image = flatten(image, plan.settings.background_color)   # styles are RGB, even in Png
            payload = encode(image, asset.format, plan.settings.quality, plan.settings.background_color)
        files.append((asset.file, payload))
    return files


def asset_attributes(plan: PodcastPlan, asset: Asset, file_size: int, base_url: str) -> dict:
    """The ``media_assets`` attributes of one asset (api-reference §5): ``cdn_url`` is
    ``base_url`` + ``/`` + the file's path under the output folder."""
    stem = Path(plan.relpath).stem
    name = Path(plan.relpath).name if asset.style in SOURCE_STYLES else \
        f"{stem}-{asset.style}.{FORMATS[asset.format].extension}"
    return {
        "style": asset.style,
        "cdn_url": f"{base_url}/{asset.file}",
        "content_type": FORMATS[asset.format].mime,
        "file_name": name,
        "file_size": file_size,
        "size_width": asset.width,
        "size_height": asset.height,
    }

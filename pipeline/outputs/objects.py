"""The JSON objects clients read, the legacy path links, and the manifest serve.py loads.

Shapes follow api-reference §2: ``BaseItemDto`` image fields (PascalCase, nulls omitted),
``ImageInfo`` lists, a user object with ``PrimaryImageTag``. Inherited fields come from
``inheritance``. Written after every render task, manifest last, each file atomically.
"""

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

from pipeline.model import layout
from pipeline.store.atomic import atomic_link, atomic_write_bytes, write_if_changed
from pipeline.catalog.loader import Owner
from pipeline.model.formats import ORIGINAL
from pipeline.model.imagetypes import IMAGE_TYPES, MULTI_IMAGE_TYPES
from pipeline.plan.inheritance import inherited_fields
from pipeline.art19.feeds import render_feed_images
from pipeline.art19.jsonapi import image_resource, media_asset_resource, single_document
from pipeline.plan.planner import BuildPlan, SourcePlan, make_plan
from pipeline.art19.podcast import asset_attributes, plan_podcast
from pipeline.serve.selection import select
from pipeline.model.sizing import SizeRequest

MANIFEST_VERSION = 1


def _dumps(obj) -> bytes:
    # compact: json's C encoder (indent= falls back to the pure-Python one, ~10x slower)
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class TagFacts:
    """Per-tag facts that never change once a tag's files are rendered (files are content
    named): each derivative's size in bytes and the legacy link targets. Cached in
    ``.cache/tags.json`` so an incremental build does not stat or select again for unchanged
    tags. ``for_source`` returns ``{"bytes": {file: size}, "links": {"Fmt/mw/mh": file}}``."""

    def __init__(self, output: Path):
        self.path = output / layout.CACHE_DIR / "tags.json"
        self.output = output
        try:
            self.facts = json.loads(self.path.read_bytes())
            if not isinstance(self.facts, dict):
                self.facts = {}
        except (OSError, ValueError):
            self.facts = {}
        self.changed = False

    def record(self, tag: str) -> dict | None:
        """The render record of ``tag`` (``{"blurhash"}`` or ``{"error"}``), None when the render
        task never finished. Successful records are cached."""
        known = self.facts.get(tag)
        if isinstance(known, dict) and isinstance(known.get("record"), dict):
            return known["record"]
        try:
            record = json.loads((self.output / layout.render_record_file(tag)).read_bytes())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def for_source(self, source: SourcePlan) -> dict:
        known = self.facts.get(source.tag)
        if isinstance(known, dict) and len(known.get("bytes", ())) == len(source.derivatives):
            return known
        sizes = {}
        for d in source.derivatives:
            try:
                sizes[d.file] = os.stat(f"{self.output}/{d.file}").st_size
            except OSError:
                continue  # its render failed: left out, and not cached
        links = {}
        for request, fmt in _legacy_requests(source):
            choice = select(list(source.derivatives), source.probe.width, source.probe.height,
                            source.probe.format, request, fmt, None, source.profile.quality)
            links[f"{fmt}/{request.maxWidth or 0}/{request.maxHeight or 0}"] = choice.derivative.file
        record = self.record(source.tag)
        facts = {"bytes": sizes, "links": links, "record": record}
        if len(sizes) == len(source.derivatives) and record and not record.get("error"):
            self.facts[source.tag] = facts
            self.changed = True
        return facts

    def save(self, live_tags) -> None:
        """Write the cache back, keeping only ``live_tags``."""
        live = {t: self.facts[t] for t in live_tags if t in self.facts}
        if self.changed or len(live) != len(self.facts):
            atomic_write_bytes(self.path, json.dumps(live, separators=(",", ":")).encode())


def _aspect_ratio(source: SourcePlan) -> float:
    return source.probe.width / source.probe.height


def item_dto(plan: BuildPlan, item: Owner) -> dict:
    """The image fields of a ``BaseItemDto`` for ``item`` (api-reference §2).

    ``ImageTags`` holds single-image types; ``BackdropImageTags`` (always present) and
    ``ScreenshotImageTags`` the multi ones; chapter images are ``Chapters[].ImageTag``.
    ``ImageBlurHashes`` covers own and inherited images; ``PrimaryImageAspectRatio`` is the
    upright primary width / height.
    """
    dto: dict = {"Id": item.id, "Name": item.name, "Type": item.type}
    if item.parent:
        dto["ParentId"] = item.parent
    tags = {t: plan.tags_of("Items", item.id, t) for t in IMAGE_TYPES}
    dto["ImageTags"] = {t: v[0] for t, v in tags.items() if v and t not in MULTI_IMAGE_TYPES}
    dto["BackdropImageTags"] = tags["Backdrop"]
    if tags["Screenshot"]:
        dto["ScreenshotImageTags"] = tags["Screenshot"]
    if tags["Chapter"]:
        dto["Chapters"] = [{"Name": f"Chapter {i + 1}", "ImageTag": tag}
                           for i, tag in enumerate(tags["Chapter"])]
    inherited = inherited_fields(plan, item)
    blurhashes: dict[str, dict[str, str]] = {}
    for image_type, values in tags.items():
        for tag in values:
            blurhashes.setdefault(image_type, {})[tag] = plan.sources[tag].probe.blurhash
    for name, value in inherited.items():
        if name.endswith("ImageTag") or name.endswith("ImageTags"):
            image_type = _inherited_type(name)
            for tag in value if isinstance(value, list) else [value]:
                blurhashes.setdefault(image_type, {})[tag] = plan.sources[tag].probe.blurhash
    dto["ImageBlurHashes"] = blurhashes
    if tags["Primary"]:
        dto["PrimaryImageAspectRatio"] = _aspect_ratio(plan.sources[tags["Primary"][0]])
    dto.update(inherited)
    return dto


def _inherited_type(field: str) -> str:
    for image_type in ("Primary", "Thumb", "Backdrop", "Logo", "Art"):
        if image_type in field:
            return image_type
    raise ValueError(field)


def image_infos(plan: BuildPlan, owner: Owner) -> list[dict]:
    """The ``ImageInfo`` list of ``GET /Items/{id}/Images``: single types first (``ImageIndex``
    null), then each multi type by index. ``Width``/``Height`` upright pixels, ``Size`` bytes of
    the source file, ``Path`` the catalog path."""
    infos = []
    for multi in (False, True):
        for image_type in IMAGE_TYPES:
            if (image_type in MULTI_IMAGE_TYPES) != multi:
                continue
            for index, tag in enumerate(plan.tags_of(owner.kind, owner.id, image_type)):
                source = plan.sources[tag]
                infos.append({
                    "ImageType": image_type,
                    "ImageIndex": index if multi else None,
                    "ImageTag": tag,
                    "Path": plan.slot_paths.get((owner.kind, owner.id, image_type, index), source.relpath),
                    "BlurHash": source.probe.blurhash,
                    "Width": source.probe.width,
                    "Height": source.probe.height,
                    "Size": source.probe.size,
                })
    return infos


def user_dto(plan: BuildPlan, user: Owner) -> dict:
    """The image fields of a ``UserDto``: ``Id``, ``Name``, ``PrimaryImageTag`` and
    ``PrimaryImageAspectRatio`` when the user has a primary image."""
    dto: dict = {"Id": user.id, "Name": user.name}
    tag = plan.tag_of("Users", user.id, "Primary")
    if tag:
        dto["PrimaryImageTag"] = tag
        dto["PrimaryImageAspectRatio"] = _aspect_ratio(plan.sources[tag])
    return dto


def user_item_dto(plan: BuildPlan, user: Owner, item: Owner) -> dict:
    """``item_dto`` plus the user's ``UserData`` (Jellyfin's ``UserItemDataDto``: ``Played``,
    ``PlayedPercentage``, ``UnplayedItemCount``, ``Key``, ``ItemId``); defaults when the
    catalog has no entry for the pair."""
    dto = item_dto(plan, item)
    data = plan.library.user_data.get((user.id, item.id), {"played": False})
    user_data = {"Played": data["played"]}
    if "playedPercentage" in data:
        user_data["PlayedPercentage"] = data["playedPercentage"]
    if "unplayedItemCount" in data:
        user_data["UnplayedItemCount"] = data["unplayedItemCount"]
    dto["UserData"] = {**user_data, "Key": item.id, "ItemId": item.id}
    return dto


def _legacy_requests(source: SourcePlan) -> list[tuple[SizeRequest, str]]:
    """(size request, format) pairs that get a legacy path link: the no-size request and every
    precomputed max-size request (``maxWidth``/``maxHeight`` only), in ``Original`` and every
    format with undecorated files."""
    requests = [SizeRequest()] + [r for r in source.profile.sizes
                                  if not (r.width or r.height or r.fillWidth or r.fillHeight)]
    formats = [ORIGINAL] + sorted({d.format for d in source.derivatives if d.decoration.is_empty()})
    return [(r, f) for r in requests for f in formats]


def legacy_paths(plan: BuildPlan) -> list[str]:
    """Every legacy path link the build writes (doit targets; no selection needed)."""
    out = []
    for (kind, owner_id, image_type, index), tag in plan.slot_tags.items():
        if kind == "Items":
            for request, fmt in _legacy_requests(plan.sources[tag]):
                out.append(layout.legacy_file(owner_id, image_type, index, tag, fmt,
                                              request.maxWidth, request.maxHeight))
    return out


def legacy_links(plan: BuildPlan, facts: "TagFacts") -> dict[str, str]:
    """Legacy path form → derivative file, for the requests of ``_legacy_requests``. Chosen with
    ``selection.select`` (through ``TagFacts``) so a static host answers exactly what serve.py
    answers."""
    links: dict[str, str] = {}
    for (kind, owner_id, image_type, index), tag in plan.slot_tags.items():
        if kind != "Items":
            continue
        for key, file in facts.for_source(plan.sources[tag])["links"].items():
            fmt, max_width, max_height = key.split("/")
            links[layout.legacy_file(owner_id, image_type, index, tag, fmt,
                                     int(max_width), int(max_height))] = file
    return links


def podcast_documents(plan: BuildPlan, output: Path) -> dict:
    """The ART19 resources (api-reference §5) of every podcast image whose files exist:
    ``{"images": {id: image resource}, "media_assets": {id: {"resource", "file"}},
    "feeds": {"Series/{id}": feed file}}``; feed texts are returned under ``"feed_texts"``."""
    images, assets, feeds, texts = {}, {}, {}, {}
    for image_id, podcast in plan.podcast.items():
        resources = []
        for asset in podcast.assets:
            try:
                size = (output / asset.file).stat().st_size
            except OSError:
                continue
            attributes = asset_attributes(podcast, asset, size, plan.base_url)
            resource = media_asset_resource(asset.id, attachment_id=image_id, **attributes)
            assets[asset.id] = {"resource": resource, "file": asset.file}
            resources.append(resource)
        image = podcast.image
        images[image_id] = image_resource(
            image_id, crop_data=image.crop, created_at=image.created_at, updated_at=image.updated_at,
            bucket_type=image.bucket_type, bucket_id=image.bucket_id,
            media_asset_ids=[r["id"] for r in resources])
        key = f"{image.bucket_type}/{image.bucket_id}"
        if image.bucket_type == "Series" and key not in feeds and any(
                r["attributes"]["style"] in ("itunes", "square-3000") for r in resources):
            feeds[key] = layout.feed_file(image.bucket_type, image.bucket_id)
            texts[feeds[key]] = render_feed_images(image.bucket_type, image.bucket_id, resources)
    return {"images": images, "media_assets": assets, "feeds": feeds, "feed_texts": texts}


def object_files(plan: BuildPlan) -> list[str]:
    """Every file the objects step writes (doit targets), manifest last."""
    lib = plan.library
    files = [layout.object_file("Items", i) for i in lib.items]
    files += [layout.image_infos_file(i) for i in lib.items]
    files += [layout.object_file("Users", u) for u in lib.users]
    files += [layout.user_item_file(u, i) for u in lib.users for i in lib.items]
    files += legacy_paths(plan)
    for image_id, podcast in plan.podcast.items():
        files.append(layout.art19_file("images", image_id))
        files += [layout.art19_file("media_assets", a.id) for a in podcast.assets]
        if podcast.image.bucket_type == "Series":
            files.append(layout.feed_file("Series", podcast.image.bucket_id))
    return list(dict.fromkeys(files)) + [layout.MANIFEST]


def manifest(plan: BuildPlan, podcast: dict, facts: "TagFacts") -> dict:
    """The index serve.py loads: every image (by tag) with its source facts and derivatives
    (``bytes`` from ``facts``; a derivative whose file is missing is left out), the tags of
    every owner's slots, the ``podcast`` documents and the failed sources."""
    images = {}
    for tag, source in plan.sources.items():
        derivatives = []
        sizes = facts.for_source(source)["bytes"]
        for d in source.derivatives:
            size = sizes.get(d.file)
            if size is None:
                continue
            record = {
                "file": d.file, "width": d.width, "height": d.height, "format": d.format,
                "quality": d.quality, "original": d.original, "keeps_aspect": d.keeps_aspect,
                "bytes": size,
            }
            if not d.decoration.is_empty():
                record["decoration"] = {k: v for k, v in asdict(d.decoration).items() if v not in (None, False)}
            derivatives.append(record)
        images[tag] = {
            "type": source.image_type, "source": source.relpath,
            "width": source.probe.width, "height": source.probe.height,
            "format": source.probe.format, "quality": source.profile.quality,
            "derivatives": derivatives,
        }
    owners: dict[str, dict] = {"Items": {}, "Users": {}}
    for owner in plan.library.owners():
        owners[owner.kind][owner.id] = {t: plan.tags_of(owner.kind, owner.id, t)
                                        for t in IMAGE_TYPES if plan.tags_of(owner.kind, owner.id, t)}
    return {"version": MANIFEST_VERSION, "negotiate_format": plan.library.settings.negotiate_format,
            "images": images, "owners": owners,
            "podcast": {k: podcast[k] for k in ("images", "media_assets", "feeds")},
            "failed": [{"source": s, "error": e} for s, e in sorted(plan.failed.items())]}


def apply_render_results(plan: BuildPlan, facts: "TagFacts") -> tuple[BuildPlan, dict[str, str]]:
    """Re-plan with what the render tasks found: each source's BlurHash filled in, and sources
    that could not be decoded (or were never rendered) left out, as if absent, with their
    published indexes renumbered. Returns (new plan, {source path: reason} of those left out)."""
    probes = dict(plan.probes)
    failed: dict[str, str] = {}
    renders = [(s.tag, s.path, s.relpath) for s in plan.sources.values()]
    renders += [(p.tag, p.image.path, p.relpath) for p in plan.podcast.values()]
    for tag, path, relpath in renders:
        record = facts.record(tag)
        error = "not rendered: its render task did not finish" if record is None else record.get("error")
        if error:
            failed[relpath] = error
            probes[path] = replace(probes[path], error=error)
        elif record.get("blurhash") and not probes[path].error:
            probes[path] = replace(probes[path], blurhash=record["blurhash"])
    new = make_plan(plan.library, probes)
    new.podcast, podcast_failed = plan_podcast(plan.library, probes)
    new.failed.update(podcast_failed)
    new.base_url = plan.base_url
    return new, failed


def write_objects(plan: BuildPlan, output: str | Path) -> dict:
    """Write the item, image-info and user objects, the legacy links, then the manifest.

    First applies the render tasks' results (``apply_render_results``). Returns doit values
    ``{"files": n, "failed": {source path: reason}}``: files written or linked, and the sources
    that failed while rendering (the caller fails the run for them). Every file is written
    atomically, and only when its content changed; the manifest comes last so a reader that
    sees it finds every file it names.
    """
    output = Path(output)
    facts = TagFacts(output)
    plan, render_failed = apply_render_results(plan, facts)
    count = 0

    def put(rel: str, data: bytes):
        nonlocal count
        count += write_if_changed(output / rel, data)

    for item in plan.library.items.values():
        put(layout.object_file("Items", item.id), _dumps(item_dto(plan, item)))
        put(layout.image_infos_file(item.id), _dumps(image_infos(plan, item)))
    for user in plan.library.users.values():
        put(layout.object_file("Users", user.id), _dumps(user_dto(plan, user)))
        for item in plan.library.items.values():
            put(layout.user_item_file(user.id, item.id), _dumps(user_item_dto(plan, user, item)))
    for link, target in legacy_links(plan, facts).items():
        count += atomic_link(f"{output}/{target}", f"{output}/{link}")
    podcast = podcast_documents(plan, output)
    for image_id, resource in podcast["images"].items():
        put(layout.art19_file("images", image_id), _dumps(single_document(resource)))
    for asset_id, asset in podcast["media_assets"].items():
        put(layout.art19_file("media_assets", asset_id), _dumps(single_document(asset["resource"])))
    for path, text in podcast["feed_texts"].items():
        put(path, text.encode())
    data = _dumps(manifest(plan, podcast, facts))
    facts.save(plan.sources)
    count += write_if_changed(output / layout.MANIFEST, data)
    return {"files": count, "failed": render_failed}

"""The ``objects`` step: write what clients and serve.py read, after every render task.

In order, each file atomically and only when its bytes change: the item, image-info and user
objects (``dto``), the legacy path links (``links``; only with settings ``legacy_links``), the
ART19 documents (``art19.documents``), then serve.py's ``index.sqlite`` (``sqlindex``, renamed
into place) and ``manifest.json`` last (``manifest``): a reader of either never finds a file
they name missing. The plan is first
re-assembled with the render results (``plan.assemble.apply_render_results``), with the facts of
the current renders from ``renders.TagFacts``.
"""

import hashlib
from pathlib import Path

from pipeline.art19.documents import document_files, podcast_documents
from pipeline.art19.jsonapi import single_document
from pipeline.model import layout
from pipeline.model.ids import NAMED_COLLECTIONS, name_key
from pipeline.model.imagetypes import IMAGE_TYPES
from pipeline.outputs import sqlindex
from pipeline.outputs.dto import image_infos, item_dto, user_dto, user_item_dto
from pipeline.outputs.links import legacy_links, legacy_paths
from pipeline.outputs.manifest import (FailedSource, FileEntry, ImageEntry, Manifest, MediaAsset, Podcast,
                                       dumps)
from pipeline.outputs.renders import TagFacts
from pipeline.plan.assemble import apply_render_results
from pipeline.plan.planner import BuildPlan
from pipeline.store.atomic import atomic_link, write_if_changed


def object_files(plan: BuildPlan) -> list[str]:
    """Every file the objects step writes (doit targets), the index then the manifest last."""
    lib = plan.library
    files = [layout.object_file("Items", i) for i in lib.items]
    files += [layout.image_infos_file(i) for i in lib.items]
    files += [layout.object_file("Users", u) for u in lib.users]
    files += [layout.user_item_file(u, i) for u in lib.users for i in lib.items]
    files += [layout.named_object_file(c, k) for c, names in named_items(plan).items() for k in names]
    files += legacy_paths(plan)
    files += document_files(plan)
    return list(dict.fromkeys(files)) + [layout.INDEX, layout.MANIFEST]


def manifest(plan: BuildPlan, podcast: dict, facts: TagFacts) -> Manifest:
    """The ``Manifest`` of ``plan``: every image (by tag) with its source facts and derivatives
    (``bytes`` from ``facts``, the current render's files; a derivative whose file is missing is
    left out), the tags of every owner's slots, the ``podcast`` documents
    (``art19.documents.podcast_documents``), the failed sources and every owner's published
    GUID (``ids``)."""
    images = {}
    for tag, source in plan.sources.items():
        sizes = facts.for_source(source)["bytes"]
        files = tuple(FileEntry(d, sizes[d.file]) for d in source.derivatives if d.file in sizes)
        images[tag] = ImageEntry(tag, source.image_type, source.relpath, source.probe.width,
                                 source.probe.height, source.probe.format, source.profile.quality, files)
    owners: dict[str, dict] = {"Items": {}, "Users": {}}
    for owner in plan.library.owners():
        owners[owner.kind][owner.id] = {t: tags for t in IMAGE_TYPES
                                        if (tags := plan.tags_of(owner.kind, owner.id, t))}
    documents = Podcast(podcast["images"],
                        {i: MediaAsset(a["resource"], a["file"]) for i, a in podcast["media_assets"].items()},
                        podcast["feeds"])
    ids = {"Items": {i.guid: i.id for i in plan.library.items.values()},
           "Users": {u.guid: u.id for u in plan.library.users.values()}}
    return Manifest(images, owners, plan.library.settings.negotiate_format, documents,
                    tuple(FailedSource(s, e) for s, e in sorted(plan.failed.items())), ids, named_items(plan),
                    plan.library.settings.legacy_links)


def named_items(plan: BuildPlan) -> dict[str, dict[str, str]]:
    """Collection (``Artists`` …) → {``ids.name_key`` of the name: catalog id} of the items the
    named-image routes find (``ids.NAMED_COLLECTIONS``); names are unique (catalog check)."""
    types = {t: c for c, t in NAMED_COLLECTIONS.items()}
    names: dict[str, dict[str, str]] = {}
    for item in plan.library.items.values():
        if item.type in types:
            names.setdefault(types[item.type], {})[name_key(item.name)] = item.id
    return names


def write_objects(plan: BuildPlan, output: str | Path, store=None) -> dict:
    """Write the item, image-info and user objects, the legacy links, the ART19 documents, then
    the index and the manifest (module doc).

    ``store``: a remote store (``store.s3.S3Store``) the renders went to. The objects are then
    staged under ``output`` as usual and uploaded after the legacy links (server-side copies),
    those whose bytes differ from the last upload (``.cache/uploaded.json``), the index and
    the manifest last.

    Returns doit values ``{"files": n, "failed": {source path: reason}}``: files written or
    linked, and the sources that failed while rendering (the caller fails the run for them).
    """
    output = Path(output)
    if store is not None:
        store.refresh()                   # the workers wrote since the driver listed
    facts = TagFacts(output, store)
    plan, render_failed = apply_render_results(plan, facts)
    count = 0

    def put(rel: str, data: bytes):
        nonlocal count
        count += write_if_changed(output / rel, data)

    for item in plan.library.items.values():
        put(layout.object_file("Items", item.id), dumps(item_dto(plan, item)))
        put(layout.image_infos_file(item.id), dumps(image_infos(plan, item)))
    for collection, names in named_items(plan).items():
        for key, item_id in names.items():
            put(layout.named_object_file(collection, key), dumps(item_dto(plan, plan.library.items[item_id])))
    for user in plan.library.users.values():
        put(layout.object_file("Users", user.id), dumps(user_dto(plan, user)))
        for item in plan.library.items.values():
            put(layout.user_item_file(user.id, item.id), dumps(user_item_dto(plan, user, item)))
    for link, target in legacy_links(plan, facts).items():
        if store is not None:
            count += store.link(target, link)
        else:
            count += atomic_link(f"{output}/{target}", f"{output}/{link}")
    podcast = podcast_documents(plan, output, facts.size if store is not None else None)
    for image_id, resource in podcast["images"].items():
        put(layout.art19_file("images", image_id), dumps(single_document(resource)))
    for asset_id, asset in podcast["media_assets"].items():
        put(layout.art19_file("media_assets", asset_id), dumps(single_document(asset["resource"])))
    for path, text in podcast["feed_texts"].items():
        put(path, text.encode())
    built = manifest(plan, podcast, facts)
    facts.save(plan.sources)
    value = built.to_json()
    data = dumps(value)
    count += sqlindex.write(output, value, hashlib.sha256(data).hexdigest())   # before the manifest
    count += write_if_changed(output / layout.MANIFEST, data)
    if store is not None:
        upload_objects(output, store, [f for f in object_files(plan) if (output / f).is_file()])
    return {"files": count, "failed": render_failed}


def upload_objects(output: Path, store, files: list[str]) -> int:
    """Put the staged ``files`` (relpaths under ``output``; ``index.sqlite`` then
    ``manifest.json`` last) into
    ``store`` when their bytes differ from the last upload recorded in
    ``.cache/uploaded.json`` (SHA-256 per relpath; written after the manifest, so an interrupted
    upload is redone). Returns the count uploaded."""
    import json
    from pipeline.store.atomic import atomic_write_bytes
    record_path = output / layout.CACHE_DIR / "uploaded.json"
    try:
        uploaded = json.loads(record_path.read_bytes())
        if not isinstance(uploaded, dict) or uploaded.get("store") != store.location:
            uploaded = {}
    except (OSError, ValueError):
        uploaded = {}
    done = dict(uploaded.get("files", {}))
    count = 0
    last = (layout.INDEX, layout.MANIFEST)
    for rel in sorted(files, key=lambda f: last.index(f) + 1 if f in last else 0):
        data = (output / rel).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if done.get(rel) == digest and store.exists(rel):
            continue
        store.put(rel, data)
        done[rel] = digest
        count += 1
    live = set(files)
    atomic_write_bytes(record_path, json.dumps(
        {"store": store.location, "files": {k: v for k, v in done.items() if k in live}}).encode())
    return count

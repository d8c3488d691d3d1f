"""Legacy path links (seed 000 path form ``Items/{id}/Images/{type}/{index}/{tag}/{format}/
{maxWidth}/{maxHeight}/…``): one hard link per precomputed answer, so a static host serves the
path form without computing. Targets are chosen with ``selection.select``, so they are exactly
what serve.py answers. Paths come from ``layout.legacy_file``.

Written only when the catalog's settings say ``legacy_links: true`` (a pure static host: a bucket
website with no serve.py or nginx); serve.py (route ``legacy``) and the generated nginx config
answer the path form by computation, so by default no link is planned, selected or written."""

from pipeline.model import layout
from pipeline.model.formats import ORIGINAL
from pipeline.model.sizing import SizeRequest
from pipeline.plan.planner import BuildPlan, SourcePlan
from pipeline.serve.selection import select


def legacy_requests(source: SourcePlan) -> list[tuple[SizeRequest, str]]:
    """(size request, format) pairs that get a legacy path link: the no-size request and every
    precomputed max-size request (``maxWidth``/``maxHeight`` only), in ``Original`` and every
    format with undecorated files."""
    requests = [SizeRequest()] + [r for r in source.profile.sizes
                                  if not (r.width or r.height or r.fillWidth or r.fillHeight)]
    formats = [ORIGINAL] + sorted({d.format for d in source.derivatives if d.decoration.is_empty()})
    return [(r, f) for r in requests for f in formats]


def link_targets(source: SourcePlan) -> dict[str, str]:
    """``"{format}/{maxWidth or 0}/{maxHeight or 0}"`` → derivative file, for every
    ``legacy_requests`` pair of ``source`` (``selection.select`` over its planned files)."""
    targets = {}
    for request, fmt in legacy_requests(source):
        choice = select(list(source.derivatives), source.probe.width, source.probe.height,
                        source.probe.format, request, fmt, None, source.profile.quality)
        targets[f"{fmt}/{request.maxWidth or 0}/{request.maxHeight or 0}"] = choice.derivative.file
    return targets


def legacy_paths(plan: BuildPlan) -> list[str]:
    """Every legacy path link the build writes (doit targets; no selection needed); none
    unless settings ``legacy_links``."""
    out = []
    if not plan.library.settings.legacy_links:
        return out
    for (kind, owner_id, image_type, index), tag in plan.slot_tags.items():
        if kind == "Items":
            for request, fmt in legacy_requests(plan.sources[tag]):
                out.append(layout.legacy_file(owner_id, image_type, index, tag, fmt,
                                              request.maxWidth, request.maxHeight))
    return out


def legacy_links(plan: BuildPlan, facts) -> dict[str, str]:
    """Legacy path → derivative file, for the requests of ``legacy_requests``; empty unless
    settings ``legacy_links``. ``facts``: ``outputs.renders.TagFacts``, whose
    ``for_source(source, links=True)["links"]`` caches ``link_targets``."""
    links: dict[str, str] = {}
    if not plan.library.settings.legacy_links:
        return links
    for (kind, owner_id, image_type, index), tag in plan.slot_tags.items():
        if kind != "Items":
            continue
        for key, file in facts.for_source(plan.sources[tag], links=True)["links"].items():
            fmt, max_width, max_height = key.split("/")
            links[layout.legacy_file(owner_id, image_type, index, tag, fmt,
                                     int(max_width), int(max_height))] = file
    return links

"""``assemble``: the one way a ``BuildPlan`` is made from a catalog and its source facts, before
rendering (``tasks.load_plan``: the doit tasks) and after (``apply_render_results``: the
``objects`` step re-plans with what the render tasks found)."""

from dataclasses import replace
from pathlib import Path
from typing import Callable

from pipeline.art19.podcast import plan_podcast
from pipeline.catalog.loader import Library
from pipeline.plan.planner import BuildPlan, make_plan
from pipeline.plan.probe import Probe


def assemble(library: Library, probes: dict[Path, Probe], base_url: str = "") -> BuildPlan:
    """The plan of ``library`` from the ``probes`` of its sources (by absolute path): the
    derivatives of every source (``planner.make_plan``), the ART19 podcast images
    (``podcast.plan_podcast``), every failed source in ``failed``, and ``base_url`` (prefix of
    the ART19 ``cdn_url`` values, no trailing slash)."""
    plan = make_plan(library, probes)
    plan.podcast, podcast_failed = plan_podcast(library, probes)
    plan.failed.update(podcast_failed)
    plan.base_url = base_url.rstrip("/")
    return plan


def apply_render_results(plan: BuildPlan, renders) -> tuple[BuildPlan, dict[str, str]]:
    """Re-``assemble`` ``plan`` with what the render tasks found: each source's BlurHash filled
    in, and sources that could not be decoded (or were never rendered) left out, as if absent,
    with their published indexes renumbered.

    ``renders``: anything with ``record(tag) -> dict | None`` (``outputs.renders.TagFacts``):
    the render record ``{"blurhash"}`` or ``{"error"}``, None when the task never finished.
    Returns (new plan, {source path: reason} of the sources left out here)."""
    record: Callable[[str], dict | None] = renders.record
    probes = dict(plan.probes)
    failed: dict[str, str] = {}
    rendered = [(s.tag, s.path, s.relpath) for s in plan.sources.values()]
    rendered += [(p.tag, p.image.path, p.relpath) for p in plan.podcast.values()]
    for tag, path, relpath in rendered:
        result = record(tag)
        error = "not rendered: its render task did not finish" if result is None else result.get("error")
        if error:
            failed[relpath] = error
            probes[path] = replace(probes[path], error=error)
        elif result.get("blurhash") and not probes[path].error:
            probes[path] = replace(probes[path], blurhash=result["blurhash"])
    return assemble(plan.library, probes, plan.base_url), failed

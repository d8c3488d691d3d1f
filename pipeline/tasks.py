"""doit glue: the task graph, a progress reporter with a closing summary, and ``prune``.

Tasks (``doit list``):

- ``render:{tag}``: one per source image and profile; writes ``images/{tag}/…``.
  A source that cannot be read or decoded gets a task ``render:{path}`` that fails with the
  reason; nothing depends on it, so the rest of the build goes on (``continue`` is on by
  default, ``doit --continue`` is implied) and the run exits non-zero.
- ``objects``: the JSON objects, legacy links and manifest, after every good render task.
- ``prune``: delete files under the output folder that the current manifest does not name
  (stale tags, removed items, leftover temporary files). Not a default task.
"""

import sys
import time
from pathlib import Path

from doit.reporter import ConsoleReporter
from doit.tools import config_changed

from pipeline.model import layout
from pipeline.store.atomic import TEMP_MARK
from pipeline.catalog.loader import load_catalog
from pipeline.errors import CatalogErrors, SourceError
from pipeline.outputs.objects import object_files, write_objects
from pipeline.plan.planner import BuildPlan, SourcePlan, make_plan
from pipeline.art19.podcast import PodcastPlan, plan_podcast, render_podcast
from pipeline.plan.probe import probe_all
from pipeline.imaging.render import render_source


def load_plan(catalog: str | Path, output: str | Path, base_url: str | None = None) -> BuildPlan:
    """Validate the catalog and probe its sources (cached); print catalog errors and exit 2.
    ``base_url`` (doit variable) overrides the catalog's ``podcast.base_url``."""
    try:
        library = load_catalog(catalog)
    except CatalogErrors as exc:
        print(f"catalog has {len(exc.errors)} error(s):", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        raise SystemExit(2)
    output = Path(output)
    paths = [slot.path for owner in library.owners() for slot in owner.slots()]
    paths += [image.path for image in library.podcast_images.values()]

    def progress(done, total):
        if sys.stderr.isatty() or done == total:
            end = "\n" if done == total else "\r"
            print(f"probing sources: {done}/{total}", end=end, file=sys.stderr, flush=True)

    probes = probe_all(paths, layout.probe_cache_file(output), progress)
    plan = make_plan(library, probes)
    plan.podcast, failed = plan_podcast(library, probes)
    plan.failed.update(failed)
    plan.base_url = (library.settings.podcast.base_url if base_url is None else base_url).rstrip("/")
    return plan


def _render_action(source: SourcePlan | PodcastPlan, output: str):
    try:
        if isinstance(source, PodcastPlan):
            return render_podcast(source, output)
        return render_source(source, output)
    except SourceError as exc:
        from doit.exceptions import TaskFailed
        return TaskFailed(str(exc))


def _objects_action(plan: BuildPlan, output: str):
    values = write_objects(plan, output)
    if values["failed"]:  # published without them; the run must still say it failed
        from doit.exceptions import TaskFailed
        lines = "\n".join(f"  {path}: {reason}" for path, reason in sorted(values["failed"].items()))
        return TaskFailed(f"{len(values['failed'])} source(s) left out:\n{lines}")
    return values


def _fail_action(relpath: str, error: str):
    from doit.exceptions import TaskFailed
    return TaskFailed(f"{relpath}: {error}")


def render_tasks(plan: BuildPlan, output: Path):
    """doit task dicts: one ``render`` per source (see module doc)."""
    for tag, source in plan.sources.items():
        yield {
            "name": tag,
            "title": lambda task, s=source: f"render {s.relpath} ({s.image_type}, {len(s.derivatives)} files)",
            "actions": [(_render_action, [source, str(output)])],
            "file_dep": [str(source.path)],
            "targets": [f"{output}/{d.file}" for d in source.derivatives]  # str: pathlib is slow here
                       + [f"{output}/{layout.render_record_file(tag)}"],
            "uptodate": [config_changed(source.profile.fingerprint())],
            "clean": True,
        }
    for image_id, podcast in plan.podcast.items():
        yield {
            "name": f"podcast-{image_id}",
            "title": lambda task, p=podcast: f"render {p.relpath} (podcast image, {len(p.assets)} styles)",
            "actions": [(_render_action, [podcast, str(output)])],
            "file_dep": [str(podcast.image.path)],
            "targets": [f"{output}/{a.file}" for a in podcast.assets]
                       + [f"{output}/{layout.render_record_file(podcast.tag)}"],
            "uptodate": [config_changed(podcast.tag)],
            "clean": True,
        }
    for relpath, error in plan.failed.items():
        yield {
            "name": relpath,
            "title": lambda task, r=relpath: f"render {r} (FAILED)",
            "actions": [(_fail_action, [relpath, error])],
            "uptodate": [False],
        }


def objects_task(plan: BuildPlan, output: Path, catalog: Path) -> dict:
    """The doit task dict that writes the JSON objects, legacy links and manifest."""
    state = repr(sorted((k, v) for k, v in plan.slot_tags.items())) + repr(sorted(plan.failed.items()))
    state += repr([(o.kind, o.id, o.name, o.type, o.parent) for o in plan.library.owners()])
    state += repr(sorted(plan.library.user_data.items()))
    state += repr([(p.image, p.tag) for p in plan.podcast.values()]) + plan.base_url
    return {
        "doc": "write Items/Users JSON objects, legacy path links and manifest.json",
        "actions": [(_objects_action, [plan, str(output)])],
        "task_dep": [f"render:{tag}" for tag in plan.sources] + [f"render:podcast-{i}" for i in plan.podcast],
        "file_dep": [str(catalog)],
        "targets": [f"{output}/{f}" for f in object_files(plan)],
        "uptodate": [config_changed(state)],
        "clean": True,
    }


def prune(output: str | Path, dry_run: bool = False) -> list[Path]:
    """Delete every file under ``output`` the current build does not publish.

    Kept: the manifest, the build report, the files it names, the JSON objects and legacy links of the current
    catalog (read back from the manifest's owners), and ``.cache/``. Deleted: stale tag folders,
    objects of removed items, leftover ``.tmp-`` files. Returns the deleted paths.
    """
    import json
    output = Path(output).resolve()
    manifest_path = output / layout.MANIFEST
    if not manifest_path.is_file():
        raise SystemExit(f"prune: no {layout.MANIFEST} in {output}; build first")
    data = json.loads(manifest_path.read_text())
    keep = {layout.MANIFEST, layout.REPORT}
    for image in data["images"].values():
        keep.update(d["file"] for d in image["derivatives"])
    podcast = data.get("podcast", {})
    for asset_id, asset in podcast.get("media_assets", {}).items():
        keep.add(asset["file"])
        keep.add(layout.art19_file("media_assets", asset_id))
    for image_id in podcast.get("images", {}):
        keep.add(layout.art19_file("images", image_id))
    keep.update(podcast.get("feeds", {}).values())
    for owner_id, slots in data["owners"]["Items"].items():
        keep.add(layout.object_file("Items", owner_id))
        keep.add(layout.image_infos_file(owner_id))
    for owner_id in data["owners"]["Users"]:
        keep.add(layout.object_file("Users", owner_id))
        keep.update(layout.user_item_file(owner_id, i) for i in data["owners"]["Items"])
    live_tags = set(data["images"])
    deleted = []
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if rel.startswith(layout.CACHE_DIR) or not path.is_file() and not path.is_symlink():
            continue
        if rel.startswith(".doit.db"):
            continue
        if rel in keep and TEMP_MARK not in path.name:
            continue
        legacy = layout.legacy_owner_and_tag(rel)   # links live while their item and tag do
        if (legacy and legacy[0] in data["owners"]["Items"] and legacy[1] in live_tags
                and TEMP_MARK not in path.name):
            continue
        deleted.append(path)
        if not dry_run:
            path.unlink()
    if not dry_run:
        for folder in sorted((p for p in output.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()
    return deleted


def prune_task(output: Path) -> dict:
    """``doit prune``: delete what the current manifest does not name (see ``prune``)."""
    def action():
        deleted = prune(output)
        print(f"prune: deleted {len(deleted)} stale file(s) from {output}")
    return {"doc": "delete files of removed or changed images from the output folder",
            "actions": [action], "uptodate": [False], "verbosity": 2}


def selected_tasks_or_all(tasks: dict, selected: list | None) -> list[str]:
    """Names of the tasks a run will consider: the selected ones with their subtasks, or all."""
    if not selected or "render" in selected or "objects" in selected:
        return list(tasks)
    return [n for n in tasks if n in selected or n.split(":")[0] in selected]


class BuildReporter(ConsoleReporter):
    """doit reporter: ``[n/N]`` progress per task and a closing summary (sources, derivatives,
    bytes written, time, failures). Selected in ``DOIT_CONFIG`` by dodo.py."""

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.started = time.monotonic()
        self.total = 0
        self.done = 0
        self.uptodate = 0
        self.rendered = 0
        self.files = 0
        self.bytes = 0
        self.decode_failures: list[tuple[str, str]] = []

    def initialize(self, tasks, selected_tasks):
        super().initialize(tasks, selected_tasks)
        self.total = sum(1 for name in selected_tasks_or_all(tasks, selected_tasks)
                         if name.startswith("render:"))

    def execute_task(self, task):
        if task.name.startswith("render:"):
            self.done += 1
            self.write(f"[{self.done}/{self.total}] {task.title()}\n")
        elif task.actions and task.name in ("objects", "prune"):
            self.write(f". {task.title()}\n")

    def skip_uptodate(self, task):
        if task.name.startswith("render:"):
            self.uptodate += 1

    def add_success(self, task):
        super().add_success(task)
        values = task.values or {}
        if task.name.startswith("render:"):
            if values.get("error"):  # decode failure: reported here, published by nothing
                self.decode_failures.append((task.name, values["error"]))
                self.write(f"FAILED {task.name}: {values['error']}\n")
                return
            self.rendered += 1
            self.files += values.get("files", 0)
            self.bytes += values.get("bytes", 0)

    def add_failure(self, task, fail):
        if fail.report:
            self.failures.append({"task": task, "exception": fail})
        if task.name == "render":  # the group task: its failed subtasks are reported already
            return
        self.write(f"FAILED {task.name}: {fail.get_msg().strip()}\n")

    def complete_run(self):
        elapsed = time.monotonic() - self.started
        failed = [(f["task"].name, f["exception"].get_msg().strip())
                  for f in self.failures if f["task"].name != "render"]
        render_failed = sum(1 for name, _ in failed if name.startswith("render:")) + len(self.decode_failures)
        if self.total:
            self.write(
                f"build: {self.total} sources ({self.rendered} rendered, {self.uptodate} up to date, "
                f"{render_failed} failed), {self.files} files written, "
                f"{self.bytes / 1e6:.1f} MB, {elapsed:.1f} s\n")
        for name, message in self.decode_failures + failed:
            self.write(f"  failed: {name}: {message}\n")
        if self.runtime_errors:
            self.write("Execution aborted.\n" + "\n".join(self.runtime_errors) + "\n")

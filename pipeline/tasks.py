"""doit glue: every doit task dict, the doit variables, a progress reporter with a closing
summary, and ``prune``. ``dodo.py`` only forwards to ``Build``.

Tasks (``doit list``):

- ``render:{tag}``: one per source image and profile; writes ``images/{tag}/…``.
  A source that cannot be read or decoded gets a task ``render:{path}`` that fails with the
  reason; nothing depends on it, so the rest of the build goes on (``continue`` is on by
  default, ``doit --continue`` is implied) and the run exits non-zero.
- ``objects``: the JSON objects, legacy links (settings ``legacy_links``) and manifest, after
  every good render task.
- ``report``: ``output/index.html`` after ``objects`` (also written by a failing ``objects``).
- ``prune``: delete files under the output folder that the current manifest does not name
  (stale tags, removed items, leftover temporary files). Not a default task.
- ``hosting``, ``publish``: the nginx config and the S3 upload (README), not default tasks.

Variables (``doit NAME=VALUE``) are listed once, in ``VARIABLES``; any other name is an error.

Every ``doit`` run that reads the build plan (except ``doit list`` and the other
``LISTING_COMMANDS``) holds ``hold_build_lock`` on its output folder from before it reads the
catalog until it exits, so two builds on one output folder (``doit watch``,
serve.py's write builds, two people typing ``doit``) run one after the other.
"""

import fcntl
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from doit.reporter import ConsoleReporter

from pipeline.model import layout
from pipeline.store import Store, open_store
from pipeline.store.atomic import TEMP_MARK, atomic_write_bytes
from pipeline.catalog.loader import load_catalog, paused_gc
from pipeline.errors import CatalogErrors, SourceError
from pipeline.outputs import manifest as manifest_file
from pipeline.outputs.objects import object_files, write_objects
from pipeline.plan import cache as plan_cache
from pipeline.plan.assemble import assemble
from pipeline.plan.planner import BuildPlan, SourcePlan
from pipeline.art19.podcast import PodcastPlan, render_podcast
from pipeline.plan.probe import probe_all
from pipeline.imaging.render import render_source

#: Written by the objects step after the manifest: the plan digest and the manifest's SHA-256.
OBJECTS_STAMP = f"{layout.CACHE_DIR}/objects.json"


#: The lock every plan-reading ``doit`` run holds on its output folder (``hold_build_lock``).
BUILD_LOCK = f"{layout.CACHE_DIR}/build.lock"
_held_locks: dict[Path, object] = {}


def hold_build_lock(output: str | Path, log=None) -> None:
    """Take the exclusive build lock of ``output`` (``fcntl.flock`` on ``.cache/build.lock``)
    and hold it until this process exits; the kernel drops it then, also after ``kill -9``.
    While another process holds it, print who (its pid, kept in the file) to ``log`` (default
    stderr) once and wait. Called by dodo.py before it reads the catalog, so a build that waited
    plans from the catalog as the previous build left it, and never publishes an older one over
    a newer one. A second call in the same process for the same folder does nothing. Output
    ``s3://…``: the lock is on the local work folder (``work=``)."""
    output = Path(output).resolve()
    if output in _held_locks:
        return
    path = output / BUILD_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        print(f"waiting for the build running on {output} ({holder}) to finish", file=log or sys.stderr, flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _held_locks[output] = handle


def load_plan(catalog: str | Path, output: str | Path, base_url: str | None = None) -> BuildPlan:
    """Validate the catalog and probe its sources (cached); print catalog errors and exit 2.
    ``base_url`` (doit variable) overrides the catalog's ``podcast.base_url``. When neither the
    catalog, its sources nor the code changed since the last plan, that plan is read back from
    ``.cache/plan.pickle`` instead (``plan.cache``)."""
    output = Path(output)
    cached = plan_cache.load(output, Path(catalog), base_url)
    if cached is not None:
        return cached
    try:
        library = load_catalog(catalog)
    except CatalogErrors as exc:
        print(f"catalog has {len(exc.errors)} error(s):", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        raise SystemExit(2)
    paths = [slot.path for owner in library.owners() for slot in owner.slots()]
    paths += [image.path for image in library.podcast_images.values()]

    def progress(done, total):
        if sys.stderr.isatty() or done == total:
            end = "\n" if done == total else "\r"
            print(f"probing sources: {done}/{total}", end=end, file=sys.stderr, flush=True)

    # no folder is created just to plan (``doit list``); a first build saves its probes next time
    probes = probe_all(paths, layout.probe_cache_file(output), progress, save=output.is_dir())
    with paused_gc():
        plan = assemble(library, probes, library.settings.podcast.base_url if base_url is None else base_url)
    if output.is_dir():
        plan_cache.save(output, Path(catalog), base_url, plan)
    return plan


@dataclass(frozen=True)
class RenderJob:
    """One unit of render work: a ``SourcePlan`` or ``PodcastPlan`` and the store location
    (``output=``) its files go to. Picklable, so any executor can ship it to a worker process
    or another machine (which needs the package installed: ``pip install .``).

    ``name``: the doit task name after ``render:`` (the tag, or ``podcast-{image id}``);
    ``files``: every relpath the job writes, render record last."""

    name: str
    source: SourcePlan | PodcastPlan
    store: str

    @property
    def tag(self) -> str:
        return self.source.tag

    @property
    def files(self) -> tuple[str, ...]:
        items = self.source.assets if isinstance(self.source, PodcastPlan) else self.source.derivatives
        return tuple(x.file for x in items) + (layout.render_record_file(self.tag),)

    def title(self) -> str:
        s = self.source
        if isinstance(s, PodcastPlan):
            return f"render {s.relpath} (podcast image, {len(s.assets)} styles)"
        return f"render {s.relpath} ({s.image_type}, {len(s.derivatives)} files)"


def run_job(job: RenderJob) -> dict:
    """Run one ``RenderJob`` wherever it is called (a doit process, a Dask worker…): read the
    source, render it (pure), write the files into ``open_store(job.store)``, the render record
    last, after removing what a killed earlier attempt left in the tag's folder
    (``Store.remove_temporaries``). Returns the doit values (``{"files", "bytes"}`` + ``"blurhash"`` or ``"error"``).
    Raises ``SourceError`` when the source vanished or changed since planning. Keeps the time
    it took for the report (``record_render_time``)."""
    started = time.perf_counter()
    store = open_store(job.store)
    store.remove_temporaries(layout.tag_folder(job.tag))   # a killed earlier attempt's
    if isinstance(job.source, PodcastPlan):
        values = render_podcast(job.source, store)
    else:
        values = render_source(job.source, store)
    record_render_time(job, time.perf_counter() - started)
    return values


def is_rendered(store: Store, job: RenderJob) -> bool:
    """Whether ``job`` is done, decided from the store alone (content addressing: a tag names
    its inputs): its render record exists and either every file exists or the record is an
    error (the same bytes would fail the same way). The record is written last, so a build
    killed half way through a tag leaves it not done."""
    record = layout.render_record_file(job.tag)
    if not store.exists(record):
        return False
    if all(store.exists(f) for f in job.files):
        return True
    try:
        return "error" in json.loads(store.read(record))
    except (OSError, ValueError, TypeError):
        return False


def record_render_time(job: RenderJob, seconds: float) -> None:
    """Keep how long ``job`` took in ``.cache/render-times/{tag}.json`` (the report's chart),
    when the store is a local folder; outside ``images/`` so published output stays
    byte-identical. Never fails the render."""
    folder = Path(job.store)
    if not folder.is_dir():
        return
    from pipeline.outputs.charts import render_time_file
    try:
        atomic_write_bytes(folder / render_time_file(job.tag),
                           json.dumps({"seconds": round(seconds, 4), "source": job.source.relpath}).encode())
    except OSError:
        pass


def _run_job_action(job: RenderJob):
    try:
        return run_job(job)
    except SourceError as exc:
        from doit.exceptions import TaskFailed
        return TaskFailed(str(exc))
    except OSError as exc:           # a full disk, a read-only folder: one line, no traceback
        return _write_failed(exc)


def _write_failed(exc: OSError):
    """A doit ``TaskFailed`` whose message is one line: what could not be written, and why."""
    from doit.exceptions import TaskFailed
    where = f" {exc.filename}" if exc.filename else ""
    return TaskFailed(f"cannot write{where}: {exc.strerror or exc}")


def _clean_job(job: RenderJob):
    store = open_store(job.store)
    for relpath in job.files:
        store.delete(relpath)


def render_task(job: RenderJob, actions: list) -> dict:
    """The doit task dict ``render:{job.name}`` running ``actions``: up to date when
    ``is_rendered`` (no doit database involved, so progress survives a kill); ``doit clean``
    deletes its files. Executors build their tasks with it."""
    return {
        "name": job.name,
        "title": lambda task, j=job: j.title(),
        "actions": actions,
        "uptodate": [lambda j=job: is_rendered(open_store(j.store), j)],
        "clean": [(_clean_job, [job])],
    }


class Executor(Protocol):
    """Decides where render jobs run. ``tasks(jobs)`` yields the doit task dicts of the
    ``render`` group, named ``render:{job.name}`` (the ``objects`` step depends on those names),
    whose values are ``run_job``'s. Up-to-date jobs must be reported as such by doit (build the
    dicts with ``render_task``), so progress and the summary stay the same on every executor."""

    def tasks(self, jobs: list[RenderJob]) -> Iterator[dict]: ...


class LocalExecutor:
    """Today's executor: one doit task per job, run in doit's own processes (``doit -n 2``)."""

    def tasks(self, jobs: list[RenderJob]) -> Iterator[dict]:
        for job in jobs:
            yield render_task(job, [(_run_job_action, [job])])


def _dask_executor(get_var) -> Executor:
    from pipeline.dask_executor import executor_from_vars
    return executor_from_vars(get_var)


#: ``executor=`` doit variable → factory taking doit's ``get_var`` (``dask``: see
#: ``pipeline.dask_executor``).
EXECUTORS: dict[str, object] = {"local": lambda get_var: LocalExecutor(), "dask": _dask_executor}


def _objects_action(plan: BuildPlan, output: str, digest: str, store: str | None = None):
    try:
        return _write_objects(plan, output, digest, store)
    except OSError as exc:
        return _write_failed(exc)


def _write_objects(plan: BuildPlan, output: str, digest: str, store: str | None):
    stamp = Path(output) / OBJECTS_STAMP
    stamp.unlink(missing_ok=True)          # from here until the stamp is back, objects are not done
    remote = open_store(store) if store and "://" in store else None
    with paused_gc():                      # a few objects per item, no cycles: see ``paused_gc``
        values = write_objects(plan, output, remote)
    if values["failed"]:  # published without them; the run must still say it failed
        from doit.exceptions import TaskFailed
        from pipeline.outputs.report import write_report
        write_report(output)   # doit skips `report` after a failed `objects`: the report shows why
        lines = "\n".join(f"  {path}: {reason}" for path, reason in sorted(values["failed"].items()))
        return TaskFailed(f"{len(values['failed'])} source(s) left out:\n{lines}")
    manifest = (Path(output) / layout.MANIFEST).read_bytes()
    atomic_write_bytes(stamp, json.dumps({"plan": digest, "manifest": hashlib.sha256(manifest).hexdigest()}).encode())
    return values


def _fail_with(message: str):
    from doit.exceptions import TaskFailed
    return TaskFailed(message)


def _fail_action(relpath: str, error: str):
    from doit.exceptions import TaskFailed
    return TaskFailed(f"{relpath}: {error}")


def render_jobs(plan: BuildPlan, store: str) -> list[RenderJob]:
    """Every render job of ``plan``: one per source tag, the largest sources first (so that a
    parallel build does not end on one large source alone), then one per podcast image."""
    by_size = sorted(plan.sources.items(), key=lambda item: -item[1].probe.width * item[1].probe.height)
    jobs = [RenderJob(tag, source, store) for tag, source in by_size]
    jobs += [RenderJob(f"podcast-{image_id}", podcast, store) for image_id, podcast in plan.podcast.items()]
    return jobs


def render_tasks(plan: BuildPlan, output: Path, executor: Executor | None = None, store: str | None = None):
    """doit task dicts of the ``render`` group: the executor's (``LocalExecutor`` by default),
    then one failing ``render:{path}`` per source the probe could not read (see module doc).
    ``store``: where the renders go (``output=s3://…``), default the ``output`` folder."""
    yield from (executor or LocalExecutor()).tasks(render_jobs(plan, store or str(output)))
    for relpath, error in plan.failed.items():
        yield {
            "name": relpath,
            "title": lambda task, r=relpath: f"render {r} (FAILED)",
            "actions": [(_fail_action, [relpath, error])],
            "uptodate": [False],
        }


def plan_digest(plan: BuildPlan, catalog: Path) -> str:
    """SHA-256 of everything the objects step reads besides the render records: the slot tags,
    failures, owners, user data, podcast images, base URL, and the catalog's bytes."""
    state = repr(sorted((k, v) for k, v in plan.slot_tags.items())) + repr(sorted(plan.failed.items()))
    state += repr([(o.kind, o.id, o.name, o.type, o.parent) for o in plan.library.owners()])
    state += repr(sorted(plan.library.user_data.items()))
    state += repr([(p.image, p.tag) for p in plan.podcast.values()]) + plan.base_url
    digest = hashlib.sha256(state.encode())
    for path in (Path(catalog), *getattr(plan.library, "included", ())):
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            pass
    return digest.hexdigest()


def objects_done(output: Path, digest: str) -> bool:
    """Whether the objects on disk are those of the plan with ``digest``: the stamp that the
    objects step writes after the manifest names this plan and the manifest now on disk. The
    step deletes the stamp before writing anything, so a kill half way leaves it not done."""
    try:
        stamp = json.loads((Path(output) / OBJECTS_STAMP).read_bytes())
        manifest = (Path(output) / layout.MANIFEST).read_bytes()
    except (OSError, ValueError):
        return False
    return (isinstance(stamp, dict) and stamp.get("plan") == digest
            and stamp.get("manifest") == hashlib.sha256(manifest).hexdigest())


def objects_task(plan: BuildPlan, output: Path, catalog: Path, store: str | None = None) -> dict:
    """The doit task dict that writes the JSON objects, legacy links and manifest; up to date
    when ``objects_done`` (decided from disk, not from doit's database)."""
    digest = plan_digest(plan, catalog)
    return {
        "doc": "write Items/Users JSON objects, legacy path links and manifest.json",
        "actions": [(_objects_action, [plan, str(output), digest, store])],
        "task_dep": [f"render:{job.name}" for job in render_jobs(plan, str(output))],
        "targets": [f"{output}/{f}" for f in object_files(plan)],
        "uptodate": [lambda: objects_done(output, digest)],
        "clean": True,
    }


def prune(output: str | Path, dry_run: bool = False) -> list[Path]:
    """Delete every file under ``output`` the current build does not publish.

    Kept: the manifest, the build report, the files it names and the render records of their
    tags, the JSON objects and (when the manifest says ``legacy_links``) the legacy links of the
    current catalog (read back from the manifest's owners), and ``.cache/``. Deleted: stale tag
    folders, objects of removed items, every legacy link of a build without ``legacy_links``,
    leftover ``.tmp-`` files. Returns the deleted paths.
    """
    output = Path(output).resolve()
    try:
        data = manifest_file.read(output)
    except FileNotFoundError:
        raise SystemExit(f"prune: no {layout.MANIFEST} in {output}; build first") from None
    except manifest_file.ManifestError as exc:
        raise SystemExit(f"prune: {exc}") from None
    keep = {layout.MANIFEST, layout.INDEX, layout.REPORT} | data.published_files()
    items = data.owners["Items"]
    live_tags = set(data.images)
    for rel in list(keep):   # a current tag's render record is what makes it up to date
        if rel.startswith(f"{layout.IMAGES_DIR}/"):
            keep.add(layout.render_record_file(rel.split("/")[1]))
    deleted = []
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if rel.startswith(layout.CACHE_DIR) or not path.is_file() and not path.is_symlink():
            continue
        if rel.startswith(".doit.db"):
            continue
        if rel in keep and TEMP_MARK not in path.name:
            continue
        if rel.startswith("report/") and rel.endswith(".html") and TEMP_MARK not in path.name:
            continue                                   # report pages (write_report removes stale ones)
        legacy = layout.legacy_owner_and_tag(rel)   # links live while their item and tag do
        if (data.legacy_links and legacy and legacy[0] in items and legacy[1] in live_tags
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


def prune_task(output: Path, catalog: Path | None = None) -> dict:
    """``doit prune``: delete what the current manifest does not name (see ``prune``), and the
    uploads under ``media/uploads/`` that no entry of ``catalog`` names (``edit.prune_uploads``)."""
    def action():
        deleted = prune(output)
        print(f"prune: deleted {len(deleted)} stale file(s) from {output}")
        if catalog is not None and catalog.is_file():
            from pipeline.catalog.edit import prune_uploads
            try:
                uploads = prune_uploads(catalog)
            except CatalogErrors as exc:
                print(f"prune: uploads kept, the catalog has errors:\n{exc}")
                return
            print(f"prune: deleted {len(uploads)} upload(s) no catalog entry names")
    return {"doc": "delete files of removed or changed images from the output folder",
            "actions": [action], "uptodate": [False], "verbosity": 2}


#: Tasks that never read the catalog's build plan: ``doit scan`` must run while the catalog is
#: missing or names files that are gone, and ``doit watch`` runs each build in a fresh process.
PLANLESS_TASKS = ("scan", "watch")


#: doit commands that only show tasks: they run none, so they take no build lock (and, in a
#: folder that does not exist yet, create nothing).
LISTING_COMMANDS = ("list", "info", "help", "dumpdb", "tabcompletion")


def runs_tasks(argv: list[str]) -> bool:
    """False when the command line (``sys.argv``) is one of doit's ``LISTING_COMMANDS``."""
    words = [a for a in argv[1:] if not a.startswith("-") and "=" not in a]
    return not any(w in LISTING_COMMANDS for w in words)


def plan_needed(argv: list[str]) -> bool:
    """False when the command line (``sys.argv``) selects only ``PLANLESS_TASKS``; doit calls
    every task creator before it runs any task, so dodo.py skips loading the plan then."""
    words = [a for a in argv[1:] if not a.startswith("-") and "=" not in a and not a.isdigit()]
    return not any(w in PLANLESS_TASKS for w in words)


def scan_task(library: str | None, catalog: Path) -> dict:
    """``doit scan library=DIR [catalog=FILE]``: write the catalog from a media folder
    (``pipeline.catalog.scan``); prints what it added, changed and removed, and every problem.
    Fails only when ``library`` is missing or not usable, never for a problem inside it."""
    def action():
        from doit.exceptions import TaskFailed
        from pipeline.catalog.scan import scan_to_catalog
        if not library:
            return TaskFailed("give the media folder: doit scan library=DIR [catalog=FILE]")
        try:
            changes = scan_to_catalog(library, catalog)
        except ValueError as exc:
            return TaskFailed(str(exc))
        print(changes.summary() + (f"; wrote {catalog}" if changes.written else f"; {catalog} unchanged"))
        for line in changes.lines():
            print(line)
        return {"added": len(changes.added), "changed": len(changes.changed),
                "removed": len(changes.removed), "problems": len(changes.problems)}
    return {"doc": "write the catalog from a media folder (library=DIR, catalog=FILE)",
            "actions": [action], "uptodate": [False], "verbosity": 2}


def watch_task(catalog: Path, output: Path, library: str | None) -> dict:
    """``doit watch [library=DIR]``: build, then rebuild on every change (``pipeline.watch``);
    runs until Ctrl-C or SIGTERM, which also stop a build in progress."""
    def action():
        import signal
        import threading
        from pipeline.watch import watch
        stop = threading.Event()

        def terminate(signum, frame):
            stop.set()
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, terminate)
        try:
            watch(catalog, output, library, stop=stop)
        except KeyboardInterrupt:
            pass
        print("watch: stopped", flush=True)
    return {"doc": "build, then rebuild when the catalog or a source changes (library=DIR: re-scan too)",
            "actions": [action], "uptodate": [False], "verbosity": 2}


def selected_tasks_or_all(tasks: dict, selected: list | None) -> list[str]:
    """Names of the tasks a run will consider: the selected ones with their subtasks, or all."""
    if not selected or "render" in selected or "objects" in selected:
        return list(tasks)
    return [n for n in tasks if n in selected or n.split(":")[0] in selected]


#: Without a terminal, the build prints a progress line at most this often (seconds).
PROGRESS_SECONDS = 5.0


class BuildReporter(ConsoleReporter):
    """doit reporter: progress of the render tasks and a closing summary (sources, derivatives,
    bytes written, time, failures). Selected in ``DOIT_CONFIG`` by dodo.py.

    Progress: on a terminal a tqdm bar (done/total, rate, ETA); otherwise a line
    ``render: n/N (r rendered, u up to date, f failed), x/s, ETA s`` every ``PROGRESS_SECONDS``
    at most, not a line per task (a 100,000-source build would print 100,000 lines).
    Failures are printed as they happen (``FAILED render:…``)."""

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.started = time.monotonic()
        self.total = 0
        self.done = 0
        self.uptodate = 0
        self.rendered = 0
        self.failed = 0
        self.files = 0
        self.bytes = 0
        self.decode_failures: list[tuple[str, str]] = []
        self.bar = None
        self.last_line = time.monotonic()

    def initialize(self, tasks, selected_tasks):
        super().initialize(tasks, selected_tasks)
        self.total = sum(1 for name in selected_tasks_or_all(tasks, selected_tasks)
                         if name.startswith("render:"))
        isatty = getattr(self.outstream, "isatty", lambda: False)
        if self.total and isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, desc="render", unit="src", file=self.outstream,
                            dynamic_ncols=True, leave=True)

    def write(self, text):
        if self.bar is not None:
            self.bar.write(text.rstrip("\n"), file=self.outstream)
        else:
            super().write(text)

    def _settled(self):
        """One more render task decided (up to date, rendered or failed)."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.done >= self.total:
                self.bar.close()
                self.bar = None
            return
        now = time.monotonic()
        if now - self.last_line >= PROGRESS_SECONDS and self.done < self.total:
            self.last_line = now
            elapsed = now - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = f", ETA {(self.total - self.done) / rate:.0f} s" if rate else ""
            super().write(f"render: {self.done}/{self.total} ({self.rendered} rendered, "
                          f"{self.uptodate} up to date, {self.failed} failed), {rate:.1f}/s{eta}\n")

    def execute_task(self, task):
        if task.actions and task.name in ("objects", "prune"):
            self.write(f". {task.title()}\n")

    def skip_uptodate(self, task):
        if task.name.startswith("render:"):
            self.uptodate += 1
            self._settled()

    def add_success(self, task):
        super().add_success(task)
        values = task.values or {}
        if task.name.startswith("render:"):
            if values.get("error"):  # decode failure: reported here, published by nothing
                self.decode_failures.append((task.name, values["error"]))
                self.write(f"FAILED {task.name}: {values['error']}\n")
                self.failed += 1
                self._settled()
                return
            self.rendered += 1
            self.files += values.get("files", 0)
            self.bytes += values.get("bytes", 0)
            self._settled()

    def add_failure(self, task, fail):
        if fail.report:
            self.failures.append({"task": task, "exception": fail})
        if task.name == "render":  # the group task: its failed subtasks are reported already
            return
        self.write(f"FAILED {task.name}: {fail.get_msg().strip()}\n")
        if task.name.startswith("render:"):
            self.failed += 1
            self._settled()

    def complete_run(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elapsed = time.monotonic() - self.started
        failed = [(f["task"].name, f["exception"].get_msg().strip())
                  for f in self.failures if f["task"].name != "render"]
        render_failed = sum(1 for name, _ in failed if name.startswith("render:")) + len(self.decode_failures)
        if self.total:
            self.write(
                f"build: {self.total} sources ({self.rendered} rendered, {self.uptodate} up to date, "
                f"{render_failed} failed), {self.files} files written, "
                f"{self.bytes / 1e6:.1f} MB, {elapsed:.1f} s\n")
        if self.total:    # other runs (publish, hosting…) said it in their FAILED line
            for name, message in self.decode_failures + failed:
                self.write(f"  failed: {name}: {message}\n")
        if self.runtime_errors:
            self.write("Execution aborted.\n" + "\n".join(self.runtime_errors) + "\n")


#: Every doit variable (``doit NAME=VALUE``): name -> (default, help). The one list: dodo.py
#: reads variables only through ``read_variables``, and any other name is an error naming these.
VARIABLES: dict[str, tuple[str | None, str]] = {
    "catalog": ("catalog.yaml", "the catalog file"),
    "output": ("output", "the output folder"),
    "base_url": (None, "prefix of the ART19 media assets' cdn_url (overrides podcast.base_url)"),
    "executor": ("local", "where renders run: " + ", ".join(EXECUTORS)),
    "scheduler": (None, "executor=dask: the scheduler address tcp://HOST:8786 (else a LocalCluster)"),
    "workers": (None, "executor=dask: local workers of the LocalCluster"),
    "window": (None, "executor=dask: render jobs in flight at once"),
    "work": (None, "output=s3://…: the local folder for caches and staged files (default s3-work/BUCKET/PREFIX)"),
    "library": (None, "doit scan / watch: the media folder to write the catalog from"),
    "nginx_conf": (None, "doit hosting: the file to write (default OUTPUT/.cache/hosting/nginx.conf)"),
    "listen": ("127.0.0.1:8080", "doit hosting: nginx listen address"),
    "server_name": ("_", "doit hosting: nginx server_name"),
    "bucket": (None, "doit publish: the S3 bucket (else $S3_BUCKET)"),
    "prefix": (None, "doit publish: key prefix (else $S3_PREFIX)"),
    "endpoint": (None, "S3 endpoint URL of output=s3://… and of doit publish (else $S3_ENDPOINT_URL)"),
    "jobs": ("8", "doit publish: parallel uploads"),
    "delete": ("0", "doit publish: 1 deletes bucket objects the output folder does not have"),
}


class UsageError(Exception):
    """A bad command line (unknown variable or value); its message is one line for the user."""


def read_variables(given: dict[str, str]) -> dict[str, str | None]:
    """Every variable of ``VARIABLES`` with its value from ``given`` (doit's ``NAME=VALUE``
    arguments) or its default. Raises ``UsageError`` naming an unknown variable, the one meant
    when it looks misspelt, and the known ones; or an unknown ``executor``."""
    from pipeline.errors import did_you_mean
    for name in given:
        if name not in VARIABLES:
            raise UsageError(f"unknown variable {name!r}{did_you_mean(name, VARIABLES)} "
                             f"(known: {', '.join(VARIABLES)})")
    values = {name: given.get(name, default) for name, (default, _) in VARIABLES.items()}
    if values["executor"] not in EXECUTORS:
        raise UsageError(f"executor={values['executor']}: unknown (known: {', '.join(EXECUTORS)})"
                         f"{did_you_mean(values['executor'], EXECUTORS)}")
    return values


def doit_variables() -> dict[str, str]:
    """The ``NAME=VALUE`` arguments of this doit run (empty when doit did not parse any)."""
    from doit import doit_cmd
    return dict(getattr(doit_cmd, "_CMDLINE_VARS", None) or {})   # doit offers no public accessor


class Build:
    """What dodo.py declares, from the doit variables: ``DOIT_CONFIG`` and one method per
    task creator. Creating it reads no file and writes nothing; the plan is loaded (and the
    catalog validated) the first time a task creator needs it."""

    def __init__(self, variables: dict[str, str | None], plan_needed: bool = True, lock: bool = True):
        self.vars = variables
        self.plan_needed = plan_needed     # False for `doit scan`/`watch` (see ``plan_needed``)
        self.lock = lock                   # hold_build_lock before planning (not for `doit list`)
        self.catalog = Path(variables["catalog"]).resolve()
        self.store: str | None = None      # output=s3://bucket/prefix: renders go straight to the bucket
        if "://" in variables["output"]:
            from pipeline.store.s3 import s3_location, work_folder
            self.store = s3_location(variables["output"], variables["endpoint"])
            self.output = Path(variables["work"] or work_folder(variables["output"])).resolve()
        else:
            self.output = Path(variables["output"]).resolve()
        self._plan: BuildPlan | None = None

    @classmethod
    def from_command_line(cls, argv: list[str]) -> "Build":
        """``Build`` from doit's variables and ``argv`` (``sys.argv``, for ``plan_needed``); a
        ``UsageError`` is printed as one line and exits 2."""
        try:
            return cls(read_variables(doit_variables()), plan_needed(argv), runs_tasks(argv))
        except UsageError as exc:
            print(f"doit: {exc}", file=sys.stderr)
            raise SystemExit(2)

    def doit_config(self) -> dict:
        """``DOIT_CONFIG``: default tasks, ``continue``, the reporter, processes, and doit's
        state in its sqlite3 backend under ``output/.cache/`` (in memory while that folder does
        not exist: nothing is created just to list tasks, and no decision depends on it)."""
        cache = self.output / layout.CACHE_DIR
        return {
            "default_tasks": ["render", "objects", "report"],
            "continue": True,                      # a failed source does not stop the others
            "reporter": BuildReporter,
            "backend": "sqlite3",
            "dep_file": str(cache / "doit.sqlite3") if cache.is_dir() else ":memory:",
            "par_type": "process",
        }

    def plan(self) -> BuildPlan:
        if self._plan is None:
            if self.lock:                    # one build at a time per output folder, until exit
                hold_build_lock(self.output)
            self._plan = load_plan(self.catalog, self.output, self.vars["base_url"])
        return self._plan

    def get_var(self, name: str, default=None):
        """doit's ``get_var`` over the checked variables (for executor factories)."""
        value = self.vars.get(name)
        return default if value is None else value

    def render(self):
        if self.plan_needed:   # the executor is made only now: a Dask one may start a cluster
            yield from render_tasks(self.plan(), self.output, EXECUTORS[self.vars["executor"]](self.get_var),
                                    self.store)

    def objects(self) -> dict:
        if not self.plan_needed:
            return {"actions": None}
        return objects_task(self.plan(), self.output, self.catalog, self.store)

    def scan(self) -> dict:
        return scan_task(self.vars["library"], self.catalog)

    def watch(self) -> dict:
        return watch_task(self.catalog, self.output, self.vars["library"])

    def prune(self) -> dict:
        return prune_task(self.output, self.catalog)

    def report(self) -> dict:
        return report_task(self.output)

    def hosting(self) -> dict:
        dest = self.vars["nginx_conf"] or str(self.output / layout.CACHE_DIR / "hosting" / "nginx.conf")
        return hosting_task(self.output, Path(dest).resolve(), self.vars["listen"], self.vars["server_name"])

    def publish(self) -> dict:
        return publish_task(self.output, self.vars)


def files_digest(*paths, extra: str = "") -> str:
    """SHA-256 over the bytes of ``paths`` (a missing file counts as empty) and ``extra``."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def stamp_done(output: Path, name: str, digest: str, target: Path) -> bool:
    """Whether ``target`` exists and the stamp ``.cache/{name}.stamp`` holds ``digest``: a step
    whose inputs hash to ``digest`` finished (decided from disk, not doit's database)."""
    try:
        return target.exists() and (output / layout.CACHE_DIR / f"{name}.stamp").read_text() == digest
    except OSError:
        return False


def stamped(output: Path, name: str, inputs, step):
    """Run ``step()`` between removing and writing the stamp ``name`` (digest of ``inputs()``
    taken before the step), so a killed step is never taken for done."""
    stamp = output / layout.CACHE_DIR / f"{name}.stamp"
    stamp.unlink(missing_ok=True)
    digest = inputs()
    values = step()
    atomic_write_bytes(stamp, digest.encode())
    return values


def report_task(output: Path) -> dict:
    """``doit report``: write ``output/index.html`` (``outputs.report``) after ``objects``;
    up to date while the manifest, the objects stamp (its plan digest covers names and parents,
    which only the JSON objects hold), the report module and its templates hash as when it was
    written (``stamp_done``). A failing ``objects`` writes it too."""
    from pipeline.outputs import report
    target = output / report.REPORT_FILE

    def inputs():
        return files_digest(output / layout.MANIFEST, output / OBJECTS_STAMP, report.__file__,
                            report.TEMPLATES / "report.html.j2", report.TEMPLATES / "report-body.html.j2",
                            Path(report.__file__).with_name("charts.py"))

    def action():
        with paused_gc():                  # a few dicts per owner, no cycles: see ``paused_gc``
            values = stamped(output, "report", inputs, lambda: report.write_report(output))
        pages = f" and {values['pages'] - 1} pages in {output / report.PAGES_DIR}" if values["pages"] > 1 else ""
        print(f"report: wrote {target}{pages}")
        return values
    return {
        "doc": "write output/index.html, the build report (thumbnails, derivatives, inheritance)",
        "actions": [action],
        "task_dep": ["objects"],
        "uptodate": [lambda: stamp_done(output, "report", inputs(), target)],
        "targets": [str(target)],
        "clean": True,
        "verbosity": 2,
    }


def hosting_task(output: Path, dest: Path, listen: str, server_name: str) -> dict:
    """``doit hosting``: write the nginx config for ``output`` to ``dest`` after ``objects``;
    up to date while the manifest, ``hosting.nginx``, its template, ``dest``, listen and
    server_name are as when it was written (``stamp_done``)."""
    from pipeline.hosting import nginx

    def inputs():
        return files_digest(output / layout.MANIFEST, nginx.__file__, nginx.TEMPLATES / "nginx.conf.j2",
                            extra=f"{dest}\n{listen}\n{server_name}")

    def action():
        values = stamped(output, "hosting", inputs,
                         lambda: nginx.write_nginx_config(output, dest, listen, server_name))
        print(f"hosting: wrote {dest} ({values['lines']} lines; listen {listen})")
        return values
    return {
        "doc": "write an nginx server block answering serve.py's URLs from the output folder",
        "actions": [action],
        "task_dep": ["objects"],
        "uptodate": [lambda: stamp_done(output, "hosting", inputs(), dest)],
        "targets": [str(dest)],
        "clean": True,
        "verbosity": 2,
    }


def publish_task(output: Path, variables: dict) -> dict:
    """``doit publish``: upload the output folder (after ``objects`` and ``report``) to the
    bucket of the variables ``bucket``, ``prefix``, ``endpoint`` or the environment; ``jobs``
    and ``delete=1``. Always runs; an up-to-date bucket costs one listing. Without a bucket the
    task fails at once with one line and builds nothing."""
    from pipeline.outputs.publish import PublishTarget, publish
    doc = "upload the output folder to an S3-compatible bucket (bucket=, prefix=, endpoint=, delete=1)"
    try:
        target = PublishTarget.from_env(variables["bucket"], variables["prefix"], variables["endpoint"])
    except ValueError as exc:
        message = str(exc).removeprefix("publish: ")
        return {"doc": doc, "actions": [(_fail_with, [message])], "uptodate": [False]}

    def action():
        result = publish(output, target, jobs=int(variables["jobs"]),
                         delete=variables["delete"] in ("1", "true", "yes"))
        where = f"s3://{target.bucket}/{target.prefix}" + (f" at {target.endpoint}" if target.endpoint else "")
        print(f"publish: {len(result.uploaded)} uploaded ({result.bytes / 1e6:.1f} MB), {result.skipped} "
              f"already there, {len(result.deleted)} deleted, to {where} in {result.seconds:.1f} s")
    return {
        "doc": doc,
        "actions": [action],
        "task_dep": ["objects", "report"],
        "uptodate": [False],
        "verbosity": 2,
    }

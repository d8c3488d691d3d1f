"""``doit watch``: rebuild when the catalog or a source image changes.

One build at a time: each build is a fresh ``doit`` process (the same as typing ``doit``), run
to its end; changes that arrive meanwhile are collected by the watcher (watchfiles, a Rust
``notify`` wrapper) and give one more build after it. Changes are debounced: a burst of writes
(a copy of a folder, an editor's save-by-rename) is grouped until ``step_ms`` passes without a
new one, at most ``debounce_ms``. serve.py notices each new manifest by itself (README "Serve").

Watched: the catalog's folder and every folder holding a source the catalog names, not
recursively, so an ``output/`` inside the catalog's folder (thousands of tag folders) costs no
inotify watch and its writes never trigger a build. With ``library=DIR`` the media folder is
watched too (recursively) and each change re-runs ``doit scan`` before the build, so a new
poster or a new movie folder is served without touching the catalog by hand.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent


def source_paths(catalog: Path) -> set[Path] | None:
    """Absolute paths of every source the catalog names and of its ``include:`` files, or None
    when it does not load (the build then reports why; the watcher keeps the previous set)."""
    from pipeline.catalog.loader import load_catalog
    from pipeline.errors import CatalogErrors
    try:
        library = load_catalog(catalog)
    except CatalogErrors:
        return None
    paths = {slot.path for owner in library.owners() for slot in owner.slots()}
    paths |= {image.path for image in library.podcast_images.values()}
    paths |= set(library.included)          # include:d catalog files rebuild like the catalog
    return paths


class Relevance:
    """Which changed paths start a build: the catalog file, a source it names, or (with a
    library) anything under the library that is not the output folder."""

    def __init__(self, catalog: Path, output: Path, library: Path | None, sources: set[Path]):
        self.catalog, self.output, self.library = catalog, output, library
        self.sources = {str(p) for p in sources}

    def __call__(self, change, path: str) -> bool:
        p = Path(path)
        if p == self.output or self.output in p.parents:
            return False
        if p == self.catalog or path in self.sources:
            return True
        return self.library is not None and (p == self.library or self.library in p.parents) \
            and not p.name.startswith(".")


def build_command(catalog: Path, output: Path, *targets: str, extra: Iterable[str] = ()) -> list[str]:
    """The ``doit`` command line of one build (or of ``scan``) with this project's dodo.py."""
    return [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT), *targets,
            f"catalog={catalog}", f"output={output}", *extra]


def watch(catalog: str | Path, output: str | Path, library: str | Path | None = None, *,
          debounce_ms: int = 2000, step_ms: int = 300, stop: threading.Event | None = None,
          run: Callable[[list[str]], int] | None = None, log=print) -> int:
    """Build, then rebuild on every relevant change until ``stop`` is set (or Ctrl-C/SIGTERM).
    ``run(cmd) -> exit code`` runs a command (default: a subprocess, its output passed through).
    Returns the number of builds run."""
    import watchfiles

    catalog, output = Path(catalog).resolve(), Path(output).resolve()
    library = Path(library).resolve() if library else None
    stop = stop or threading.Event()
    run = run or _run
    builds = 0
    sources: set[Path] = set()

    def build(reason: str):
        nonlocal builds, sources
        if library is not None:
            run(build_command(catalog, output, "scan", extra=[f"library={library}"]))
        log(f"watch: {reason}: building {catalog} into {output}", flush=True)
        code = run(build_command(catalog, output))
        builds += 1
        sources = source_paths(catalog) or sources
        log(f"watch: build {builds} {'done' if code == 0 else f'exited {code}'}; waiting for changes "
            f"(Ctrl-C stops)", flush=True)

    sources = source_paths(catalog) or set()
    reason = "start"
    while not stop.is_set():
        folders = sorted(str(f) for f in {catalog.parent} | {p.parent for p in sources} if f.is_dir())
        if library is not None:     # recursive: the library, and the catalog's folder unless inside it
            paths = [str(library)] + ([str(catalog.parent)] if library not in catalog.parents else [])
        else:
            paths = folders
        restart = False
        # yield_on_timeout: the watcher is running (collecting) before the first build starts,
        # and keeps collecting while any build runs
        relevant = Relevance(catalog, output, library, sources)
        for changes in watchfiles.watch(*paths, watch_filter=relevant,
                                        debounce=debounce_ms, step=step_ms, stop_event=stop,
                                        recursive=library is not None, rust_timeout=500,
                                        yield_on_timeout=True, raise_interrupt=False):
            if changes:
                names = sorted({Path(p).name for _, p in changes})
                reason = f"{len(changes)} change(s) ({', '.join(names[:3])}{', …' if len(names) > 3 else ''})"
            if reason is None:
                continue
            build(reason)
            reason = None
            relevant.sources = {str(p) for p in sources}
            new = sorted(str(f) for f in {catalog.parent} | {p.parent for p in sources} if f.is_dir())
            if library is None and new != folders:   # sources in new folders: watch those too,
                reason, restart = "new source folders", True   # and build once more for changes
                break                                           # made while switching
        if not restart:
            break
    return builds


def _run(cmd: list[str]) -> int:
    """Run a build to its end; a Ctrl-C/SIGTERM while it runs stops it too."""
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise

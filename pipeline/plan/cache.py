"""The plan cache: skip reading, validating and planning a catalog when nothing it reads changed.

A no-op rebuild of a 100,000-item catalog spent most of its time parsing the YAML (with line
numbers, for errors) and re-creating the same ``BuildPlan``. The plan is a pure function of

- the bytes (and the place) of the catalog and of its ``include:``d files,
- the code that reads and plans it (every ``.py`` file of the ``pipeline`` package, and the
  versions of Python, PyYAML and Pillow),
- the ``base_url`` doit variable,
- and each source file: the path a catalog path resolves to (symlinks followed) and the file's
  size and mtime (the probe cache's key, ``plan.probe``).

``save`` keeps the plan in ``output/.cache/plan.pickle`` with a digest of the first three and
the facts of the fourth; ``load`` returns it only when every one of them is still the same, so
a changed source or catalog is planned again from scratch, and a catalog with errors is never
cached (it raises before ``save``). The file is the build's own cache, read back with
``pickle`` like doit's state: it is as trusted as the output folder.
"""

import hashlib
import os
import pickle
import sys
from pathlib import Path

import PIL
import yaml

from pipeline.catalog.loader import paused_gc
from pipeline.model import layout
from pipeline.plan.planner import BuildPlan

#: Where the cache lives, under the output folder.
PLAN_CACHE = f"{layout.CACHE_DIR}/plan.pickle"

_PACKAGE = Path(__file__).resolve().parent.parent    # the ``pipeline`` package
_code: str | None = None


def code_digest() -> str:
    """SHA-256 of every ``.py`` file of the ``pipeline`` package (by relpath) and of the Python,
    PyYAML and Pillow versions: a changed planner, loader or setting default is a new plan."""
    global _code
    if _code is None:
        digest = hashlib.sha256(f"{sys.version}\n{yaml.__version__}\n{PIL.__version__}\n".encode())
        for path in sorted(_PACKAGE.rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
        _code = digest.hexdigest()
    return _code


def _key(catalog: Path, base_url: str | None) -> str | None:
    try:
        data = catalog.read_bytes()
    except OSError:
        return None
    return hashlib.sha256(f"{code_digest()}\n{catalog.resolve()}\n{base_url!r}\n".encode() + data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _source_fact(root: Path, relpath: str) -> tuple[str, int, int] | None:
    """(resolved path, size, mtime_ns) of a catalog path, None when it cannot be read."""
    try:
        resolved = os.path.realpath(root / relpath)
        st = os.stat(resolved)
    except (OSError, ValueError):
        return None
    return resolved, st.st_size, st.st_mtime_ns


def _sources(plan: BuildPlan) -> dict[str, Path]:
    """Catalog path → resolved path of every source the plan read."""
    lib = plan.library
    out = {slot.relpath: slot.path for owner in lib.owners() for slot in owner.slots()}
    out.update((image.relpath, image.path) for image in lib.podcast_images.values())
    return out


def save(output: Path, catalog: Path, base_url: str | None, plan: BuildPlan) -> bool:
    """Keep ``plan`` (just made from ``catalog``) for the next run; returns whether it did. Not
    kept when a source could not be read (a passing condition, as in the probe cache) or a
    source changed while it was planned."""
    if any(p.error.startswith("cannot read") for p in plan.probes.values()):
        return False
    key = _key(catalog, base_url)
    facts = {}
    for relpath, path in _sources(plan).items():
        fact = _source_fact(plan.library.root, relpath)
        probe = plan.probes.get(path)
        if fact is None or fact[0] != str(path) or (probe is not None and probe.size and probe.size != fact[1]):
            return False
        facts[relpath] = fact
    included = [(str(p), _file_digest(Path(p))) for p in plan.library.included]
    if key is None or any(d is None for _, d in included):
        return False
    from pipeline.store.atomic import atomic_write_bytes
    data = pickle.dumps({"key": key, "included": included, "sources": facts, "plan": plan},
                        protocol=pickle.HIGHEST_PROTOCOL)
    atomic_write_bytes(Path(output) / PLAN_CACHE, data)
    return True


def load(output: Path, catalog: Path, base_url: str | None) -> BuildPlan | None:
    """The cached plan of ``catalog`` when nothing it was made from changed (module doc), else
    None (also for a missing, unreadable or foreign cache file)."""
    try:
        data = (Path(output) / PLAN_CACHE).read_bytes()
    except OSError:
        return None
    key = _key(catalog, base_url)
    try:
        with paused_gc():        # ~10 objects per item: see ``paused_gc``
            cached = pickle.loads(data)
        if not isinstance(cached, dict) or cached.get("key") != key or key is None:
            return None
        plan = cached["plan"]
        if not isinstance(plan, BuildPlan):
            return None
        for path, digest in cached["included"]:
            if _file_digest(Path(path)) != digest:
                return None
        root = plan.library.root
        for relpath, fact in cached["sources"].items():
            if _source_fact(root, relpath) != fact:
                return None
    except Exception:        # a truncated or foreign file, an older class layout: plan again
        return None
    return plan

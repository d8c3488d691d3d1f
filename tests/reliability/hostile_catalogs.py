"""A corpus of hostile catalogs (issue 13 item 6) and a runner that loads each one under a
memory limit in a child process.

    python tests/reliability/hostile_catalogs.py [--memory-mb 1024]

prints, per catalog, the first line of the error ``load_catalog`` gave (or the crash), the
seconds it took and the child's peak memory. ``test_hostile_catalogs.py`` asserts on the same
runs: every one is a ``CatalogErrors`` whose lines read ``file:line: …``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))

#: name -> catalog text (bytes where the encoding itself is the attack). ``media/a.jpg`` exists.
CORPUS: dict[str, str | bytes] = {
    "billion laughs at top level": _LAUGHS,
    "billion laughs as the items list": _LAUGHS + "items: *i\n",
    "billion laughs inside an item's images": _LAUGHS.replace("a: &a", "x0: &a") +
        "items:\n  - {id: a, name: A, type: Movie, images: {Primary: *i}}\n",
    "recursive anchor (sequence)": "items: &r [*r]\n",
    "recursive anchor (mapping)": "items:\n  - &m {id: a, name: A, type: Movie, images: *m}\n",
    "recursive merge key": "settings: &s {<<: *s}\n",
    "5000-digit integer as an id": "items:\n  - {id: " + "9" * 5000 + ", name: A, type: Movie}\n",
    "5000-digit integer as quality": "settings: {quality: " + "9" * 5000 + "}\n",
    "5000-digit hex integer": "settings: {quality: 0x" + "f" * 5000 + "}\n",
    "5000-digit unplayedItemCount": "users: [{id: u, name: u}]\nitems: [{id: a, name: A, type: Movie}]\n"
        "user_data: [{user: u, item: a, unplayedItemCount: " + "1" * 5000 + "}]\n",
    "unplayedItemCount beyond Int32": "users: [{id: u, name: u}]\nitems: [{id: a, name: A, type: Movie}]\n"
        "user_data: [{user: u, item: a, unplayedItemCount: 2147483648}]\n",
    "infinite float quality": "settings: {quality: .inf}\n",
    "float overflow in a size": "settings: {sizes: [{maxWidth: 1e400}]}\n",
    "huge percentPlayed range": "settings: {variants: [{percentPlayed: {from: 0, to: 1.0e+12, step: 1.0e-9}}]}\n",
    "huge unplayedCount range": "settings: {variants: [{unplayedCount: {from: 1, to: 100000000}}]}\n",
    "invalid timestamp": "podcast_images:\n  - {id: 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39, "
        "bucket: {type: Network, id: n}, source: media/a.jpg, created_at: 2020-13-45}\n",
    "deep nesting (flow)": "items: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep nesting (block)": "items:\n" + "".join("  " * i + "- \n" for i in range(2000)),
    "unhashable key": "items:\n  - {? [a, b] : c, id: a, name: A, type: Movie}\n",
    "mapping as a key at top level": "? {a: 1}\n: 2\n",
    "not UTF-8": b"items:\n  - {id: \xff\xfe, name: A, type: Movie}\n",
    "NUL byte": "items:\n  - {id: a\0b, name: A, type: Movie}\n",
    "two documents": "items: []\n---\nitems: []\n",
    "python object tag": "items: !!python/object/apply:os.system [true]\n",
    "binary id": "items:\n  - {id: !!binary aGVsbG8=, name: A, type: Movie}\n",
    "bad base64": "items:\n  - {id: !!binary '%%%', name: A, type: Movie}\n",
    "a list at top level": "- a\n- b\n",
    "10 MB string": "items:\n  - {id: a, name: " + "x" * 10_000_000 + ", type: Movie}\n",
    "ids differing only in case": "items:\n  - {id: Show, name: A, type: Series}\n"
        "  - {id: show, name: B, type: Series}\n",
    "crop beyond Int32": "podcast_images:\n  - {id: 0b7a7d2c-1c1e-4c1e-9a4e-2f1d6c5b4a39, bucket: {type: Network, "
        "id: n}, source: media/a.jpg, crop: {left: 0, top: 0, width: 99999999999, height: 99999999999}}\n",
    "tab indentation": "items:\n\t- {id: a}\n",
    "empty key": "items:\n  - {: a, id: a, name: A, type: Movie}\n",
}

CHILD = r"""
import json, resource, sys, time, traceback
limit = int(sys.argv[1]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from pipeline.catalog.loader import load_catalog
from pipeline.errors import CatalogErrors
for path in sys.argv[2:]:
    start = time.monotonic()
    try:
        load_catalog(path)
        outcome, text = "loaded", ""
    except CatalogErrors as exc:
        outcome, text = "CatalogErrors", str(exc)
    except BaseException as exc:
        outcome, text = type(exc).__name__, "".join(traceback.format_exception(exc))[-2000:]
    print(json.dumps({"path": path, "outcome": outcome, "text": text[:20000], "seconds": time.monotonic() - start,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def write_corpus(folder: Path) -> dict[str, Path]:
    """Write every catalog of ``CORPUS`` (and ``media/a.jpg``) into ``folder``; name -> path."""
    (folder / "media").mkdir(parents=True, exist_ok=True)
    (folder / "media" / "a.jpg").write_bytes((ROOT / "media" / "avatar-meadow.jpg").read_bytes())
    paths = {}
    for i, (name, text) in enumerate(CORPUS.items()):
        path = folder / f"hostile-{i:02d}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        paths[name] = path
    return paths


def load_limited(paths: list[Path], memory_mb: int = 1024, timeout: float = 120) -> dict[str, dict]:
    """Load catalogs one after the other in a child process whose address space is capped at
    ``memory_mb``; returns path -> ``{outcome, text, seconds, peak_mb}`` (outcome
    ``CatalogErrors``, ``loaded`` or the exception's name; ``peak_mb`` is the child's peak so
    far). Raises ``AssertionError`` when the child dies or overruns ``timeout`` seconds."""
    try:
        result = subprocess.run([sys.executable, "-c", CHILD, str(memory_mb), *map(str, paths)], cwd=ROOT,
                                capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"no answer within {timeout} s; got so far: {exc.stdout!r}") from None
    runs = {r["path"]: r for r in map(json.loads, result.stdout.splitlines())}
    if result.returncode != 0 or len(runs) != len(paths):
        raise AssertionError(f"the loader died ({result.returncode}) after {len(runs)} catalogs: "
                             f"{result.stderr[-2000:]}")
    return runs


def main() -> int:
    import argparse
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory-mb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_corpus(Path(tmp))
        runs = load_limited(list(paths.values()), args.memory_mb)
        for name, path in paths.items():
            r = runs[str(path)]
            first = r["text"].strip().splitlines()[0] if r["text"].strip() else ""
            first = first.replace(str(path), path.name)
            print(f"{name:45s} {r['outcome']:14s} {r['seconds']:6.2f} s {r['peak_mb']:6.0f} MB  {first[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

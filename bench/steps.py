"""Where a render's CPU goes, step by step: decode, BlurHash, resize, encode (per format), write.

    .venv/bin/python bench/steps.py [--limit 24] [--repeat 2] [--threads 1]

Builds the benchmark's catalog for the first ``--limit`` corpus sources (widths 160/400/1280,
JPEG+WebP at quality 90, like ``bench/run.py --only build``), plans it with the pipeline, then
renders every source in this one process, serially, timing each step of
``pipeline.imaging.render`` with ``time.thread_time`` (CPU seconds of this thread; libvips
runs single-threaded here, see ``pipeline.imaging.resize``). Best of ``--repeat`` passes per step.
Also prints ``render()`` as the build calls it (thread pool included), in process CPU seconds
(``time.process_time``) and wall seconds, and (``--build``) a full ``doit -n 2`` build of the same
catalog into a fresh folder, its CPU split between doit's main process (imports, catalog, probes,
plan, dispatch, objects step) and its worker processes (the renders plus what running them as
doit tasks costs): best of ``--repeat`` by wall. Units: seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import corpus  # noqa: E402
import ours  # noqa: E402


def profile(plan_sources, store, passes: int) -> dict[str, float]:
    from pipeline.imaging import render as R
    from pipeline.imaging.decode import decode

    best: dict[str, float] = {}
    for _ in range(passes):
        cpu: dict[str, float] = defaultdict(float)
        for source in plan_sources:
            data = source.path.read_bytes()
            rendered = source.rendered
            t = time.thread_time()
            largest = (max(d.width for d in rendered), max(d.height for d in rendered))
            base = decode(data, covering=largest)
            t, cpu["decode"] = time.thread_time(), cpu["decode"] + time.thread_time() - t
            files = []
            hashed = base
            cascade = R._cascade(base, rendered)
            while True:
                try:
                    image, group = next(cascade)
                except StopIteration:
                    break
                t, cpu["resize"] = time.thread_time(), cpu["resize"] + time.thread_time() - t
                if min(image.size) >= R.BLURHASH_SIDE and all(d.keeps_aspect for d in group):
                    hashed = image
                for d in group:
                    payload = R.encode(image.copy(), d.format, d.quality, (0, 0, 0))
                    now = time.thread_time()
                    cpu[f"encode {d.format}"] += now - t
                    t = now
                    files.append((d.file, payload))
            t = time.thread_time()
            R.image_blurhash(hashed)        # as render() does: from the smallest whole-picture size
            t, cpu["blurhash"] = time.thread_time(), cpu["blurhash"] + time.thread_time() - t
            files += [(d.file, data) for d in source.derivatives if d.original]
            for relpath, payload in files:
                store.put(relpath, payload)
            now = time.thread_time()
            cpu["write"] += now - t
        for k, v in cpu.items():
            best[k] = min(best.get(k, v), v)
    return best


#: Runs doit in a child and prints its own and its reaped workers' CPU (resource.getrusage).
_DOIT = """
import json, resource, sys, time
from doit.__main__ import main
sys.argv = ["doit"] + sys.argv[1:]
t = time.perf_counter()
try:
    main()
except SystemExit:
    pass
wall = time.perf_counter() - t
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "main": me.ru_utime + me.ru_stime, "workers": kids.ru_utime + kids.ru_stime}))
"""


def doit_build(catalog: Path, output: Path) -> dict:
    """One ``doit -n 2`` build into a fresh ``output`` (package byte-compiled first, as
    ``ours.run_doit``): {"wall", "main", "workers"} seconds."""
    import shutil
    ours.byte_compile()
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", _DOIT, "-n", "2", f"catalog={catalog}", f"output={output}"],
                          cwd=corpus.REPO_DIR, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--build", action="store_true", help="also time a doit -n 2 build (main vs workers)")
    a = ap.parse_args(argv)

    from pipeline.imaging import render as R
    from pipeline.store import open_store
    from pipeline.tasks import load_plan

    sources = corpus.build_corpus(limit=a.limit)
    with tempfile.TemporaryDirectory(prefix="steps-") as tmp:
        work = Path(tmp)
        media = ours.link_media(sources, work)
        catalog = ours.write_catalog(work, media)
        plan = load_plan(catalog, work / "output")
        srcs = sorted(plan.sources.values(), key=lambda s: s.relpath)
        store = open_store(work / "output")
        R.keep_freed_memory()
        best = profile(srcs, store, a.repeat)
        total = sum(best.values())
        print(f"{len(srcs)} sources, {sum(len(s.rendered) for s in srcs)} rendered outputs; "
              f"CPU s per step, best of {a.repeat}:")
        for k, v in best.items():
            print(f"  {k:<14} {v:7.3f}")
        print(f"  {'total':<14} {total:7.3f}")
        runs = []
        for _ in range(a.repeat):
            c, w = time.process_time(), time.perf_counter()
            for s in srcs:
                R.render(s, s.path.read_bytes())
            runs.append((time.process_time() - c, time.perf_counter() - w))
        c, w = min(runs)
        print(f"render() as built (encoder threads {R.ENCODE_THREADS}): CPU {c:.3f} s, wall {w:.3f} s")
        if a.build:
            b = min((doit_build(catalog, work / "built") for _ in range(a.repeat)), key=lambda r: r["wall"])
            print(f"doit -n 2 build: wall {b['wall']:.3f} s, CPU main {b['main']:.3f} s + workers "
                  f"{b['workers']:.3f} s (workers minus render() above: {b['workers'] - c:+.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

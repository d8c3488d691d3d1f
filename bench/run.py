"""Benchmark: our pipeline against @11ty/eleventy-img and a Pillow floor, in one run.

    .venv/bin/python bench/run.py [--limit N] [--skip-peer] [--only build|noop|serve|rss]

Sections (all by default, or one with --only):
  build  full build of the corpus by eleventy-img, ours and the floor: widths
         160/400/1280 (never above the source), JPEG+WebP at quality 90; then
         the same with AVIF added (unless --skip-avif);
  noop   ours: no-op rebuild of --noop-count (1000) sources, then the rebuild
         after one source changed;
  rss    ours: peak RSS of one worker rendering the 6000x4000 sample;
  serve  serve.py against nginx on ours' output tree (wrk, 100 connections).
Units: seconds, MB = 10^6 bytes, requests/s, milliseconds for latency.
Everything is kept under bench/.cache/ (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
from corpus import CACHE_DIR, QUALITY, WIDTHS, plan_widths  # noqa: E402

RUNS = CACHE_DIR / "runs"

TARGETS = {
    "build_speedup": 2.5,        # eleventy-img wall / ours wall >= 2.5
    "bytes_within": 0.10,        # |ours bytes / theirs - 1| <= 10 %
    "floor_ratio": 1.2,          # ours wall / floor wall <= 1.2
    "noop_s": 1.5,               # no-op rebuild of 1000 sources < 1.5 s
    "changed_s": 2.0,            # one changed source < 2 s
    "rss_mb": 400,               # worker peak RSS < 400 MB
    "serve_share": 0.5,          # serve.py req/s >= 50 % of nginx's (issue 14)
}


def mb(n: float) -> float:
    return n / 1e6


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def row(cells, widths) -> str:
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def disturbed(m) -> bool:
    """Whether other processes used more than a tenth of the machine during a measured run."""
    return m.others_cpu_s > 0.1 * m.wall_s * (os.cpu_count() or 1)


def caveat(*ms) -> str:
    """A note for a wall-clock verdict taken while the machine was busy with other work."""
    return " [disturbed run: the wall verdict is not reliable, compare CPU]" if any(map(disturbed, ms)) else ""


def _image_bytes(tree, formats) -> tuple[int, int]:
    """(count, bytes) of the planned formats only (no JSON, no doit state)."""
    n = b = 0
    for fmt in formats:
        c, s = tree.by_format.get(fmt, (0, 0))
        n, b = n + c, b + s
    return n, b


# ------------------------------------------------------------------ build ---

def build_section(sources, formats, args, results) -> None:
    import floor as floor_mod
    import ours as ours_mod
    import peer as peer_mod

    label = "+".join(formats)
    expected = sum(len(plan_widths(s.width)) for s in sources) * len(formats)
    section(f"build {label}: widths {'/'.join(map(str, WIDTHS))} (never above the source), "
            f"quality {QUALITY}, 2 processes/threads; {expected} outputs expected")
    runs: dict[str, dict] = {}
    plan = [("eleventy-img", lambda out: peer_mod.run_peer(sources, out, formats))] if not args.skip_peer else []
    plan += [("ours", lambda out: ours_mod.run_ours(sources, out, formats)),
             ("floor", lambda out: floor_mod.run_floor(sources, out, formats))]
    # Repeats are interleaved (peer, ours, floor, peer, …) so that a burst of
    # outside load does not fall on one tool only; the fastest run is kept.
    for rep in range(args.repeat):
        for name, fn in plan:
            if "error" in runs.get(name, {}):
                continue
            out = RUNS / f"{name}-{label}"
            print(f"  running {name}{f' (run {rep + 1}/{args.repeat})' if args.repeat > 1 else ''} …", flush=True)
            try:
                r = fn(out)
            except Exception as exc:  # a tool that cannot run is reported, not fatal
                runs[name] = {"error": str(exc).strip()}
                continue
            if name not in runs or r["measure"].wall_s < runs[name]["measure"].wall_s:
                runs[name] = r
    hdr = ["tool", "wall s", "CPU s", "CPU/wall", "RSS MB", "PSS MB", "outputs", "MB out", "others' CPU s"]
    w = [13, 8, 8, 8, 8, 8, 8, 8, 13]
    print(row(hdr, w))
    out_json = {}
    for name in ("eleventy-img", "ours", "floor"):
        r = runs.get(name)
        if r is None:
            continue
        if "error" in r:
            first = r["error"].splitlines()
            print(f"  {name}: not run: {first[0] if first else ''}")
            for line in first[1:6]:
                print(f"      {line}")
            out_json[name] = {"error": r["error"]}
            continue
        m, tree = r["measure"], r["tree"]
        n, b = _image_bytes(tree, formats)
        print(row([name, f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}", f"{m.cpu_s / m.wall_s:.2f}",
                   f"{mb(m.maxrss_bytes):.0f}", f"{mb(m.tree_pss_peak_bytes):.0f}",
                   n, f"{mb(b):.2f}", f"{m.others_cpu_s:.1f}"], w))
        out_json[name] = {"measure": m.as_dict(), "tree": tree.as_dict(), "summary": r.get("summary"),
                          "outputs": n, "bytes": b}
        if disturbed(m):
            print(f"      ! other processes used {m.others_cpu_s:.1f} CPU s during this run: figures disturbed")
        if n != expected:
            print(f"      ! {name} wrote {n} {label} files, {expected} expected")
        if tree.originals_count:
            print(f"      ({name} also copied {tree.originals_count} originals, "
                  f"{mb(tree.originals_bytes):.2f} MB: not counted above)")
        other = tree.by_format.get("other")
        if other:
            print(f"      ({name} also wrote {other[0]} other files (JSON, state), {mb(other[1]):.2f} MB: not counted)")
    if "eleventy-img" in runs and "summary" in runs["eleventy-img"]:
        s = runs["eleventy-img"]["summary"]
        print(f"  eleventy-img {s.get('version')} / sharp {s.get('sharp')} / libvips {s.get('libvips')} / "
              f"node {s.get('node')}; Image.concurrency {s.get('eleventy_img_concurrency')}, "
              f"libvips threads per image {s.get('sharp_concurrency')}")
    if "floor" in runs and "summary" in runs["floor"]:
        s = runs["floor"]["summary"]
        print(f"  floor: Pillow {s.get('pillow')}; worker seconds: decode {s['decode_s']:.2f}, "
              f"convert {s['convert_s']:.2f}, encode+write {s['encode_s']:.2f}")
    ours_r, peer_r, floor_r = runs.get("ours"), runs.get("eleventy-img"), runs.get("floor")
    ok = lambda r: r is not None and "error" not in r  # noqa: E731
    if ok(ours_r) and ok(peer_r):
        o, t = ours_r["measure"], peer_r["measure"]
        ob, tb = _image_bytes(ours_r["tree"], formats)[1], _image_bytes(peer_r["tree"], formats)[1]
        speed = t.wall_s / o.wall_s
        print(f"  ours/eleventy-img: wall {o.wall_s / t.wall_s:.2f} ({speed:.2f}x as fast; target >= "
              f"{TARGETS['build_speedup']}x: {verdict(speed >= TARGETS['build_speedup'])}), "
              f"CPU {o.cpu_s / t.cpu_s:.2f}, RSS {o.maxrss_bytes / t.maxrss_bytes:.2f}, "
              f"PSS {o.tree_pss_peak_bytes / max(1, t.tree_pss_peak_bytes):.2f}, "
              f"bytes {ob / tb:.3f} (target within ±{TARGETS['bytes_within']:.0%}: "
              f"{verdict(abs(ob / tb - 1) <= TARGETS['bytes_within'])}){caveat(o, t)}")
        for fmt in formats:
            oc, ob_ = ours_r["tree"].by_format.get(fmt, (0, 0))
            tc, tb_ = peer_r["tree"].by_format.get(fmt, (0, 0))
            if tb_:
                print(f"      {fmt}: ours {oc} files {mb(ob_):.2f} MB, eleventy-img {tc} files "
                      f"{mb(tb_):.2f} MB, ratio {ob_ / tb_:.3f}")
        out_json["ours/eleventy-img"] = {"wall": o.wall_s / t.wall_s, "cpu": o.cpu_s / t.cpu_s,
                                         "bytes": ob / tb, "speedup": speed}
    if ok(ours_r) and ok(floor_r):
        o, f = ours_r["measure"], floor_r["measure"]
        ratio = o.wall_s / f.wall_s
        print(f"  ours/floor: wall {ratio:.2f} (target <= {TARGETS['floor_ratio']}: "
              f"{verdict(ratio <= TARGETS['floor_ratio'])}), CPU {o.cpu_s / f.cpu_s:.2f}{caveat(o, f)}")
        out_json["ours/floor"] = {"wall": ratio, "cpu": o.cpu_s / f.cpu_s}
    if ok(peer_r) and ok(floor_r):
        t, f = peer_r["measure"], floor_r["measure"]
        print(f"  eleventy-img/floor: wall {t.wall_s / f.wall_s:.2f}, CPU {t.cpu_s / f.cpu_s:.2f}")
        out_json["eleventy-img/floor"] = {"wall": t.wall_s / f.wall_s, "cpu": t.cpu_s / f.cpu_s}
    if not args.skip_quality:
        quality_lines(sources, runs, label, out_json)
    results[f"build {label}"] = out_json


def quality_lines(sources, runs, label, out_json) -> None:
    """SSIM of every output of ours and eleventy-img against a reference resize of the
    full-resolution source (bench/quality.py), per format and width, and paired."""
    try:
        import quality
    except ImportError as exc:
        print(f"  quality: not scored ({exc}; pip install -r requirements-dev.txt)")
        return
    scored = {}
    for name, files in (("ours", lambda r: quality.ours_files(RUNS / f"ours-{label}" / "out", sources)),
                        ("eleventy-img", lambda r: quality.peer_files(r.get("summary") or {}))):
        r = runs.get(name)
        if r is None or "error" in r:
            continue
        t0 = time.perf_counter()
        scored[name] = quality.score_all(files(r))
        print(f"  quality: scored {len(scored[name])} {name} outputs in {time.perf_counter() - t0:.1f} s")
    if not scored:
        return
    print("  SSIM against a one-step Lanczos resize of the full-resolution source (1 = identical; mean / min):")
    summaries = {name: quality.summarize(rows) for name, rows in scored.items()}
    keys = sorted({k for s in summaries.values() for k in s})
    print("      " + row(["output"] + list(summaries), [14] + [22] * len(summaries)))
    for k in keys:
        cells = [f"{k[0]} {k[1]}"]
        for s in summaries.values():
            v = s.get(k)
            cells.append(f"{v['mean']:.4f} / {v['min']:.4f} ({v['n']})" if v else "-")
        print("      " + row(cells, [14] + [22] * len(summaries)))
    out_json["quality"] = {name: {"rows": rows, "summary": {f"{k[0]} {k[1]}": v for k, v in summaries[name].items()}}
                           for name, rows in scored.items()}
    if "ours" in scored and "eleventy-img" in scored:
        c = quality.compare(scored["ours"], scored["eleventy-img"])
        out_json["quality"]["ours-eleventy-img"] = c
        if c["pairs"]:
            w = c["worst"]
            print(f"  SSIM ours - eleventy-img over {c['pairs']} paired outputs: mean {c['mean_delta']:+.4f} "
                  f"(target >= 0: {verdict(c['mean_delta'] >= 0)}); lower by > 0.005 in {c['worse']}; "
                  f"worst {w['delta']:+.4f} ({' '.join(map(str, w['output']))})")


# ------------------------------------------------------------ noop / rss ---

def noop_section(sources, args, results) -> None:
    import ours as ours_mod

    n = args.noop_count
    section(f"rebuilds (ours): {n} sources (unique variants cycling through the {len(sources)} corpus sources)")
    try:
        r = ours_mod.rebuild_figures(sources, RUNS / "noop", n, keep=args.keep)
    except Exception as exc:
        print(f"  not run: {str(exc).strip()[:1500]}")
        results["rebuilds"] = {"error": str(exc)}
        return
    out = {}
    for step, target, what in (("initial", None, "full build"), ("noop", TARGETS["noop_s"], "no-op rebuild"),
                               ("changed", TARGETS["changed_s"], "one source changed")):
        m, s = r[step]["measure"], r[step]["summary"]
        tgt = f"; target < {target} s: {verdict(m.wall_s < target)}{caveat(m)}" if target else ""
        print(f"  {what:20s} wall {m.wall_s:7.2f} s, CPU {m.cpu_s:7.2f} s, RSS {mb(m.maxrss_bytes):5.0f} MB, "
              f"rendered {s.get('rendered', '?')}/{s.get('sources', '?')}, output files touched "
              f"{r[step]['files_touched']}, others' CPU {m.others_cpu_s:.1f} s{tgt}")
        out[step] = {"measure": m.as_dict(), "summary": s, "files_touched": r[step]["files_touched"]}
    results["rebuilds"] = out


def rss_section(args, results) -> None:
    import ours as ours_mod

    section("worker peak RSS (ours, doit -n 1, one 6000x4000 source)")
    out = {}
    for formats in (("jpeg", "webp"),) + ((("jpeg", "webp", "avif"),) if not args.skip_avif else ()):
        label = "+".join(formats)
        try:
            r = ours_mod.worker_rss(RUNS / f"rss-{label}", formats=formats)
        except Exception as exc:
            print(f"  {label}: not run: {str(exc).strip().splitlines()[-1][:300]}")
            out[label] = {"error": str(exc)}
            continue
        m = r["measure"]
        print(f"  {label:15s} peak RSS {mb(m.maxrss_bytes):6.0f} MB (target < {TARGETS['rss_mb']} MB: "
              f"{verdict(mb(m.maxrss_bytes) < TARGETS['rss_mb'])}), wall {m.wall_s:.2f} s, CPU {m.cpu_s:.2f} s")
        out[label] = {"measure": m.as_dict(), "summary": r["summary"], "source": r["source"]}
    results["rss"] = out


# ------------------------------------------------------------------ serve ---

def serve_section(sources, args, results) -> None:
    import ours as ours_mod
    import serving

    section(f"serving: wrk -t2 -c100 -d{args.serve_seconds}s --latency on 127.0.0.1")
    tree = RUNS / "ours-jpeg+webp" / "out"
    if not (tree / "manifest.json").exists():
        print("  building ours' output tree first …", flush=True)
        try:
            ours_mod.run_ours(sources, tree.parent, ("jpeg", "webp"))
        except Exception as exc:
            print(f"  not run: cannot build the tree: {str(exc).strip()[:800]}")
            results["serve"] = {"error": str(exc)}
            return
    try:
        r = serving.serve_bench(tree, seconds=args.serve_seconds, repeat=args.repeat)
    except Exception as exc:
        print(f"  not run: {str(exc).strip()[:1500]}")
        results["serve"] = {"error": str(exc)}
        return
    print(f"  tree {tree}; URLs by group: {r.get('urls')} (refused by a server: {r.get('url_groups_refused')})")
    hdr = ["server", "req/s", "p50 ms", "p99 ms", "MB/s", "non-2xx", "sock err", "server CPU s", "others' CPU s"]
    w = [10, 10, 8, 8, 8, 8, 8, 12, 13]
    print(row(hdr, w))
    for name in ("nginx", "serve.py"):
        s = r.get(name)
        if not s:
            continue
        if "requests_per_s" not in s:
            print(f"  {name}: not run: {s.get('error', '?')[:600]}")
            continue
        print(row([name, f"{s['requests_per_s']:.0f}", f"{s.get('p50_ms', float('nan')):.2f}",
                   f"{s.get('p99_ms', float('nan')):.2f}", f"{mb(s.get('transfer_bytes_per_s', 0)):.0f}",
                   s["non_2xx_3xx"], s["socket_errors"], f"{s.get('server_cpu_s', 0):.1f}",
                   f"{s.get('others_cpu_s', 0):.1f}"], w))
        if s.get("others_cpu_s", 0) > 0.1 * args.serve_seconds * (os.cpu_count() or 1):
            print(f"      ! other processes used {s['others_cpu_s']:.1f} CPU s during this run: figures disturbed")
        if s.get("error"):
            print(f"      ! {s['error']}")
    n, p = r.get("nginx", {}), r.get("serve.py", {})
    if n.get("requests_per_s") and p.get("requests_per_s"):
        share = p["requests_per_s"] / n["requests_per_s"]
        print(f"  serve.py/nginx requests/s: {share:.2f} (target >= {TARGETS['serve_share']}: "
              f"{verdict(share >= TARGETS['serve_share'])})"
              + (" [disturbed run: not reliable]" if any(s.get("others_cpu_s", 0) > 0.1 * args.serve_seconds
                                                         * (os.cpu_count() or 1) for s in (n, p)) else ""))
        r["share"] = share
    for s in (n, p):
        s.pop("raw", None)
    results["serve"] = r


# ------------------------------------------------------------------- main ---

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--limit", type=int, help="use the first N corpus sources (default: all)")
    ap.add_argument("--skip-peer", action="store_true", help="do not run eleventy-img")
    ap.add_argument("--skip-avif", action="store_true", help="no second build run with AVIF")
    ap.add_argument("--skip-quality", action="store_true", help="do not score outputs' SSIM (bench/quality.py)")
    ap.add_argument("--only", choices=("build", "noop", "serve", "rss"))
    ap.add_argument("--noop-count", type=int, default=1000, help="sources of the rebuild figures (1000)")
    ap.add_argument("--serve-seconds", type=int, default=10, help="length of each wrk run (10)")
    ap.add_argument("--repeat", type=int, default=1, help="build runs per tool and wrk runs per server; the best is shown (1)")
    ap.add_argument("--keep", action="store_true", help="keep the rebuild figures' 1000-source tree")
    ap.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = ap.parse_args(argv)

    print(f"bench {time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, {platform.python_implementation()} "
          f"{platform.python_version()}")
    sources = corpus.build_corpus(limit=args.limit)
    if not sources:
        print("empty corpus", file=sys.stderr)
        return 1
    print(f"corpus: {corpus.describe(sources)}")
    results: dict = {"corpus": {"sources": len(sources), "megapixels": sum(s.megapixels for s in sources),
                                "bytes": sum(s.bytes for s in sources)}}
    RUNS.mkdir(parents=True, exist_ok=True)
    want = lambda s: args.only in (None, s)  # noqa: E731
    try:
        if want("build"):
            build_section(sources, ("jpeg", "webp"), args, results)
            if not args.skip_avif:
                build_section(sources, ("jpeg", "webp", "avif"), args, results)
        if want("noop"):
            noop_section(sources, args, results)
        if want("rss"):
            rss_section(args, results)
        if want("serve"):
            serve_section(sources, args, results)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

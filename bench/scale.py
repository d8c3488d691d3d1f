"""Scale benchmark (issue 12): a generated catalog of N items over S distinct source files.

    .venv/bin/python bench/scale.py --items 10000 --sources 2000 [--only build,noop,change,nginx,serve,publish,dask]
                                    [--work bench/.cache/scale] [--output DIR] [--json FILE]

Figures (each printed as one line, and as JSON with --json):

- ``build``: a full build from nothing (``doit -n 2``), wall time and the driver's peak RSS.
- ``noop``: a second ``doit`` with nothing to do: wall time and driver peak RSS (the plan is
  read back from ``.cache/plan.pickle``; the summary line has the reporter's own time).
- ``change`` (not by default): what one change costs once the plan cache misses: one item
  appended to the catalog (the catalog is parsed and planned again, nothing rendered), then one
  source file's bytes changed (one source rendered again), each a ``doit`` run: wall time, RSS
  and summary. The source's bytes and mtime are put back afterwards.
- ``objects_files``: files and folders under ``output/`` (legacy links included).
- ``manifest``: size of ``manifest.json``.
- ``nginx``: the hosting action (``hosting.nginx.write_nginx_config``, what ``doit hosting``
  runs once ``objects`` is up to date, in a child process: wall time and peak RSS), the config's
  size, its bytes per map (the largest ones) and per item, and ``nginx -t`` time (needs nginx);
  then nginx itself (one worker) on that config: start-up and requests per second of a bounded
  run (``--requests``, each a distinct item, ``?maxWidth=64``, one keep-alive connection).
- ``publish``: ``doit publish`` into a moto S3 server (started here, as tests/conftest.py
  does): the first run (objects uploaded), then a second run with nothing to upload: its wall
  time, the HTTP requests moto received during it (from moto's request log), the objects in
  the bucket, and the time of one listing of them alone (what moto's listing costs).
- ``serve``: serve.py (1 worker) RSS after start-up and after a bounded run of image requests
  (``--requests``, each a distinct item), and requests per second of that run.
- ``dask``: render throughput (sources/s) of ``executor=dask`` with 1 and 2 local workers
  (``--dask-sources`` sources, a fresh output each).

Sources are small generated JPEGs (64–127 px wide), so the figures measure the per-item costs of
planning, objects, index, config and serving, not pixels. Times are wall-clock on whatever
machine runs it: record its load next to the figures. No assertion anywhere: a measuring tool.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

SETTINGS = """\
settings:
  formats: [Original, Jpg, Webp]
  qualities: [80]
  sizes: [{maxWidth: [32, 64]}]
"""


def generate(work: Path, items: int, sources: int) -> Path:
    """``work/catalog.yaml`` with ``items`` Movies, item i's Primary being source i % S."""
    from PIL import Image
    media = work / "media"
    media.mkdir(parents=True, exist_ok=True)
    for s in range(sources):
        path = media / f"s{s:05d}.jpg"
        if not path.exists():
            image = Image.new("RGB", (64 + s % 64, 96), ((s * 37) % 256, (s * 91) % 256, (s * 13) % 256))
            image.putpixel((0, 0), (s % 256, s // 256 % 256, 255))   # distinct bytes: distinct tags
            image.putpixel((1, 0), (s // 65536 % 256, 0, 0))
            image.save(path, quality=95)
    lines = [SETTINGS, "items:\n"]
    for i in range(items):
        lines.append(f"  - {{id: item{i:06d}, name: Item {i}, type: Movie, images: {{Primary: media/s{i % sources:05d}.jpg}}}}\n")
    catalog = work / f"catalog-{items}.yaml"
    catalog.write_text("".join(lines))
    return catalog


def doit(catalog: Path, output: Path, *args: str) -> tuple[float, float, str]:
    """Run doit in a child; (seconds, peak RSS of that child in MB, stdout)."""
    cmd = [PY, "-c", "import resource,subprocess,sys;"
           "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
           "print(r.stdout[-3000:]);print(r.stderr[-2000:],file=sys.stderr);"
           "print('RSS_KB',resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);sys.exit(r.returncode)",
           PY, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT), *args,
           f"catalog={catalog}", f"output={output}"]
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - started
    rss = next((int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("RSS_KB")), 0)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return seconds, rss / 1024, result.stdout


def timed_child(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` from the project root; (wall seconds, its peak RSS in MB). Raises on failure."""
    wrapper = [PY, "-c", "import resource,subprocess,sys;r=subprocess.run(sys.argv[1:]);"
               "print('RSS_KB',resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);sys.exit(r.returncode)", *cmd]
    started = time.monotonic()
    result = subprocess.run(wrapper, capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {result.stderr[-2000:]}")
    rss = next(int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("RSS_KB"))
    return seconds, rss / 1024


def map_sizes(conf: Path) -> list[tuple[str, int, int]]:
    """[(nginx variable, lines, bytes)] of each multi-line ``map`` block of ``conf``, largest
    first (where a generated config's bytes go)."""
    sizes: dict[str, list[int]] = {}
    current = None
    with open(conf, encoding="utf-8") as f:
        for line in f:
            if current is None:
                words = line.split()
                if line.startswith("map ") and line.rstrip().endswith("{") and len(words) >= 4:
                    current = words[-2]
                    sizes.setdefault(current, [0, 0])[1] += len(line.encode())
                continue
            sizes[current][0] += 1
            sizes[current][1] += len(line.encode())
            if line.strip() == "}":
                current = None
    return sorted(((v, n, b) for v, (n, b) in sizes.items()), key=lambda t: -t[2])


def count_tree(output: Path) -> int:
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(output))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """RSS of ``pid`` and its children (MB), from /proc."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def nginx_requests(conf: Path, work: Path, items: int, requests: int) -> dict:
    """Start nginx on the generated ``conf`` (its ``listen`` moved to a free port) and time
    ``requests`` sequential image requests on one keep-alive connection."""
    import http.client
    import re
    sys.path.insert(0, str(ROOT))
    from pipeline.hosting.nginx import nginx_main_config
    port = free_port()
    site = work / "nginx-serve-site.conf"
    site.write_text(re.sub(r"listen \S+;", f"listen 127.0.0.1:{port};", conf.read_text(), count=1))
    main = work / "nginx-serve.conf"
    main.write_text(nginx_main_config(site, work, error_log=str(work / "nginx-serve-error.log")))
    started = time.monotonic()
    proc = subprocess.Popen(["nginx", "-p", str(work), "-c", str(main)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.connect()
                break
            except OSError:
                time.sleep(0.05)
        startup = time.monotonic() - started
        ok = 0
        t0 = time.monotonic()
        for n in range(requests):
            i = (n * 7919) % items
            conn.request("GET", f"/Items/item{i:06d}/Images/Primary?maxWidth=64")
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
        seconds = time.monotonic() - t0
        return {"startup_s": round(startup, 2), "rss_mb": round(rss_mb(proc.pid), 1), "requests": requests,
                "ok": ok, "req_per_s": round(requests / seconds, 1)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def serve(output: Path, items: int, requests: int) -> dict:
    port = free_port()
    proc = subprocess.Popen([PY, str(ROOT / "serve.py"), "--output", str(output), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        for _ in range(1200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/System/Info/Public", timeout=1):
                    break
            except urllib.error.HTTPError:
                break                               # it answers: up
            except OSError:
                time.sleep(0.05)
        startup = time.monotonic() - started
        rss_start = rss_mb(proc.pid)
        t0 = time.monotonic()
        ok = 0
        for n in range(requests):
            i = (n * 7919) % items
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/Items/item{i:06d}/Images/Primary?maxWidth=64",
                                            timeout=10) as r:
                    r.read()
                    ok += r.status == 200
            except OSError:
                pass
        seconds = time.monotonic() - t0
        return {"startup_s": round(startup, 2), "rss_start_mb": round(rss_start, 1),
                "rss_after_mb": round(rss_mb(proc.pid), 1), "requests": requests, "ok": ok,
                "req_per_s": round(requests / seconds, 1)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def publish(catalog: Path, output: Path, work: Path):
    """Two ``doit publish`` runs into a fresh moto S3 server; yields (figure name, values)."""
    import boto3
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_PREFIX"):
        env.pop(name, None)
    port = free_port()
    log_path = work / "moto.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1")
        client.create_bucket(Bucket="scale")
        old_env = dict(os.environ)
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        try:
            for run in ("publish_first", "publish_noop"):
                before = log_path.read_text().count("\n")
                seconds, rss, out = doit(catalog, output, "publish", "bucket=scale", f"endpoint={endpoint}", "jobs=16")
                lines = log_path.read_text().splitlines()[before:]
                requests = [line for line in lines if '" 200 ' in line or '" 204 ' in line or '" 404 ' in line]
                t0 = time.monotonic()       # one listing like publish's, timed alone
                listed = sum(page.get("KeyCount", 0) for page in
                             client.get_paginator("list_objects_v2").paginate(Bucket="scale"))
                list_s = time.monotonic() - t0
                yield run, {"seconds": round(seconds, 1), "driver_rss_mb": round(rss),
                            "requests": len(requests),
                            "puts": sum(1 for line in requests if '"PUT ' in line),
                            "lists": sum(1 for line in requests if "list-type=2" in line),
                            "objects_in_bucket": listed, "listing_alone_s": round(list_s, 1),
                            "said": [line.strip() for line in out.splitlines() if line.startswith("publish")][-2:]}
        finally:
            os.environ.clear()
            os.environ.update(old_env)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--only", default="build,noop,nginx,serve,publish,dask")
    parser.add_argument("--work", default=str(ROOT / "bench" / ".cache" / "scale"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--dask-sources", type=int, default=200)
    parser.add_argument("--json", default=None)
    parser.add_argument("--output", default=None,
                        help="the built output folder (default WORK/out-ITEMS); e.g. one built earlier, for --only nginx")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if args.output and "build" in only:
        parser.error("--output names a folder built earlier: the build figure would delete it")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    catalog = generate(work, args.items, args.sources)
    output = Path(args.output) if args.output else work / f"out-{args.items}"
    figures = {"items": args.items, "sources": args.sources, "cpus": os.cpu_count(),
               "loadavg": os.getloadavg()}

    def report(name, **values):
        figures[name] = values
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items()), flush=True)

    if "build" in only:
        shutil.rmtree(output, ignore_errors=True)
        seconds, rss, out = doit(catalog, output, "-n", "2")
        report("build", seconds=round(seconds, 1), driver_rss_mb=round(rss), summary=[line for line in out.splitlines() if line.startswith("build:")])
        report("output_tree", files_and_folders=count_tree(output),
               manifest_mb=round((output / "manifest.json").stat().st_size / 1e6, 1))
    if "noop" in only:
        seconds, rss, out = doit(catalog, output)
        report("noop", seconds=round(seconds, 2), driver_rss_mb=round(rss),
               summary=[line for line in out.splitlines() if line.startswith("build:")])
    if "change" in only:
        text = catalog.read_text()
        catalog.write_text(text + f"  - {{id: extra, name: Extra, type: Movie, images: {{Primary: media/s00001.jpg}}}}\n")
        try:
            seconds, rss, out = doit(catalog, output)
        finally:
            catalog.write_text(text)
        report("catalog_changed", seconds=round(seconds, 2), driver_rss_mb=round(rss),
               summary=[line for line in out.splitlines() if line.startswith("build:")])
        source = work / "media" / "s00000.jpg"
        data, st = source.read_bytes(), source.stat()
        from PIL import Image
        with Image.open(source) as image:
            changed = image.convert("RGB")
        changed.putpixel((2, 0), (1, 2, 3))
        changed.save(source, quality=95)
        try:
            seconds, rss, out = doit(catalog, output)
        finally:
            source.write_bytes(data)
            os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
        report("source_changed", seconds=round(seconds, 2), driver_rss_mb=round(rss),
               summary=[line for line in out.splitlines() if line.startswith("build:")])
    if "nginx" in only and shutil.which("nginx"):
        conf = work / f"nginx-{args.items}.conf"
        code = ("import sys; from pipeline.hosting.nginx import write_nginx_config; "
                "write_nginx_config(sys.argv[1], sys.argv[2], sys.argv[3])")
        seconds, rss = timed_child([PY, "-c", code, str(output), str(conf), f"127.0.0.1:{free_port()}"])
        wrapper = work / f"nginx-{args.items}-test.conf"
        wrapper.write_text(f"pid {work}/nginx.pid; error_log stderr; events {{}}\n"
                           f"http {{ access_log off; include {conf}; }}\n")
        t0 = time.monotonic()
        check = subprocess.run(["nginx", "-t", "-c", str(wrapper), "-p", str(work)], capture_output=True, text=True)
        test_s = time.monotonic() - t0
        size = conf.stat().st_size if conf.exists() else 0
        report("nginx", config_mb=round(size / 1e6, 2), bytes_per_item=round(size / args.items),
               generate_s=round(seconds, 1), generate_rss_mb=round(rss), test_s=round(test_s, 2),
               test_ok=check.returncode == 0, message=check.stderr.strip().splitlines()[-1:] if check.stderr else [])
        if conf.exists():
            report("nginx_maps", **{var: f"{lines} lines {size / 1e6:.2f} MB" for var, lines, size in map_sizes(conf)[:8]})
            report("nginx_serve", **nginx_requests(conf, work, args.items, args.requests))
    if "serve" in only:
        report("serve", **serve(output, args.items, args.requests))
    if "publish" in only:
        for name, values in publish(catalog, output, work):
            report(name, **values)
    if "dask" in only:
        dcat = generate(work / "dask", args.dask_sources, args.dask_sources)
        for workers in (1, 2):
            dout = work / "dask" / f"out-{workers}"
            shutil.rmtree(dout, ignore_errors=True)
            seconds, _, out = doit(dcat, dout, "executor=dask", f"workers={workers}", "render")
            rendered = sum(1 for _ in (dout / "images").glob("*/render.json"))   # distinct tags
            report(f"dask_{workers}_workers", seconds=round(seconds, 1), rendered=rendered,
                   sources_per_s=round(rendered / seconds, 1),
                   summary=[line for line in out.splitlines() if line.startswith("build:")])
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

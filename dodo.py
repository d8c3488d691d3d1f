"""doit tasks for the image derivative pipeline (task logic lives in pipeline.tasks).

    doit scan library=DIR                  write catalog.yaml from a media folder (catalog=FILE)
    doit                                   build catalog.yaml into output/
    doit watch [library=DIR]               build, then rebuild on every change (Ctrl-C stops)
    doit catalog=FILE output=DIR           build another catalog into another folder
    doit base_url=https://cdn.example.com  prefix of the ART19 media assets' cdn_url
    doit -n 2                              the same on 2 processes
    doit executor=dask [scheduler=tcp://HOST:8786]   render on a Dask cluster (README)
    doit output=s3://BUCKET/PREFIX [endpoint=URL]    write straight into a bucket (work=DIR: caches)
    doit prune                             delete files of removed or changed images
    doit hosting / publish / report        nginx config, S3 upload, build report (README)
    doit clean                             delete every file the build made
"""

import sys
from pathlib import Path

from doit import get_var

from pipeline.tasks import BuildReporter, load_plan, make_executor, objects_task, plan_needed, prune_task, render_tasks, \
    scan_task, watch_task

CATALOG = Path(get_var("catalog", "catalog.yaml")).resolve()
STORE = None                           # output=s3://bucket/prefix: renders go straight to the bucket
if "://" in get_var("output", "output"):
    from pipeline.store.s3 import s3_location, work_folder
    STORE = s3_location(get_var("output"), get_var("endpoint", None))
    OUTPUT = Path(get_var("work", work_folder(get_var("output")))).resolve()   # caches, staged JSON
else:
    OUTPUT = Path(get_var("output", "output")).resolve()
BASE_URL = get_var("base_url", None)   # ART19 cdn_url prefix, e.g. https://cdn.example.com
LIBRARY = get_var("library", None)     # doit scan: the media folder
PLAN_NEEDED = plan_needed(sys.argv)    # not for `doit scan`: the catalog may be missing or stale
OUTPUT.mkdir(parents=True, exist_ok=True)

DOIT_CONFIG = {
    "default_tasks": ["render", "objects", "report"],
    "continue": True,                      # a failed source does not stop the others
    "reporter": BuildReporter,
    "dep_file": str(OUTPUT / ".cache" / "doit.db"),
    "par_type": "process",
}
(OUTPUT / ".cache").mkdir(exist_ok=True)

_PLAN = None


def _plan():
    global _PLAN
    if _PLAN is None:
        _PLAN = load_plan(CATALOG, OUTPUT, BASE_URL)
    return _PLAN


def task_render():
    """render every derivative of each source image (one task per source)"""
    if PLAN_NEEDED:
        yield from render_tasks(_plan(), OUTPUT, make_executor(get_var), STORE)


def task_objects():
    """write the JSON objects, legacy path links and manifest.json"""
    if not PLAN_NEEDED:
        return {"actions": None}
    return objects_task(_plan(), OUTPUT, CATALOG, STORE)


def task_prune():
    """delete files of removed or changed images from the output folder"""
    return prune_task(OUTPUT, CATALOG)


def task_hosting():
    """write an nginx server block for the output folder (nginx_conf=, listen=, server_name=)"""
    from pipeline.hosting.nginx import hosting_task
    dest = Path(get_var("nginx_conf", str(OUTPUT / ".cache" / "hosting" / "nginx.conf"))).resolve()
    return hosting_task(OUTPUT, dest, get_var("listen", "127.0.0.1:8080"), get_var("server_name", "_"))


def task_publish():
    """upload the output folder to an S3-compatible bucket (bucket=, prefix=, endpoint=, delete=1)"""
    from pipeline.outputs.publish import publish_task
    return publish_task(OUTPUT, get_var)


def task_report():
    """write output/index.html, the build report (thumbnails, derivatives, inheritance)"""
    from pipeline.outputs.report import report_task
    return report_task(OUTPUT)


def task_scan():
    """write the catalog from a media folder (library=DIR, catalog=FILE; see README)"""
    return scan_task(LIBRARY, CATALOG)


def task_watch():
    """build, then rebuild when the catalog or a source changes (library=DIR: re-scan too)"""
    return watch_task(CATALOG, OUTPUT, LIBRARY)

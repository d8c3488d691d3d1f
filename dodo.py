"""doit tasks for the image derivative pipeline (every task dict lives in pipeline.tasks).

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

The variables (NAME=VALUE) are listed in pipeline.tasks.VARIABLES; any other name is an error.
Loading this file reads no catalog and creates no folder.
"""

import sys

from pipeline.tasks import Build

BUILD = Build.from_command_line(sys.argv)
DOIT_CONFIG = BUILD.doit_config()


def task_render():
    """render every derivative of each source image (one task per source)"""
    yield from BUILD.render()


def task_objects():
    """write the JSON objects, legacy path links and manifest.json"""
    return BUILD.objects()


def task_prune():
    """delete files of removed or changed images from the output folder"""
    return BUILD.prune()


def task_hosting():
    """write an nginx server block for the output folder (nginx_conf=, listen=, server_name=)"""
    return BUILD.hosting()


def task_publish():
    """upload the output folder to an S3-compatible bucket (bucket=, prefix=, endpoint=, delete=1)"""
    return BUILD.publish()


def task_report():
    """write output/index.html, the build report (thumbnails, derivatives, inheritance)"""
    return BUILD.report()


def task_scan():
    """write the catalog from a media folder (library=DIR, catalog=FILE; see README)"""
    return BUILD.scan()


def task_watch():
    """build, then rebuild when the catalog or a source changes (library=DIR: re-scan too)"""
    return BUILD.watch()

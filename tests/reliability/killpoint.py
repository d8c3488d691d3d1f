"""Run ``doit`` and SIGKILL its whole process group at a chosen point (tests/reliability).

    python killpoint.py DOIT-ARGS...

Environment:

- ``KILL_COUNTER``: a file; every ``os.replace`` of any build process (doit and its ``-n``
  workers, which inherit this hook) appends one byte to it, so its size counts the atomic
  publications of the run (``KILL_AT`` unset: only count).
- ``KILL_AT=K``: kill when the K-th ``os.replace`` is about to happen.
- ``KILL_FILE=NAME`` with ``KILL_WHEN=before|after``: kill just before (or just after) the
  first ``os.replace`` onto a file called ``NAME`` (``manifest.json``).

The kill is ``os.killpg(own group, SIGKILL)``: the test starts this script with
``start_new_session=True``, so the group is the build's and nothing else.
"""

import os
import runpy
import signal
import sys

_replace = os.replace


def _kill():
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _count() -> int:
    path = os.environ.get("KILL_COUNTER")
    if not path:
        return 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b".")
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def replace(src, dst, *args, **kwargs):
    n = _count()
    if os.environ.get("KILL_AT") and n >= int(os.environ["KILL_AT"]):
        _kill()
    target = os.environ.get("KILL_FILE")
    hit = target and os.path.basename(os.fspath(dst)) == target
    if hit and os.environ.get("KILL_WHEN") == "before":
        _kill()
    result = _replace(src, dst, *args, **kwargs)
    if hit and os.environ.get("KILL_WHEN") == "after":
        _kill()
    return result


os.replace = replace

if __name__ == "__main__":
    sys.argv = ["doit", *sys.argv[1:]]
    runpy.run_module("doit", run_name="__main__", alter_sys=True)

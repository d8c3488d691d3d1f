"""Time ``pipeline.serve.ops.Operations.observe`` (the per-request metrics and access-log hook)
per call, with prometheus-client's multiprocess mode on, as serve.py runs it.

    .venv/bin/python bench/observe.py

Prints the best of 3 runs of 20,000 calls, in µs per call (bench/RESULTS.md).
"""

import os
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp())

from pipeline.serve.ops import Operations  # noqa: E402  (after the multiprocess folder is set)

ops = Operations()
environ = {"PATH_INFO": "/Items/nature-series/Images/Primary", "REQUEST_METHOD": "GET"}
headers = [("X-Image-Fit", "exact"), ("Content-Type", "image/jpeg")]
N = 20_000
best = min(timeit.repeat(lambda: ops.observe(environ, 200, headers, 1000, time.perf_counter()),
                         number=N, repeat=3))
print(f"Operations.observe: {best / N * 1e6:.1f} µs per call (best of 3 × {N})")

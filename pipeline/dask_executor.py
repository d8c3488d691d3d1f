"""``executor=dask``: render jobs on a Dask distributed cluster; everything else on the driver.

    doit executor=dask                                   a LocalCluster on this machine
    doit executor=dask scheduler=tcp://HOST:8786         an existing cluster (``dask scheduler``
                                                         + ``dask worker`` processes, Kubernetes…)
    doit executor=dask workers=4                         LocalCluster size (default: CPU count)

What runs where: doit (the driver) loads and plans the catalog, decides which render jobs are
up to date (``tasks.is_rendered``: the render record exists in the store), and runs the
``objects``, ``report`` and ``publish`` steps. Workers run ``tasks.run_job`` on picklable
``RenderJob``s: they read the source file and write the derivatives straight into the store
(``output=``: a folder every worker sees at the same path, or a bucket), the render record last.
Workers need the package installed (``pip install .``) and the same source paths.

Each ``render:{name}`` doit task stays a task, so the progress reporter and the closing
summary are the executor-independent ones. A task's action does not render: it keeps a bounded
window of jobs ahead of it submitted to the cluster (``window``; Dask advises against
submitting millions of tasks at once), then waits for its own job's future. Futures are keyed
``render-{name}`` (a tag names its inputs, so two builds submitting the same key want the same
bytes). A job whose worker dies is re-run by the scheduler (Dask's ``allowed-failures``), and a
job that raises is retried ``retries`` times; a ``SourceError`` (the source changed since
planning) is not retried and fails that task only. A run where every job is up to date
submits nothing and does not even connect to the scheduler.

Source: Dask's futures API (``Client.submit(key=, retries=, priority=)``,
https://distributed.dask.org/en/stable/client.html) and best practices ("avoid very large
graphs").
"""

import atexit
import os
import sys
from typing import Iterator

from pipeline.errors import SourceError
from pipeline.store import open_store
from pipeline.tasks import RenderJob, is_rendered, render_task, run_job

#: Jobs submitted ahead of the one a task waits for, per worker thread (bounded below by 8).
WINDOW_PER_THREAD = 4
#: Retries of a job that raised on a worker (a lost worker is rescheduled by Dask itself).
RETRIES = 2


def remote_render(job: RenderJob) -> dict:
    """What a worker runs: ``run_job(job)``; a ``SourceError`` comes back as
    ``{"source_error": message}`` (retrying cannot help it), any other error is raised."""
    try:
        return run_job(job)
    except SourceError as exc:
        return {"source_error": str(exc)}


class DaskExecutor:
    """The ``Executor`` for ``executor=dask``.

    ``scheduler``: address of an existing scheduler (``tcp://HOST:8786``) or None for a
    ``LocalCluster`` of ``workers`` single-threaded worker processes (default: CPU count).
    ``window``: jobs in flight at once (default ``WINDOW_PER_THREAD`` × worker threads).
    ``submitted``: how many jobs this run sent to the cluster.
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 window: int | None = None, retries: int = RETRIES):
        self.scheduler = scheduler or None
        self.workers = workers
        self.window = window
        self.retries = retries
        self.client = None
        self.cluster = None
        self.submitted = 0
        self.jobs: list[RenderJob] = []
        self.position: dict[str, int] = {}
        self.futures: dict[str, object] = {}     # job name → Future, in flight or done
        self.done: set[str] = set()              # names found up to date while looking ahead
        self.cursor = 0                          # next job index to consider for submission
        self.pid = os.getpid()

    # -- the Executor protocol -----------------------------------------------------------
    def tasks(self, jobs: list[RenderJob]) -> Iterator[dict]:
        self.jobs = list(jobs)
        self.position = {job.name: i for i, job in enumerate(self.jobs)}
        for job in self.jobs:
            task = render_task(job, [(self._collect, [job])])
            task["uptodate"] = [lambda j=job: self._uptodate(j)]
            yield task

    # -- driver side ---------------------------------------------------------------------
    def _uptodate(self, job: RenderJob) -> bool:
        if job.name in self.futures:          # submitted by look-ahead: collect its result
            return False
        return job.name in self.done or is_rendered(open_store(job.store), job)

    def _connect(self):
        if self.client is not None:
            return self.client
        from distributed import Client, LocalCluster
        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s")
        else:
            n = self.workers or os.cpu_count() or 1
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        atexit.register(self.close)
        if self.window is None:
            threads = sum(self.client.nthreads().values()) or 1
            self.window = max(8, WINDOW_PER_THREAD * threads)
        return self.client

    def close(self):
        """Disconnect (and stop the LocalCluster, if this executor started one)."""
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def _submit(self, job: RenderJob):
        client = self._connect()
        self.futures[job.name] = client.submit(
            remote_render, job, key=f"render-{job.name}", pure=False, retries=self.retries,
            priority=-self.position.get(job.name, 0))
        self.submitted += 1

    def _fill(self, start: int):
        """Submit the jobs from index ``start`` on that are not up to date, until ``window``
        futures are in flight."""
        self.cursor = max(self.cursor, start)
        while self.cursor < len(self.jobs):
            if self.window is not None and len(self.futures) >= self.window:
                return
            job = self.jobs[self.cursor]
            self.cursor += 1
            if job.name in self.futures or job.name in self.done:
                continue
            if is_rendered(open_store(job.store), job):
                self.done.add(job.name)
                continue
            self._submit(job)

    def _collect(self, job: RenderJob):
        from doit.exceptions import TaskFailed
        if os.getpid() != self.pid:
            return TaskFailed("executor=dask runs render tasks from the driver: drop doit's -n/-P")
        if job.name not in self.futures:
            self._submit(job)
        self._fill(self.position.get(job.name, 0) + 1)
        future = self.futures[job.name]
        try:
            values = future.result()
        except Exception as exc:  # noqa: BLE001 - the worker's error, reported on this task
            return TaskFailed(f"{job.name}: {type(exc).__name__}: {exc}")
        finally:
            del self.futures[job.name]
            future.release()
            self._fill(self.cursor)
        if "source_error" in values:
            return TaskFailed(values["source_error"])
        return values


def executor_from_vars(get_var) -> "DaskExecutor":
    """``DaskExecutor`` from the doit variables ``scheduler=``, ``workers=``, ``window=``."""
    def number(name):
        text = get_var(name, None)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            print(f"{name}={text}: expected a positive whole number", file=sys.stderr)
            raise SystemExit(2)
        return value
    return DaskExecutor(get_var("scheduler", None), number("workers"), number("window"))

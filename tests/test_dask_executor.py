"""``doit executor=dask``: a real ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 build a catalog byte for byte like the single-machine build, survive a worker killed
with SIGKILL mid-build, and a second run submits nothing. Also the LocalCluster form and the
executor's bounded submission window (unit level)."""

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, copy_media, free_port, run_doit, running_process

pytest.importorskip("distributed")

MEDIA = ["poster-wood.jpg", "Garden.jpg", "YellowFlower.jpg", "banner-elephants.jpg",
         "Aqua.jpg", "poster-ladybird.jpg", "matplotlib-logo.png", "Stripes.png"]
N = len(MEDIA)     # distinct sources: render jobs

SETTINGS = """\
settings:
  legacy_links: true        # the S3 build makes them by server-side copy: compared too
  formats: [Original, Jpg, Webp, Png]
  qualities: [60, 90]
  sizes: [{maxWidth: [80, 160, 320, 480]}]
"""


def make_catalog(root: Path) -> Path:
    copy_media(root, *MEDIA)
    items = "".join(
        f"  - {{id: item{i}, name: Item {i}, type: Movie, images: {{Primary: media/{name}, "
        f"Backdrop: [media/{MEDIA[(i + 1) % N]}]}}}}\n"
        for i, name in enumerate(MEDIA))
    (root / "catalog.yaml").write_text(SETTINGS + "items:\n" + items)
    return root / "catalog.yaml"


def tree(output: Path) -> dict[str, bytes]:
    """Every published file (not ``.cache/``): relpath → bytes (a link's target bytes)."""
    return {p.relative_to(output).as_posix(): p.read_bytes()
            for p in sorted(output.rglob("*"))
            if p.is_file() and not p.relative_to(output).as_posix().startswith(".cache")}


def records(output: Path) -> int:
    return sum(1 for _ in (output / "images").glob("*/render.json")) if (output / "images").is_dir() else 0


def worker_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1"})
    return env


@contextmanager
def cluster(workers: int = 2):
    """A scheduler and ``workers`` single-threaded, nanny-less workers on 127.0.0.1 (their
    output, shown when one fails to start, goes to files: Dask logs a lot); yields
    (address, [worker processes])."""
    bindir = Path(sys.executable).parent
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    with ExitStack() as stack:
        stack.enter_context(running_process(
            [str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard", "--no-show"], port, "dask scheduler", env=worker_env(), cwd=ROOT))
        procs = []
        for i in range(workers):
            wport = free_port()
            procs.append(stack.enter_context(running_process(
                [str(bindir / "dask"), "worker", address, "--host", "127.0.0.1", "--worker-port",
                 str(wport), "--no-nanny", "--nthreads", "1", "--memory-limit", "1GB",
                 "--no-dashboard", "--death-timeout", "60"],
                wport, f"dask worker {i}", env=worker_env(), cwd=ROOT)))
        wait_for_workers(address, workers)
        yield address, procs


def scheduler_info(address: str, what):
    from distributed import Client
    with Client(address, timeout="20s") as client:
        return client.run_on_scheduler(what)


def wait_for_workers(address: str, n: int):
    from distributed import Client
    with Client(address, timeout="20s") as client:
        client.wait_for_workers(n, timeout=30)


def transitions(dask_scheduler=None):
    return dask_scheduler.transition_counter


import cloudpickle  # noqa: E402  (the scheduler cannot import this test module: ship by value)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def test_cluster_build_matches_local_build_and_noop_submits_nothing(tmp_path):
    catalog = make_catalog(tmp_path)
    local = tmp_path / "local"
    run_doit(catalog, local, check=True)
    with cluster(2) as (address, _procs):
        out = tmp_path / "dask"
        first = run_doit(catalog, out, "executor=dask", f"scheduler={address}", check=True)
        assert f"{N} rendered" in first.stdout, first.stdout
        assert tree(out) == tree(local)
        before = scheduler_info(address, transitions)
        second = run_doit(catalog, out, "executor=dask", f"scheduler={address}", check=True)
        assert f"0 rendered, {N} up to date" in second.stdout, second.stdout
        assert scheduler_info(address, transitions) == before          # nothing submitted
        assert tree(out) == tree(local)


def test_sigkill_of_a_worker_mid_build_still_completes_identically(tmp_path):
    catalog = make_catalog(tmp_path)
    local = tmp_path / "local"
    run_doit(catalog, local, check=True)
    with cluster(2) as (address, procs):
        out = tmp_path / "dask"
        cmd = [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
               "executor=dask", f"scheduler={address}", "window=4",
               f"catalog={catalog}", f"output={out}"]
        build = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            while records(out) < 1 and time.monotonic() < deadline and build.poll() is None:
                time.sleep(0.01)
            done_at_kill = records(out)
            procs[0].send_signal(signal.SIGKILL)
            stdout, _ = build.communicate(timeout=300)
        finally:
            if build.poll() is None:
                build.kill()
                build.wait()
        assert 1 <= done_at_kill < N, "the worker must die mid-build"
        assert build.returncode == 0, stdout
        assert f"{N} rendered" in stdout, stdout
        assert tree(out) == tree(local)


def test_local_cluster_build(tmp_path):
    catalog = make_catalog(tmp_path)
    local = tmp_path / "local"
    run_doit(catalog, local, check=True)
    out = tmp_path / "dask"
    result = run_doit(catalog, out, "executor=dask", "workers=2", check=True)
    assert f"{N} rendered" in result.stdout, result.stdout
    assert tree(out) == tree(local)


def test_unknown_executor_is_refused(tmp_path):
    catalog = make_catalog(tmp_path)
    result = run_doit(catalog, tmp_path / "out", "executor=spark")
    assert result.returncode != 0
    assert "executor=spark: unknown (known: local, dask)" in result.stderr


def test_window_bounds_submissions(monkeypatch):
    """Look-ahead never holds more than ``window`` futures; each task collects its own."""
    from pipeline import dask_executor as de

    class FakeFuture:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

        def release(self):
            pass

    class FakeClient:
        def __init__(self):
            self.keys = []

        def submit(self, fn, job, key, pure, retries, priority):
            self.keys.append(key)
            return FakeFuture({"files": 1, "bytes": 2, "name": job.name})

    class Job:
        def __init__(self, name):
            self.name, self.store = name, "unused"

    executor = de.DaskExecutor(window=3)
    executor.client = FakeClient()
    monkeypatch.setattr(de, "is_rendered", lambda store, job: job.name in ("j2",))
    monkeypatch.setattr(de, "open_store", lambda location: None)
    jobs = [Job(f"j{i}") for i in range(8)]
    executor.jobs, executor.position = jobs, {j.name: i for i, j in enumerate(jobs)}
    peak = 0
    for job in jobs:
        if executor._uptodate(job):
            continue
        assert executor._collect(job)["name"] == job.name
        peak = max(peak, len(executor.futures))
    assert peak <= 3
    assert executor.client.keys == [f"render-j{i}" for i in range(8) if i != 2]
    assert executor.submitted == 7


def test_cluster_build_straight_into_s3_matches_local_build(tmp_path, monkeypatch):
    """Workers write the renders into a moto S3 server themselves; the driver adds the JSON
    objects and the manifest; the bucket holds byte for byte the local build's files."""
    boto3 = pytest.importorskip("boto3")
    from conftest import moto_server, use_test_aws_credentials
    from test_s3_store import bucket_tree, local_tree
    use_test_aws_credentials(monkeypatch)
    catalog = make_catalog(tmp_path)
    run_doit(catalog, tmp_path / "local", check=True)
    with moto_server() as endpoint, cluster(2) as (address, _procs):
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="media")
        args = ("executor=dask", f"scheduler={address}", f"endpoint={endpoint}", f"work={tmp_path / 'work'}")
        first = run_doit(catalog, "s3://media/lib", *args, check=True)
        assert f"{N} rendered" in first.stdout, first.stdout
        got = bucket_tree(endpoint, "media", "lib/")
        assert {k: v[0] for k, v in got.items()} == local_tree(tmp_path / "local")
        before = scheduler_info(address, transitions)
        second = run_doit(catalog, "s3://media/lib", *args, check=True)
        assert f"0 rendered, {N} up to date" in second.stdout, second.stdout
        assert scheduler_info(address, transitions) == before

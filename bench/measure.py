"""Run one command as a child process and measure it.

Units (everywhere in the bench package unless a name says otherwise):
  * times in seconds (float), wall time from ``time.perf_counter``;
  * CPU time = user + system seconds of the child *and of every descendant it
    waited for* (doit's worker processes, node's threads), as returned by
    ``os.wait4`` for that child (the kernel adds the reaped descendants' usage);
  * memory in bytes.

Two peak-memory figures are given, because the tools differ in process model
(eleventy-img: one node process with threads; doit ``-n 2``: a parent and two
forked worker processes; the floor: a parent and a pool of two processes):
  * ``maxrss_bytes``: ``ru_maxrss`` from ``wait4`` — the peak resident set of
    the *largest single process* in the tree (the child or a reaped descendant),
    not a sum;
  * ``others_cpu_s``: CPU seconds the whole machine spent (from /proc/stat)
    during the run minus the child's own: other processes competing for the
    cores (another build, an editor…). Well above 0 means the figures are
    disturbed; run again on a quiet machine.

  * ``tree_pss_peak_bytes``: the peak, sampled every ``sample_interval`` s, of
    the sum of the proportional set size (PSS, from /proc/PID/smaps_rollup, shared
    pages split between the processes sharing them) over the child and all its
    live descendants. Sampling can miss a spike shorter than the interval.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass
class Measurement:
    """Result of :func:`run_child`. Times in s, memory in bytes."""

    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_bytes: int
    tree_pss_peak_bytes: int
    stdout: str
    stderr: str
    timed_out: bool = False
    others_cpu_s: float = 0.0  # CPU s used on the machine by anything else meanwhile


    @property
    def cpu_s(self) -> float:
        """user + sys CPU seconds of the child and its reaped descendants."""
        return self.user_s + self.sys_s

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def check(self, what: str) -> "Measurement":
        """Raise RuntimeError with the tail of stderr when the child failed."""
        if not self.ok:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-25:])
            why = "timed out" if self.timed_out else f"exited {self.returncode}"
            raise RuntimeError(f"{what} {why}: {' '.join(self.argv)}\n{tail}")
        return self

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("stdout")
        d.pop("stderr")
        d["cpu_s"] = self.cpu_s
        return d


def machine_busy_s() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return kids


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live descendants
    (/proc/PID/stat; threads included, reaped children counted by their parent)."""
    total, todo, seen = 0.0, [root], set()
    tck = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tck
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(_children(pid))
    return total


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # fall back to RSS
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


def tree_pss_bytes(root: int) -> int:
    """Sum of PSS (bytes) over ``root`` and its live descendants."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _pss_bytes(pid)
        todo.extend(_children(pid))
    return total


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_pss_bytes(self.pid))
            self.stop.wait(self.interval)


def run_child(
    argv: Sequence[str | os.PathLike],
    *,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    sample_interval: float = 0.1,
) -> Measurement:
    """Run ``argv`` to completion and measure it (see module docstring).

    stdout/stderr go to temporary files (no pipe can fill up and stall the
    child) and are returned as text. The child runs in its own session; on
    ``timeout_s`` its whole process group (only processes this call started)
    gets SIGTERM, then SIGKILL 5 s later.
    """
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy0 = machine_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )
        sampler = _Sampler(proc.pid, sample_interval)
        sampler.start()
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            for sig, pause in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    return
                time.sleep(pause)

        timer = threading.Timer(timeout_s, _kill) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            wall = time.perf_counter() - t0
            if timer:
                timer.cancel()
            sampler.stop.set()
            sampler.join()
        busy = machine_busy_s() - busy0
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Measurement(
            argv=argv,
            returncode=proc.returncode,
            wall_s=wall,
            user_s=ru.ru_utime,
            sys_s=ru.ru_stime,
            maxrss_bytes=ru.ru_maxrss * 1024,  # Linux: KiB
            tree_pss_peak_bytes=sampler.peak,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out.is_set(),
            others_cpu_s=max(0.0, busy - ru.ru_utime - ru.ru_stime),
        )


def children_rusage() -> resource.struct_rusage:
    """``getrusage(RUSAGE_CHILDREN)`` of this process (for cross-checks)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN)


# ---------------------------------------------------------------- outputs ---

def sniff_format(head: bytes) -> str:
    """Image format from a file's first 16 bytes: jpeg, png, webp, avif or other."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"mif1", b"heic"):
        return "avif"
    return "other"


@dataclasses.dataclass
class TreeBytes:
    """Files under an output folder. Sizes in bytes.

    ``originals_*``: files whose content is byte-identical to a source (our
    pipeline copies each original as-is); they are kept out of ``by_format``
    so the tools are compared on the same derivatives.
    """

    by_format: dict[str, list[int]]  # format -> [count, bytes]
    originals_count: int = 0
    originals_bytes: int = 0

    @property
    def count(self) -> int:
        return sum(c for c, _ in self.by_format.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.by_format.values())

    def as_dict(self) -> dict:
        return {"count": self.count, "bytes": self.bytes,
                "by_format": self.by_format,
                "originals_count": self.originals_count,
                "originals_bytes": self.originals_bytes}


def tree_bytes(root: str | os.PathLike, source_digests: Mapping[int, set[str]] | None = None) -> TreeBytes:
    """Count the files under ``root`` by sniffed format (bytes). Symbolic links
    and further hard links to a file already counted are skipped; non-image
    files (JSON, doit state…) are counted under "other".

    ``source_digests`` maps a file size to the sha256 hex digests of the sources
    of that size: a file matching one is counted as an original copy. Only
    files whose size matches are hashed.
    """
    import hashlib

    res = TreeBytes(by_format={})
    inodes: set[tuple[int, int]] = set()
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            if p.is_symlink():
                continue
            st = p.stat()
            if (st.st_dev, st.st_ino) in inodes:  # a hard link to a file already counted
                continue
            inodes.add((st.st_dev, st.st_ino))
            size = st.st_size
            if source_digests and size in source_digests:
                if hashlib.sha256(p.read_bytes()).hexdigest() in source_digests[size]:
                    res.originals_count += 1
                    res.originals_bytes += size
                    continue
            with open(p, "rb") as f:
                fmt = sniff_format(f.read(16))
            c = res.by_format.setdefault(fmt, [0, 0])
            c[0] += 1
            c[1] += size
    return res

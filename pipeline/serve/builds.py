"""Builds after writes: one at a time, coalesced, across serve.py's worker processes.

A write edits the catalog durably, then calls ``BuildCoordinator.publish()``, which returns
once a build that includes the edit has finished (read-your-writes: the 204 comes after the
new objects are published). The protocol, on files in ``output/.cache/``:

0. A write that starts checking an upload registers an *intent* (``begin()``; ``end()`` once
   its edit is on disk or refused), so a build about to start knows more edits are coming.
1. Under a short lock (``writes-state.lock``) the caller takes a ticket:
   ``requested += 1`` in ``writes.json``. The edit is already on disk, so any build that starts
   after this point sees it.
2. Under the build lock (``writes-build.lock``, held for a whole build) the caller looks at
   ``built``: when it is ≥ its ticket, another caller's build covered the edit and it returns.
   Else it waits while intents are open or ``requested`` still grows (checked every
   ``settle`` seconds, at most ``max_settle``), notes ``target = requested`` and runs the build (``doit catalog=FILE output=DIR``, then
   ``doit publish`` when asked). On success ``built = target``; every caller whose ticket is
   ≤ target is answered by that one build. On failure ``failed = target`` and the error is
   kept, so the callers it covered get the same error instead of each retrying. A build that
   failed (some sources, say) still runs ``doit publish``: ``BuildFailed.partial``.

So a burst of twenty uploads causes one or two builds: the first starts with the edits that
arrived before it, the second takes everything that arrived during the first. A lone write
waits for no one. Locks are ``fcntl.flock``: the kernel drops them when a process dies, so a
killed serve.py leaves none; an intent of a dead process (or older than ``INTENT_TTL``) is
ignored.
"""

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = "writes.json"
INTENT_TTL = 120.0   # seconds after which an open intent no longer holds a build back


class BuildFailed(RuntimeError):
    """The build that should publish a write failed; the message has the end of its output.

    ``partial``: the build command ran to its end and failed, and every later command
    (``doit publish``) succeeded. A build fails when a source does not probe or render, and
    still publishes everything else (``pipeline.tasks``), so the write may be published all the
    same: the caller checks the manifest (``writes.Writes.published``). doit's exit code does
    not tell that case from others (a failed task's dependants make it 2), so the manifest
    decides. False for a timeout or a failed later command."""

    def __init__(self, message: str, partial: bool = False):
        super().__init__(message)
        self.partial = partial


@contextmanager
def _flock(path: Path, thread_lock: threading.Lock):
    with thread_lock:
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class BuildCoordinator:
    """Runs the builds that publish writes (module doc).

    ``commands``: the argument lists to run for one build, in order (default: ``doit`` on
    ``catalog`` into ``output``, plus ``doit publish`` when ``publish``); ``timeout`` seconds
    per command. ``builds`` in ``writes.json`` counts the builds run (for tests and bench)."""

    def __init__(self, catalog: str | Path, output: str | Path, publish: bool = False,
                 commands: list[list[str]] | None = None, timeout: float = 900,
                 settle: float = 0.05, max_settle: float = 5.0):
        self.catalog, self.output = Path(catalog).resolve(), Path(output).resolve()
        doit = [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT)]
        where = [f"catalog={self.catalog}", f"output={self.output}"]
        self.commands = commands or [doit + where] + ([doit + ["publish"] + where] if publish else [])
        self.timeout, self.settle, self.max_settle = timeout, settle, max_settle
        self.cache = self.output / ".cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self._state_lock, self._build_lock = threading.Lock(), threading.Lock()

    def _read(self) -> dict:
        try:
            state = json.loads((self.cache / STATE).read_text())
        except (OSError, ValueError):
            state = {}
        return {"requested": 0, "built": 0, "failed": 0, "error": "", "partial": False, "builds": 0,
                "intents": {}} | state

    def _write(self, state: dict) -> None:
        path = self.cache / STATE
        temp = path.with_name(f".{STATE}.tmp-{os.getpid()}-{threading.get_ident()}")
        temp.write_text(json.dumps(state))
        os.replace(temp, path)

    @contextmanager
    def _state(self):
        with _flock(self.cache / "writes-state.lock", self._state_lock):
            state = self._read()
            before = dict(state)
            yield state
            if state != before:
                self._write(state)

    def state(self) -> dict:
        """``{requested, built, failed, error, builds}`` as last written."""
        with self._state() as state:
            return dict(state)

    def begin(self) -> str:
        """Register an edit in preparation; returns the key to give ``end``."""
        key = f"{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
        with self._state() as state:
            state["intents"] = {**self._live(state), key: time.time()}
        return key

    def end(self, key: str | None) -> None:
        """Close an intent (idempotent)."""
        if key is None:
            return
        with self._state() as state:
            if key in state["intents"]:
                state["intents"] = {k: v for k, v in state["intents"].items() if k != key}

    @staticmethod
    def _live(state: dict) -> dict:
        """The open intents of living processes, younger than ``INTENT_TTL``."""
        now, live = time.time(), {}
        for key, started in state["intents"].items():
            if now - started > INTENT_TTL:
                continue
            try:
                os.kill(int(key.split("-", 1)[0]), 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            live[key] = started
        return live

    def _open_intents(self, state: dict) -> int:
        return len(self._live(state))

    def publish(self) -> None:
        """Return once a build that includes every edit made before this call has finished.
        Raises ``BuildFailed`` when that build failed."""
        with self._state() as state:
            state["requested"] += 1
            ticket = state["requested"]
        with _flock(self.cache / "writes-build.lock", self._build_lock):
            current = self.state()
            if current["built"] >= ticket:
                return
            if current["failed"] >= ticket:
                raise BuildFailed(current["error"], current["partial"])
            target = self._settled()
            try:
                self._run()
            except BuildFailed as exc:
                with self._state() as state:
                    state["failed"], state["error"] = max(state["failed"], target), str(exc)
                    state["partial"] = exc.partial
                    state["builds"] += 1
                raise
            with self._state() as state:
                state["built"] = max(state["built"], target)
                state["builds"] += 1

    def _settled(self) -> int:
        """Wait while intents are open or new tickets arrive (every ``settle`` seconds, at most
        ``max_settle``) and return the last ticket: the edits this build will include."""
        deadline = time.monotonic() + self.max_settle
        state = self.state()
        last = state["requested"]
        while time.monotonic() < deadline and self._open_intents(state):
            time.sleep(self.settle)
            state = self.state()
            if state["requested"] == last and not self._open_intents(state):
                break
            last = state["requested"]
        return state["requested"]

    def _run(self) -> None:
        """Run the commands in order. A first command (the build) that exits non-zero does not
        stop the later ones (publish what it made); it is raised after them as a ``partial``
        failure, unless a later one fails."""
        partial = None
        for position, command in enumerate(self.commands):
            try:
                result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise BuildFailed(f"build did not finish within {self.timeout:.0f} s") from None
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
                step = "build" if position == 0 else "publish" if "publish" in command else "build step"
                failure = BuildFailed(f"{step} failed (exit {result.returncode}):\n{tail}",
                                      partial=position == 0)
                if not failure.partial:
                    raise failure
                partial = failure
        if partial is not None:
            raise partial

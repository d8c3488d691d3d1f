"""Unit tests: pipeline.serve.builds (one build at a time, coalesced, errors shared)."""

import sys
import threading

import pytest

from pipeline.serve.builds import BuildCoordinator, BuildFailed


def coordinator(tmp_path, script: str) -> BuildCoordinator:
    log = tmp_path / "builds.log"
    command = [sys.executable, "-c", f"import time, sys; {script}; open({str(log)!r}, 'a').write('b\\n')"]
    return BuildCoordinator(tmp_path / "catalog.yaml", tmp_path / "output", commands=[command])


def test_a_burst_of_twenty_causes_at_most_two_builds(tmp_path):
    builds = coordinator(tmp_path, "time.sleep(0.4)")
    errors = []

    def write():
        try:
            builds.publish()
        except Exception as exc:   # noqa: BLE001  (reported below)
            errors.append(exc)
    threads = [threading.Thread(target=write) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    state = builds.state()
    assert not errors
    assert state["requested"] == state["built"] == 20
    assert 1 <= state["builds"] <= 2
    assert (tmp_path / "builds.log").read_text().count("b") == state["builds"]


def test_a_later_write_gets_its_own_build(tmp_path):
    builds = coordinator(tmp_path, "pass")
    builds.publish()
    builds.publish()
    assert builds.state()["builds"] == 2


def test_a_failed_build_fails_every_write_it_covered_and_the_next_one_retries(tmp_path):
    flag = tmp_path / "fail"
    flag.write_text("1")
    builds = coordinator(tmp_path, f"import os; os.path.exists({str(flag)!r}) and (print('boom'), sys.exit(3))")
    with pytest.raises(BuildFailed, match="exit 3"):
        builds.publish()
    assert builds.state()["failed"] == 1 and builds.state()["built"] == 0
    flag.unlink()
    builds.publish()
    assert builds.state()["built"] == 2


def test_an_open_intent_holds_the_build_back_until_its_edit_is_done(tmp_path):
    builds = coordinator(tmp_path, "pass")
    builds.max_settle = 30
    key = builds.begin()
    closer = threading.Timer(0.5, lambda: (builds.state(), builds.end(key)))
    second = threading.Thread(target=builds.publish)
    closer.start()
    builds.publish()                       # waits for the intent, then builds once
    second.start()
    second.join(30)
    assert builds.state()["intents"] == {}
    assert builds.state()["builds"] == 2


def test_intents_of_dead_processes_are_ignored(tmp_path):
    builds = coordinator(tmp_path, "pass")
    with builds._state() as state:
        state["intents"] = {"999999999-1-1": 0.0, f"{999999998}-1-2": 9e12}
    builds.max_settle = 30
    builds.publish()                       # returns at once: neither intent is live
    assert builds.state()["builds"] == 1



def test_a_build_that_failed_some_sources_still_publishes_and_says_partial(tmp_path):
    """doit exits 1 or 2 when tasks failed (a source that does not decode; the rest is
    published): the publish command still runs and the failure is ``partial``. A failed publish
    is not partial. Callers the build covered get the same."""
    log = tmp_path / "log"

    def command(name: str, code: int) -> list[str]:
        return [sys.executable, "-c", f"open({str(log)!r}, 'a').write('{name}\\n'); raise SystemExit({code})"]

    for build, publish, partial, ran in ((1, 0, True, "build publish"), (2, 0, True, "build publish"),
                                         (1, 3, False, "build publish"), (0, 0, None, "build publish")):
        log.write_text("")
        builds = BuildCoordinator(tmp_path / "catalog.yaml", tmp_path / f"out{build}{publish}",
                                  commands=[command("build", build), command("publish", publish)])
        if partial is None:
            builds.publish()
        else:
            with pytest.raises(BuildFailed) as info:
                builds.publish()
            assert info.value.partial is partial
            with builds._state() as state:                     # a caller that build covered
                state["requested"] -= 1
            with pytest.raises(BuildFailed) as again:
                builds.publish()
            assert again.value.partial is partial and str(again.value) == str(info.value)
        assert log.read_text().split() == ran.split()

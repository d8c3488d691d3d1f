"""The build's progress (issue 12 item 7): a tqdm bar on a terminal, a line every few seconds
otherwise (not a line per task), failures as they happen, the closing summary unchanged."""

import io

from pipeline import tasks
from pipeline.tasks import BuildReporter


class Task:
    def __init__(self, name, values=None):
        self.name, self.values, self.actions = name, values or {}, [object()]

    def title(self):
        return self.name


class Fail:
    report = True

    def get_msg(self):
        return "broken\n"


def run(stream, n=50, clock=None, monkeypatch=None):
    reporter = BuildReporter(stream, {})
    names = {f"render:t{i}": None for i in range(n)} | {"objects": None}
    reporter.initialize(names, None)
    for i in range(n):
        task = Task(f"render:t{i}", {"files": 2, "bytes": 10})
        if clock is not None:
            clock[0] += 1.0
        if i % 10 == 0:
            reporter.skip_uptodate(task)
        elif i == 7:
            reporter.add_failure(task, Fail())
        else:
            reporter.execute_task(task)
            reporter.add_success(task)
    reporter.complete_run()
    return stream.getvalue()


def test_without_a_terminal_a_line_every_few_seconds(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock[0])
    out = run(io.StringIO(), 50, clock)
    lines = out.splitlines()
    progress = [line for line in lines if line.startswith("render: ")]
    assert 8 <= len(progress) <= 10                    # 50 s of tasks, one line per 5 s
    assert progress[0].startswith("render: 5/50 (4 rendered, 1 up to date, 0 failed), 1.0/s, ETA 45 s")
    assert "FAILED render:t7: broken" in out
    assert "build: 50 sources (44 rendered, 5 up to date, 1 failed), 88 files written" in out
    assert not any("[1/50]" in line for line in lines)


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_a_bar_with_rate():
    out = run(Tty(), 20)
    assert "render: 100%" in out and "20/20" in out and "src/s" in out
    assert "FAILED render:t7: broken" in out
    assert "build: 20 sources (17 rendered, 2 up to date, 1 failed)" in out

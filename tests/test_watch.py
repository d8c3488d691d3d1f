"""pipeline.watch / ``doit watch``: a changed source or catalog is rebuilt and served under a new
tag, with a bounded wait; changes under the output folder never start a build; builds run
one at a time."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from conftest import ROOT, Http, copy_media, running_server
from mediafolder import MEDIA
from pipeline.watch import Relevance, watch

CATALOG = textwrap.dedent("""\
    settings:
      formats: [Original, Jpg]
      sizes: [{maxWidth: [160]}]
    items:
      - id: movie
        name: Movie
        type: Movie
        images: {Primary: media/poster.jpg}
""")


def wait_for(predicate, seconds: float, what: str):
    """Poll ``predicate`` every 0.1 s for at most ``seconds``; its last value, or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_relevance_ignores_the_output_folder(tmp_path):
    catalog, output = tmp_path / "catalog.yaml", tmp_path / "output"
    source = tmp_path / "media" / "a.jpg"
    relevant = Relevance(catalog, output, None, {source})
    assert relevant(None, str(catalog)) and relevant(None, str(source))
    assert not relevant(None, str(output / "manifest.json"))
    assert not relevant(None, str(tmp_path / "media" / "other.jpg"))
    library = Relevance(catalog, output, tmp_path / "media", set())
    assert library(None, str(tmp_path / "media" / "Movies" / "new.jpg"))
    assert not library(None, str(tmp_path / "media" / ".hidden"))


def test_changes_during_a_build_give_one_more_build_never_two_at_once(tmp_path):
    copy_media(tmp_path, "Aqua.jpg")
    (tmp_path / "media" / "poster.jpg").write_bytes((MEDIA / "Aqua.jpg").read_bytes())
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG)
    running, most, builds = [0], [0], []
    stop = threading.Event()

    def run(cmd):
        running[0] += 1
        most[0] = max(most[0], running[0])
        builds.append(cmd)
        if len(builds) == 2:     # a burst of changes while the second build runs
            for i in range(5):
                catalog.write_text(CATALOG + f"# edit {i}\n")
                time.sleep(0.05)
        time.sleep(0.5)
        running[0] -= 1
        if len(builds) >= 3:
            stop.set()
        return 0

    thread = threading.Thread(target=watch, args=(catalog, tmp_path / "output"),
                              kwargs={"debounce_ms": 400, "step_ms": 100, "stop": stop, "run": run,
                                      "log": lambda *a, **k: None}, daemon=True)
    thread.start()
    wait_for(lambda: len(builds) >= 1, 20, "first build")
    time.sleep(0.3)                              # the watcher is set up after the first build
    (tmp_path / "output").mkdir(exist_ok=True)
    (tmp_path / "output" / "manifest.json").write_text("{}")   # the build's own output: ignored
    (tmp_path / "media" / "poster.jpg").write_bytes((MEDIA / "Garden.jpg").read_bytes())
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert most[0] == 1                           # one build at a time
    assert len(builds) == 3                       # start, the source change, the burst (coalesced)


def test_doit_watch_serves_the_new_tag(tmp_path):
    copy_media(tmp_path, "Aqua.jpg")
    (tmp_path / "media" / "poster.jpg").write_bytes((MEDIA / "poster-wood.jpg").read_bytes())
    catalog, output = tmp_path / "catalog.yaml", tmp_path / "output"
    catalog.write_text(CATALOG)
    log = tmp_path / "watch.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
                                 "watch", f"catalog={catalog}", f"output={output}"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "build 1 done" in log.read_text(), 60, "first build: " + log.read_text())
        with running_server(output) as base:
            http = Http(base)
            status, headers, _ = http.request("/Items/movie/Images/Primary?maxWidth=160")
            assert status == 200
            first = headers["ETag"]
            shutil.copy(MEDIA / "Garden.jpg", tmp_path / "media" / "poster.jpg")    # change the source

            def new_tag():
                status, headers, _ = http.request("/Items/movie/Images/Primary?maxWidth=160")
                return status == 200 and headers["ETag"] != first and headers["ETag"]
            second = wait_for(new_tag, 60, "new tag served: " + log.read_text())
            catalog.write_text(CATALOG.replace("media/poster.jpg", "media/Aqua.jpg"))  # change the catalog
            wait_for(lambda: (t := new_tag()) and t != second, 60, "catalog change served: " + log.read_text())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)       # the group this test started: doit and its build
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert "watch: stopped" in log.read_text()


def test_included_catalog_files_are_watched(tmp_path):
    """Issue 12: a change to an ``include:``d file rebuilds like a change to the catalog."""
    from PIL import Image
    from pipeline.watch import Relevance, source_paths
    (tmp_path / "media").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "media" / "a.jpg")
    (tmp_path / "catalog.yaml").write_text("include: [more.yaml]\n")
    (tmp_path / "more.yaml").write_text("items:\n  - {id: a, name: A, type: Movie, images: {Primary: media/a.jpg}}\n")
    sources = source_paths(tmp_path / "catalog.yaml")
    assert (tmp_path / "more.yaml").resolve() in sources
    relevant = Relevance((tmp_path / "catalog.yaml").resolve(), tmp_path / "out", None, sources)
    assert relevant(None, str((tmp_path / "more.yaml").resolve()))

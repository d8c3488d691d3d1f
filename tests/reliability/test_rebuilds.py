"""Rebuilds that cannot lie (issue 13 items 2 and 3): the up-to-date decision follows from what
is on disk, so a ``kill -9`` at any point loses no finished work and never leaves a later build
publishing a stale manifest; ``doit prune`` keeps what makes current tags up to date.

Kills are placed with ``killpoint.py`` (SIGKILL of the build's whole process group at a chosen
``os.replace``), so every kill lands inside the build and the runs are reproducible.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
KILLPOINT = Path(__file__).with_name("killpoint.py")

SETTINGS = """\
settings:
  formats: [Original, Webp, Png]
  qualities: [80]
  sizes: [{maxWidth: [24, 48]}]
"""


def make_library(root: Path, n: int = 4) -> Path:
    (root / "media").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.effect_noise((90, 60), 40 + 10 * i).convert("RGB").save(root / "media" / f"img{i}.jpg", quality=90)
    items = "".join(
        f"  - {{id: item{i}, name: Item {i}, type: Movie, images: {{Primary: media/img{i}.jpg}}}}\n"
        for i in range(n))
    users = "users:\n  - {id: u1, name: U, images: {Primary: media/img0.jpg}}\n"
    (root / "catalog.yaml").write_text(SETTINGS + "items:\n" + items + users)
    return root / "catalog.yaml"


def build(catalog: Path, output: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``doit`` through killpoint.py in its own session (a kill hits the build only)."""
    cmd = [sys.executable, str(KILLPOINT), "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
           *args, f"catalog={catalog}", f"output={output}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, start_new_session=True,
                          env={**os.environ, **(env or {})})


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def summary(stdout: str) -> tuple[int, ...]:
    match = re.search(r"build: (\d+) sources \((\d+) rendered, (\d+) up to date, (\d+) failed\)", stdout)
    assert match, stdout
    return tuple(int(g) for g in match.groups())


def tree(output: Path) -> dict[str, bytes]:
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(output).parts}


def primary_tag(output: Path, item: str) -> str | None:
    return json.loads((output / "Items" / item / "index.json").read_text())["ImageTags"].get("Primary")


@pytest.mark.parametrize("when", ["before", "after"])
def test_kill_as_the_manifest_is_replaced_then_revert(tmp_path, when):
    """Change a source, build, kill as the manifest is replaced, restore the source, build:
    the manifest and Items/{id} must name the restored image's tag again."""
    catalog = make_library(tmp_path)
    output = tmp_path / "out"
    ok(build(catalog, output))
    original_tag = primary_tag(output, "item1")
    source = tmp_path / "media" / "img1.jpg"
    kept = source.read_bytes()

    Image.new("RGB", (90, 60), "white").save(source, quality=90)
    killed = build(catalog, output, env={"KILL_FILE": "manifest.json", "KILL_WHEN": when})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    changed_tag = primary_tag(output, "item1")
    assert changed_tag != original_tag                      # the kill came after Items/ was written
    manifest = json.loads((output / "manifest.json").read_text())
    assert (changed_tag in manifest["images"]) == (when == "after")

    source.write_bytes(kept)
    result = ok(build(catalog, output))
    assert summary(result.stdout)[1] == 0                   # the restored tag was never deleted
    manifest = json.loads((output / "manifest.json").read_text())
    assert primary_tag(output, "item1") == original_tag
    assert manifest["owners"]["Items"]["item1"]["Primary"] == [original_tag]
    assert changed_tag not in manifest["images"]

    clean = tmp_path / "clean"
    ok(build(catalog, clean))
    ok(build(catalog, output, "prune"))
    assert tree(output) == tree(clean)


def test_random_kills_then_build_equals_a_clean_build(tmp_path):
    """kill -9 at N=6 random points of builds (each resuming the last), then a full build and
    prune: the tree is byte-for-byte a clean build's, and finished tags were not redone."""
    catalog = make_library(tmp_path, n=5)
    clean = tmp_path / "clean"
    counter = tmp_path / "count"
    ok(build(catalog, clean, env={"KILL_COUNTER": str(counter)}))
    publications = counter.stat().st_size                  # os.replace calls of a clean build
    assert publications > 20

    rng = random.Random(13)
    output = tmp_path / "out"
    kills = 0
    for attempt in range(6):
        counter.unlink(missing_ok=True)
        at = rng.randint(1, publications)
        args = ("-n", "2") if attempt % 2 else ()
        result = build(catalog, output, *args, env={"KILL_COUNTER": str(counter), "KILL_AT": str(at)})
        if result.returncode == -signal.SIGKILL:
            kills += 1
            continue
        ok(result)                                          # finished before its kill point:
        shutil.rmtree(output)                               # start again from nothing
    print(f"random kills: {kills} of 6 builds killed by SIGKILL; the final tree equals a clean build")
    assert kills >= 4

    before = {p for p in (output / "images").glob("*/render.json")} if (output / "images").exists() else set()
    result = ok(build(catalog, output))
    total, rendered, uptodate, failed = summary(result.stdout)
    assert failed == 0 and uptodate >= len(before) - 1      # finished tags survived the kills
    ok(build(catalog, output, "prune"))                     # leftover .tmp- files of the kills
    assert tree(output) == tree(clean)
    again = ok(build(catalog, output))
    assert summary(again.stdout)[1] == 0 and ". objects" not in again.stdout


def test_prune_then_noop_renders_nothing(tmp_path):
    catalog = make_library(tmp_path, n=3)
    output = tmp_path / "out"
    first = ok(build(catalog, output))
    assert summary(first.stdout)[1] > 0
    records = sorted(p.relative_to(output) for p in output.glob("images/*/render.json"))
    assert records
    ok(build(catalog, output, "prune"))
    assert sorted(p.relative_to(output) for p in output.glob("images/*/render.json")) == records
    after = ok(build(catalog, output))
    assert summary(after.stdout)[1] == 0 and ". objects" not in after.stdout


def test_progress_survives_a_kill(tmp_path):
    """A build killed after some tags finished: the next build renders only the others."""
    catalog = make_library(tmp_path, n=4)
    output = tmp_path / "out"
    counter = tmp_path / "count"
    killed = build(catalog, output, env={"KILL_COUNTER": str(counter), "KILL_FILE": "render.json",
                                         "KILL_WHEN": "after"})
    assert killed.returncode == -signal.SIGKILL
    assert len(list(output.glob("images/*/render.json"))) == 1
    result = ok(build(catalog, output))
    assert summary(result.stdout)[:3] == (4, 3, 1)

"""The doit glue (pipeline/tasks.py, dodo.py): variables, what loading dodo.py may touch,
doit's sqlite3 state, clear one-line errors, and the report after a failed source."""

import os
import sqlite3
import subprocess
import sys

import pytest
from PIL import Image

from conftest import ROOT, run_doit
from pipeline.tasks import EXECUTORS, VARIABLES, Build, UsageError, read_variables


def make_library(root, n=2):
    (root / "media").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (60, 40), ["red", "blue", "green"][i]).save(root / "media" / f"img{i}.jpg")
    items = "".join(f"  - {{id: item{i}, name: I{i}, type: Movie, images: {{Primary: media/img{i}.jpg}}}}\n"
                    for i in range(n))
    (root / "catalog.yaml").write_text("settings: {formats: [Webp], qualities: [80], sizes: [{maxWidth: [16]}]}\n"
                                       "items:\n" + items)
    return root / "catalog.yaml"


def doit(*args, cwd, env=None):
    """``doit -f dodo.py ARGS`` run from ``cwd`` (no ``-d``: the folder is the user's)."""
    return subprocess.run([sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


# --- variables -----------------------------------------------------------------------------------

def test_read_variables_defaults_and_values():
    values = read_variables({"catalog": "c.yaml"})
    assert values["catalog"] == "c.yaml" and values["output"] == "output" and values["executor"] == "local"
    assert set(values) == set(VARIABLES)


def test_unknown_variable_names_the_known_ones():
    with pytest.raises(UsageError) as info:
        read_variables({"catalgo": "x"})
    message = str(info.value)
    assert "unknown variable 'catalgo'; did you mean 'catalog'?" in message
    assert all(name in message for name in VARIABLES)
    with pytest.raises(UsageError, match=r"executor=dsak: unknown \(known: local, dask\); did you mean 'dask'\?"):
        read_variables({"executor": "dsak"})
    assert "local" in EXECUTORS


def test_doit_with_a_misspelt_variable_is_one_line_and_builds_nothing(tmp_path):
    make_library(tmp_path)
    result = doit("catalgo=x", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"doit: unknown variable 'catalgo'; did you mean 'catalog'? (known: {', '.join(VARIABLES)})"]
    assert not (tmp_path / "output").exists()


# --- nothing created just to list ----------------------------------------------------------------

def test_build_object_reads_and_writes_nothing(tmp_path):
    build = Build(read_variables({"catalog": str(tmp_path / "none.yaml"), "output": str(tmp_path / "out")}))
    config = build.doit_config()
    assert config["backend"] == "sqlite3" and config["dep_file"] == ":memory:"
    assert list(tmp_path.iterdir()) == []


def test_doit_list_in_an_empty_folder_creates_nothing(tmp_path):
    library = tmp_path / "library"
    catalog = make_library(library)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = doit("list", f"catalog={catalog}", f"output={empty / 'output'}", cwd=empty)
    assert result.returncode == 0, result.stderr
    assert {"render", "objects", "report", "prune", "hosting", "publish"} <= set(result.stdout.split())
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in library.iterdir()) == ["catalog.yaml", "media"]


def test_doit_state_is_sqlite(tmp_path):
    catalog = make_library(tmp_path)
    output = tmp_path / "out"
    run_doit(catalog, output, check=True)
    run_doit(catalog, output, check=True)      # the folder exists now: state goes to disk
    db = output / ".cache" / "doit.sqlite3"
    assert db.read_bytes()[:16] == b"SQLite format 3\0"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from doit").fetchone()[0] > 0


# --- clear failures ------------------------------------------------------------------------------

def test_publish_without_a_bucket_is_one_line(tmp_path):
    catalog = make_library(tmp_path)
    env = {k: "" for k in ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")}
    result = doit("publish", f"catalog={catalog}", "output=out", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines() == ["FAILED publish: no bucket; set S3_BUCKET or pass bucket=NAME"]
    assert "bucket" not in result.stderr
    assert not (tmp_path / "out" / "images").exists()          # nothing was built for it


def test_report_is_written_when_a_source_fails(tmp_path):
    catalog = make_library(tmp_path, n=3)
    Image.effect_noise((300, 200), 60).convert("RGB").save(tmp_path / "media" / "img2.jpg", quality=90)
    data = (tmp_path / "media" / "img2.jpg").read_bytes()
    (tmp_path / "media" / "img2.jpg").write_bytes(data[: len(data) // 2])   # header intact, scan cut
    output = tmp_path / "out"
    result = run_doit(catalog, output)
    assert result.returncode != 0
    report = (output / "index.html").read_text()
    assert 'class="failed"' in report and "media/img2.jpg" in report and "1 failed source" in report

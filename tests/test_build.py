"""The doit build as users run it: no-op rebuilds, changed and removed sources, a corrupt
source that fails only itself, prune and clean, parallel runs, catalog errors."""

import fcntl
import json
import re
import subprocess
import sys

from PIL import Image

from conftest import ROOT, run_doit

SETTINGS = """\
settings:
  formats: [Original, Webp]
  qualities: [80]
  sizes: [{maxWidth: [32, 64]}]
"""


def make_library(root, n=3):
    (root / "media").mkdir(parents=True, exist_ok=True)
    colours = ["red", "green", "blue", "yellow", "purple"]
    for i in range(n):
        Image.new("RGB", (120, 80), colours[i]).save(root / "media" / f"img{i}.jpg", quality=90)
    items = "".join(
        f"  - {{id: item{i}, name: Item {i}, type: Movie, images: {{Primary: media/img{i}.jpg}}}}\n"
        for i in range(n))
    (root / "catalog.yaml").write_text(SETTINGS + "items:\n" + items)
    return root / "catalog.yaml"


def tag_of(output, item_id):
    return json.loads((output / "Items" / item_id / "index.json").read_text())["ImageTags"].get("Primary")


def summary(stdout):
    match = re.search(r"build: (\d+) sources \((\d+) rendered, (\d+) up to date, (\d+) failed\)", stdout)
    assert match, stdout
    return tuple(int(g) for g in match.groups())


def test_build_noop_and_changed_source(tmp_path):
    catalog = make_library(tmp_path)
    output = tmp_path / "out"
    first = run_doit(catalog, output, check=True)
    assert summary(first.stdout) == (3, 3, 0, 0)
    tags = [tag_of(output, f"item{i}") for i in range(3)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in tags)
    assert (output / "images" / tags[0] / "64x43-q80.webp").is_file()
    assert (output / "images" / tags[0] / "original.jpg").read_bytes() == (tmp_path / "media/img0.jpg").read_bytes()

    second = run_doit(catalog, output, check=True)
    assert summary(second.stdout) == (3, 0, 3, 0)
    assert ". objects" not in second.stdout                        # nothing at all was redone

    Image.new("RGB", (120, 80), "white").save(tmp_path / "media/img1.jpg", quality=90)
    third = run_doit(catalog, output, check=True)
    assert summary(third.stdout) == (3, 1, 2, 0)
    new_tags = [tag_of(output, f"item{i}") for i in range(3)]
    assert new_tags[0] == tags[0] and new_tags[2] == tags[2] and new_tags[1] != tags[1]


def test_rebuild_from_scratch_is_byte_identical(tmp_path):
    catalog = make_library(tmp_path, n=2)
    a, b = tmp_path / "a", tmp_path / "b"
    run_doit(catalog, a, check=True)
    run_doit(catalog, b, "-n", "2", check=True)
    files_a = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file() and ".cache" not in p.parts}
    files_b = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert files_a == files_b and len(files_a) > 10


def test_corrupt_source_fails_alone(tmp_path):
    catalog = make_library(tmp_path)
    (tmp_path / "media" / "img1.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    output = tmp_path / "out"
    result = run_doit(catalog, output)
    assert result.returncode != 0
    assert summary(result.stdout) == (3, 2, 0, 1)
    assert "media/img1.jpg" in result.stdout + result.stderr
    assert "FAILED render:media/img1.jpg: media/img1.jpg: " in result.stdout
    assert "failed: render:media/img1.jpg" in result.stdout
    assert tag_of(output, "item0") and tag_of(output, "item2")
    assert tag_of(output, "item1") is None                         # never referenced
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["failed"][0]["source"] == "media/img1.jpg"
    # fixing the file fixes the build
    Image.new("RGB", (120, 80), "white").save(tmp_path / "media/img1.jpg")
    assert run_doit(catalog, output).returncode == 0
    assert tag_of(output, "item1")


def test_truncated_jpeg_fails_alone(tmp_path):
    catalog = make_library(tmp_path)
    Image.effect_noise((400, 300), 60).convert("RGB").save(tmp_path / "media" / "img2.jpg", quality=90)
    data = (tmp_path / "media" / "img2.jpg").read_bytes()
    (tmp_path / "media" / "img2.jpg").write_bytes(data[: len(data) // 2])   # header intact, scan cut
    output = tmp_path / "out"
    result = run_doit(catalog, output)
    # the header is fine: the render task's single decode finds the damage, and the objects
    # step publishes everything else and fails the run
    assert result.returncode != 0 and summary(result.stdout)[3] == 1
    assert "media/img2.jpg" in result.stdout + result.stderr
    assert "1 source(s) left out" in result.stdout + result.stderr
    assert tag_of(output, "item0") and tag_of(output, "item1") and tag_of(output, "item2") is None
    manifest = json.loads((output / "manifest.json").read_text())
    assert all(i["source"] != "media/img2.jpg" for i in manifest["images"].values())
    assert run_doit(catalog, output).returncode != 0               # still reported on the next run


def test_removed_image_and_prune(tmp_path):
    catalog = make_library(tmp_path)
    output = tmp_path / "out"
    run_doit(catalog, output, check=True)
    old = tag_of(output, "item2")
    text = catalog.read_text().replace("images: {Primary: media/img2.jpg}", "images: {}")
    catalog.write_text(text)
    run_doit(catalog, output, check=True)
    assert tag_of(output, "item2") is None
    manifest = (output / "manifest.json").read_text()
    assert old not in manifest and old not in (output / "Items/item2/index.json").read_text()
    assert (output / "images" / old).is_dir()                      # stale until pruned
    result = run_doit(catalog, output, "prune", check=True)
    assert "deleted" in result.stdout
    assert not (output / "images" / old).exists()
    assert (output / "images" / tag_of(output, "item0")).is_dir()
    assert run_doit(catalog, output, check=True).returncode == 0   # still complete after prune
    assert summary(run_doit(catalog, output, check=True).stdout)[1] == 0


def test_clean_removes_targets(tmp_path):
    catalog = make_library(tmp_path, n=1)
    output = tmp_path / "out"
    run_doit(catalog, output, check=True)
    tag = tag_of(output, "item0")
    run_doit(catalog, output, "clean", check=True)
    assert not (output / "manifest.json").exists()
    assert not (output / "images" / tag / "original.jpg").exists()


def test_catalog_error_is_reported_with_line(tmp_path):
    catalog = make_library(tmp_path, n=1)
    catalog.write_text(catalog.read_text() + "  - {id: item0, name: Dup, type: Movie}\n")
    result = run_doit(catalog, tmp_path / "out")
    assert result.returncode != 0
    assert re.search(r"catalog\.yaml:7: items\[1\]\.id: duplicate id 'item0'", result.stderr), result.stderr


def published_tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts}


def test_concurrent_builds_on_one_output_folder_run_one_after_the_other(tmp_path):
    """Two doit runs on one output folder (doit watch, serve.py's write builds, two users)
    share the build lock: the second waits, says for whom, plans from the catalog as it is once
    the first is done, and both finish with the tree a clean build makes."""
    catalog = make_library(tmp_path, n=2)
    output, clean = tmp_path / "out", tmp_path / "clean"
    cmd = [sys.executable, "-m", "doit", "-f", str(ROOT / "dodo.py"), "-d", str(ROOT),
           f"catalog={catalog}", f"output={output}"]
    (output / ".cache").mkdir(parents=True)
    builds = []
    try:
        with open(output / ".cache" / "build.lock", "a+") as held:   # another build runs
            fcntl.flock(held, fcntl.LOCK_EX)
            held.write("pid 4242\n")
            held.flush()
            builds.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            first_line = builds[0].stderr.readline()     # its first word: it waits, before probing
            assert "waiting for the build running on" in first_line and "pid 4242" in first_line, first_line
            assert builds[0].poll() is None and not (output / "manifest.json").exists()
            make_library(tmp_path, n=3)                  # edited while the other build runs
            builds.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [b.communicate(timeout=300) for b in builds]
    finally:
        for b in builds:
            if b.poll() is None:
                b.kill()
                b.wait()
    assert [b.returncode for b in builds] == [0, 0], results
    run_doit(catalog, clean, check=True)
    tree = published_tree(output)
    assert tree == published_tree(clean) and len(tree) > 10
    assert tag_of(output, "item2")                      # the waiting build planned the new catalog

"""pipeline.plan.cache: a no-op run reads the plan back instead of parsing and planning the
catalog, and anything the plan was made from that changed makes it plan again from scratch."""

import os
import pickle

import pytest

from imagefactory import encode, solid
from pipeline import tasks
from pipeline.plan import cache as plan_cache

CATALOG = """\
settings:
  formats: [Jpg]
  sizes: [{maxWidth: [40]}]
items:
  - {id: a, name: A, type: Movie, images: {Primary: media/a.jpg}}
  - {id: b, name: B, type: Movie, images: {Primary: media/b.jpg, Backdrop: [media/a.jpg]}}
"""


@pytest.fixture()
def library(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a.jpg").write_bytes(encode(solid((64, 48), color=(200, 10, 10)), "JPEG"))
    (tmp_path / "media" / "b.jpg").write_bytes(encode(solid((48, 64), color=(10, 200, 10)), "JPEG"))
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture()
def loads(monkeypatch):
    """Counts the catalogs actually read (a cached plan reads none)."""
    calls = []
    real = tasks.load_catalog

    def counting(path):
        calls.append(path)
        return real(path)
    monkeypatch.setattr(tasks, "load_catalog", counting)
    return calls


def plan_of(root, base_url=None):
    return tasks.load_plan(root / "catalog.yaml", root / "out", base_url)


def summary(plan):
    return (sorted(plan.slot_tags.items()), sorted(plan.sources), sorted(plan.failed.items()),
            [(o.id, o.name) for o in plan.library.owners()], plan.base_url)


def test_second_plan_is_read_back_and_equal(library, loads):
    first = plan_of(library)
    assert len(loads) == 1 and (library / "out" / plan_cache.PLAN_CACHE).is_file()
    second = plan_of(library)
    assert len(loads) == 1                                   # not read again
    assert summary(second) == summary(first)
    assert second.sources.keys() == first.sources.keys()
    for tag, source in first.sources.items():
        assert second.sources[tag] == source                 # probes, profile, derivatives


def test_no_cache_without_an_output_folder(tmp_path, library, loads):
    tasks.load_plan(library / "catalog.yaml", tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()               # `doit list` creates nothing
    tasks.load_plan(library / "catalog.yaml", tmp_path / "nowhere")
    assert len(loads) == 2


def test_changed_catalog_is_planned_again(library, loads):
    plan_of(library)
    (library / "catalog.yaml").write_text(CATALOG.replace("name: A,", "name: A2,"))
    plan = plan_of(library)
    assert len(loads) == 2 and plan.library.items["a"].name == "A2"
    plan_of(library)
    assert len(loads) == 2                                   # and cached again


def test_changed_source_is_planned_again_with_its_new_tag(library, loads):
    old = plan_of(library).tag_of("Items", "a", "Primary")
    path = library / "media" / "a.jpg"
    path.write_bytes(encode(solid((64, 48), color=(1, 2, 3)), "JPEG"))
    plan = plan_of(library)
    assert len(loads) == 2
    assert plan.tag_of("Items", "a", "Primary") not in (None, old)
    assert plan.tag_of("Items", "b", "Backdrop") == plan.tag_of("Items", "a", "Primary")


def test_same_size_source_with_new_mtime_is_planned_again(library, loads):
    plan_of(library)
    path = library / "media" / "b.jpg"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    plan_of(library)
    assert len(loads) == 2


def test_source_replaced_by_a_symlink_is_planned_again(library, loads):
    plan_of(library)
    path = library / "media" / "a.jpg"
    path.unlink()
    path.symlink_to(library / "media" / "b.jpg")
    plan = plan_of(library)
    assert len(loads) == 2
    assert plan.tag_of("Items", "a", "Primary") == plan.tag_of("Items", "b", "Primary")


def test_missing_source_is_a_catalog_error_not_a_cached_plan(library, loads, capsys):
    plan_of(library)
    (library / "media" / "b.jpg").unlink()
    with pytest.raises(SystemExit) as exc:
        plan_of(library)
    assert exc.value.code == 2 and "file not found: media/b.jpg" in capsys.readouterr().err


def test_catalog_error_after_a_good_plan_is_reported(library, loads, capsys):
    plan_of(library)
    (library / "catalog.yaml").write_text(CATALOG.replace("type: Movie", "type: Moovie", 1))
    with pytest.raises(SystemExit):
        plan_of(library)
    assert "catalog.yaml:5: items[0].type: unknown item type 'Moovie'" in capsys.readouterr().err


def test_included_file_change_is_planned_again(library, loads):
    (library / "more.yaml").write_text("items:\n  - {id: c, name: C, type: Movie, images: {Primary: media/b.jpg}}\n")
    (library / "catalog.yaml").write_text(CATALOG + "include: [more.yaml]\n")
    assert "c" in plan_of(library).library.items
    (library / "more.yaml").write_text("items:\n  - {id: c, name: C2, type: Movie, images: {Primary: media/b.jpg}}\n")
    assert plan_of(library).library.items["c"].name == "C2"
    assert len(loads) == 2


def test_base_url_and_code_are_part_of_the_key(library, loads, monkeypatch):
    plan_of(library)
    assert plan_of(library, "https://cdn.example").base_url == "https://cdn.example"
    assert len(loads) == 2
    plan_of(library, "https://cdn.example")
    assert len(loads) == 2
    monkeypatch.setattr(plan_cache, "_code", "another version of the planner")
    plan_of(library, "https://cdn.example")
    assert len(loads) == 3


@pytest.mark.parametrize("data", [b"", b"not a pickle", pickle.dumps({"key": "x"}), pickle.dumps([1, 2])])
def test_unreadable_or_foreign_cache_is_ignored(library, loads, data):
    plan_of(library)
    (library / "out" / plan_cache.PLAN_CACHE).write_bytes(data)
    assert plan_of(library).tag_of("Items", "a", "Primary")
    assert len(loads) == 2


def test_unreadable_source_is_not_cached(library, loads, monkeypatch):
    from pipeline.plan import probe
    real = probe.probe_file

    def unreadable(path):
        return probe.Probe(error="cannot read file: Permission denied") if path.name == "a.jpg" else real(path)
    monkeypatch.setattr(probe, "probe_file", unreadable)
    plan = plan_of(library)
    assert plan.failed["media/a.jpg"] == "cannot read file: Permission denied"
    assert not (library / "out" / plan_cache.PLAN_CACHE).exists()     # a passing condition
    monkeypatch.setattr(probe, "probe_file", real)
    assert "media/a.jpg" not in plan_of(library).failed                # readable again: planned again
    assert len(loads) == 2

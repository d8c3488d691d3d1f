"""Rendering without doit (pipeline/imaging/render.py, art19/podcast.py render_styles, the
store seam and the render jobs of pipeline/tasks.py): pure (plan, bytes) → (relpath, bytes)
pairs plus the render record, written by a ``Store``."""

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from imagefactory import jpeg, png, write
from pipeline.art19.podcast import plan_podcast, render_styles
from pipeline.catalog.loader import load_catalog
from pipeline.imaging.render import Rendered, render, render_source, write_rendered
from pipeline.model import layout
from pipeline.plan.planner import make_plan
from pipeline.plan.probe import probe_all
from pipeline.store import Store, as_store, open_store
from pipeline.store.local import LocalStore
from pipeline.tasks import LocalExecutor, RenderJob, is_rendered, render_jobs, run_job

CATALOG = """\
settings:
  formats: [Original, Webp, Png]
  qualities: [80]
  sizes: [{maxWidth: [16, 32]}]
items:
  - {id: mv, name: A Film, type: Movie, images: {Primary: media/poster.jpg, Logo: media/logo.png}}
podcast_images:
  - {id: 11111111-2222-3333-4444-555555555555, bucket: {type: Series, id: show}, source: media/square.jpg}
  - {id: 11111111-2222-3333-4444-666666666666, bucket: {type: Series, id: show}, source: media/square.jpg}
"""


@pytest.fixture
def plan(tmp_path):
    write(tmp_path / "media" / "poster.jpg", jpeg((40, 60), color=(200, 30, 30)))
    write(tmp_path / "media" / "logo.png", png((50, 20), mode="RGBA", color=(0, 0, 255, 128)))
    write(tmp_path / "media" / "square.jpg", jpeg((120, 120), color=(10, 200, 10)))
    (tmp_path / "catalog.yaml").write_text(CATALOG.replace("items:\n", "items:\n  - {id: show, name: Show, type: Series}\n"))
    library = load_catalog(tmp_path / "catalog.yaml")
    paths = [s.path for o in library.owners() for s in o.slots()] + [i.path for i in library.podcast_images.values()]
    probes = probe_all(paths, tmp_path / "probe.json")
    result = make_plan(library, probes)
    result.podcast, failed = plan_podcast(library, probes)
    assert failed == {}
    return result


def source_of(plan, relpath):
    return next(s for s in plan.sources.values() if s.relpath == relpath)


class RecordingStore:
    """A Store in memory that remembers the order of writes."""

    def __init__(self):
        self.location = "memory"
        self.objects: dict[str, bytes] = {}
        self.order: list[str] = []

    def put(self, relpath, data):
        self.objects[relpath] = bytes(data)
        self.order.append(relpath)
        return len(data)

    def exists(self, relpath):
        return relpath in self.objects

    def read(self, relpath):
        try:
            return self.objects[relpath]
        except KeyError:
            raise FileNotFoundError(relpath) from None

    def list(self, prefix=""):
        return (k for k in self.objects if k.startswith(prefix))

    def delete(self, relpath):
        return self.objects.pop(relpath, None) is not None

    def remove_temporaries(self, folder):
        return 0


def test_render_is_pure_and_names_every_derivative(plan, tmp_path, monkeypatch):
    source = source_of(plan, "media/poster.jpg")
    data = source.path.read_bytes()
    before = sorted(p for p in tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    result = render(source, data)
    assert sorted(p for p in tmp_path.rglob("*")) == before          # no file touched
    assert isinstance(result, Rendered) and result.error is None
    assert {relpath for relpath, _ in result.files} == {d.file for d in source.derivatives}
    assert len(result.files) == len(source.derivatives)
    by_file = dict(result.files)
    for d in source.derivatives:
        assert d.file.startswith(f"images/{source.tag}/")
        if d.original:
            assert by_file[d.file] == data
            continue
        image = Image.open(io.BytesIO(by_file[d.file]))
        assert image.size == (d.width, d.height)
        assert image.format == {"Webp": "WEBP", "Png": "PNG", "Jpg": "JPEG"}[d.format]
    assert set(result.record) == {"blurhash"} and result.record["blurhash"]


def test_render_is_deterministic(plan):
    source = source_of(plan, "media/logo.png")
    data = source.path.read_bytes()
    assert render(source, data) == render(source, data)


def test_truncated_source_gives_an_error_record_and_no_files(plan):
    source = source_of(plan, "media/poster.jpg")
    data = source.path.read_bytes()
    result = render(source, data[: len(data) // 2])
    assert result.files == ()
    assert result.error.startswith("media/poster.jpg: ")


def test_write_rendered_puts_the_record_last(plan):
    source = source_of(plan, "media/poster.jpg")
    store = RecordingStore()
    assert isinstance(store, Store)
    values = write_rendered(store, source.tag, render(source, source.path.read_bytes()))
    assert store.order[-1] == layout.render_record_file(source.tag)
    assert set(store.order[:-1]) == {d.file for d in source.derivatives}
    assert values["files"] == len(source.derivatives)
    assert values["bytes"] == sum(len(store.objects[d.file]) for d in source.derivatives)
    assert json.loads(store.objects[store.order[-1]]) == {"blurhash": values["blurhash"]}


def test_render_source_writes_into_a_local_folder(plan, tmp_path):
    source = source_of(plan, "media/logo.png")
    out = tmp_path / "out"
    render_source(source, out)
    for d in source.derivatives:
        assert (out / d.file).is_file()
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_podcast_styles_are_pure_pairs(plan):
    podcast = next(iter(plan.podcast.values()))
    data = podcast.image.path.read_bytes()
    result = render_styles(podcast, data)
    assert result.record == {} and [f for f, _ in result.files] == [a.file for a in podcast.assets]
    by_file = dict(result.files)
    for asset in podcast.assets:
        if asset.style == "original":
            assert by_file[asset.file] == data
        else:
            assert Image.open(io.BytesIO(by_file[asset.file])).size == (asset.width, asset.height)
    assert render_styles(podcast, data[:200]).error


def test_local_store(tmp_path):
    store = open_store(tmp_path / "root")
    assert isinstance(store, LocalStore) and as_store(store) is store
    assert not (tmp_path / "root").exists()                         # created on first write only
    assert store.put("images/t/a.jpg", b"abc") == 3
    assert store.exists("images/t/a.jpg") and not store.exists("images/t/b.jpg")
    assert store.read("images/t/a.jpg") == b"abc"
    store.put("Items/x/index.json", b"{}")
    assert sorted(store.list()) == ["Items/x/index.json", "images/t/a.jpg"]
    assert list(store.list("images/")) == ["images/t/a.jpg"]
    assert store.link("images/t/a.jpg", "Items/x/Images/legacy") is True
    assert store.read("Items/x/Images/legacy") == b"abc"
    assert store.delete("images/t/a.jpg") and not store.delete("images/t/a.jpg")
    with pytest.raises(FileNotFoundError):
        store.read("images/t/a.jpg")
    for bad in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"")
    with pytest.raises(ValueError, match="ftp://"):
        open_store("ftp://bucket/prefix")


def test_jobs_are_done_when_their_record_and_files_are_in_the_store(plan, tmp_path):
    out = tmp_path / "out"
    jobs = render_jobs(plan, str(out))
    assert {j.name for j in jobs} == set(plan.sources) | {f"podcast-{i}" for i in plan.podcast}
    store = open_store(out)
    job = next(j for j in jobs if j.name in plan.sources)
    assert not is_rendered(store, job)
    values = run_job(job)
    assert values["files"] == len(job.files) - 1 and is_rendered(store, job)
    store.delete(job.files[0])                                      # a file went missing: not done
    assert not is_rendered(store, job)
    run_job(job)
    store.delete(layout.render_record_file(job.tag))                # no record: not done
    assert not is_rendered(store, job)
    broken = RenderJob(job.name, job.source, job.store)
    store.put(layout.render_record_file(job.tag), b'{"error": "media/poster.jpg: truncated"}')
    for f in job.files[:-1]:
        store.delete(f)
    assert is_rendered(store, broken)                               # an error record is final


def test_a_killed_attempts_temporaries_are_removed_by_the_next_run_of_the_job(plan, tmp_path):
    """A SIGKILLed worker cannot remove its ``.{name}.tmp-{pid}`` files; the job's next run
    (a Dask retry, the next doit) removes them from its tag folder, and nothing else."""
    out = tmp_path / "out"
    job = next(j for j in render_jobs(plan, str(out)) if j.name in plan.sources)
    folder = out / layout.tag_folder(job.tag)
    folder.mkdir(parents=True)
    left = folder / f".{Path(job.files[0]).name}.tmp-999999"
    left.write_bytes(b"half")
    other = out / layout.tag_folder("othertag")
    other.mkdir(parents=True)
    (other / ".a.jpg.tmp-999999").write_bytes(b"another tag's")
    (folder / "keep.txt").write_bytes(b"not a temporary")
    run_job(job)
    assert not left.exists()
    assert (other / ".a.jpg.tmp-999999").exists() and (folder / "keep.txt").exists()
    assert is_rendered(open_store(out), job)


def test_store_remove_temporaries(tmp_path):
    store = open_store(tmp_path)
    assert store.remove_temporaries("images/none") == 0          # no folder yet
    store.put("images/t/a.jpg", b"abc")
    (tmp_path / "images/t/.a.jpg.tmp-12").write_bytes(b"")
    (tmp_path / "images/t/.b.webp.tmp-34").write_bytes(b"")
    (tmp_path / "images/t/a.tmp-5.jpg").write_bytes(b"published name")
    assert store.remove_temporaries("images/t") == 2
    assert sorted(p.name for p in (tmp_path / "images/t").iterdir()) == ["a.jpg", "a.tmp-5.jpg"]
    with pytest.raises(ValueError):
        store.remove_temporaries("../x")


def test_local_executor_yields_one_task_per_job(plan, tmp_path):
    jobs = render_jobs(plan, str(tmp_path / "out"))
    tasks = list(LocalExecutor().tasks(jobs))
    assert [t["name"] for t in tasks] == [j.name for j in jobs]
    assert not any(task["uptodate"][0]() for task in tasks)
    for task, job in zip(tasks, jobs):
        func, args = task["actions"][0]
        assert args == [job]
        func(*args)
    assert all(task["uptodate"][0]() for task in tasks)


def _noise_plan(tmp_path, sizes):
    from pipeline.tasks import load_plan
    (tmp_path / "media").mkdir()
    for i, size in enumerate(sizes):
        Image.effect_noise(size, 60).convert("RGB").save(tmp_path / "media" / f"img{i}.jpg", quality=90)
    items = "".join(f"  - {{id: item{i}, name: Item {i}, type: Movie, images: {{Primary: media/img{i}.jpg}}}}\n"
                    for i in range(len(sizes)))
    (tmp_path / "catalog.yaml").write_text(
        "settings:\n  formats: [Jpg, Webp]\n  qualities: [85]\n  sizes: [{maxWidth: [40, 100, 300]}]\n"
        "items:\n" + items)
    return load_plan(tmp_path / "catalog.yaml", tmp_path / "out")


def test_encoder_threads_change_no_byte(tmp_path, monkeypatch):
    from pipeline.imaging import render as render_module
    source = next(iter(_noise_plan(tmp_path, [(640, 400)]).sources.values()))
    data = source.path.read_bytes()
    monkeypatch.setattr(render_module, "ENCODE_THREADS", 1)
    one = render(source, data)
    monkeypatch.setattr(render_module, "ENCODE_THREADS", 4)
    four = render(source, data)
    assert one == four and len(one.files) == 7                  # 3 sizes x 2 formats + original


def test_render_jobs_come_largest_source_first(tmp_path):
    plan = _noise_plan(tmp_path, [(200, 100), (900, 600), (400, 300)])
    pixels = {tag: s.probe.width * s.probe.height for tag, s in plan.sources.items()}
    assert [pixels[j.name] for j in render_jobs(plan, str(tmp_path / "out"))] == [540000, 120000, 20000]


def test_each_encoder_thread_gets_its_own_image(tmp_path, monkeypatch):
    """Image.save stores its options on the Image object (encoderinfo): two threads saving one
    object at once mix their options (seen: WebP files 35 % smaller than serial ones)."""
    from pipeline.imaging import render as render_module
    source = next(iter(_noise_plan(tmp_path, [(640, 400)]).sources.values()))
    seen, encode = [], render_module.encode

    def recording(image, *args):
        seen.append(image)
        return encode(image, *args)
    monkeypatch.setattr(render_module, "encode", recording)
    render(source, source.path.read_bytes())
    assert len(seen) == 6 and len({id(image) for image in seen}) == 6


def test_keep_freed_memory_applies_once_on_glibc(monkeypatch):
    import ctypes
    import platform
    from pipeline.imaging import render as render_module
    monkeypatch.setattr(render_module, "_malloc_tuned", None)
    applied = render_module.keep_freed_memory()
    assert applied == (platform.libc_ver()[0] == "glibc")
    calls = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: calls.append(name))
    assert render_module.keep_freed_memory() == applied and calls == []     # once per process


def _gradient_jpeg(size=(600, 400)) -> bytes:
    """Gradients and 300 small random blocks: detail whose 64 px thumbnail depends on the path
    down to it (a box from the decode, or Lanczos to the smallest size first)."""
    import random
    from PIL import ImageDraw
    image = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size),
                                Image.linear_gradient("L").rotate(90).resize(size)])
    rnd, draw = random.Random(7), ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle([x, y, x + rnd.randrange(2, 9), y + rnd.randrange(2, 9)],
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _plan_with_sizes(tmp_path, sizes: str, data: bytes):
    write(tmp_path / "media" / "photo.jpg", data)
    (tmp_path / "catalog.yaml").write_text(
        "settings:\n  formats: [Jpg]\n  qualities: [80]\n"
        f"  sizes: [{{maxWidth: [{sizes}]}}]\n"
        "items:\n  - {id: mv, name: A Film, type: Movie, images: {Primary: media/photo.jpg}}\n")
    library = load_catalog(tmp_path / "catalog.yaml")
    probes = probe_all([s.path for o in library.owners() for s in o.slots()], tmp_path / "probe.json")
    return source_of(make_plan(library, probes), "media/photo.jpg")


def _dc(hash_: str) -> tuple[int, int, int]:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
    value = 0
    for ch in hash_[2:6]:
        value = value * 83 + alphabet.index(ch)
    return value >> 16, (value >> 8) & 255, value & 255


def test_blurhash_comes_from_the_smallest_rendered_size(tmp_path):
    """The record's BlurHash is hashed from the smallest whole-picture size the cascade made
    (RENDERER_VERSION 4), not from the full decode, and shows the same picture."""
    from pipeline.imaging.decode import decode
    from pipeline.imaging.render import BLURHASH_SIDE, _cascade, image_blurhash
    data = _gradient_jpeg()
    source = _plan_with_sizes(tmp_path, "120, 300", data)
    record = render(source, data).record
    base = decode(data, covering=(300, 200))
    smallest = [image for image, group in _cascade(base, source.rendered)][-1]
    assert min(smallest.size) >= BLURHASH_SIDE and smallest.width == 120
    assert record["blurhash"] == image_blurhash(smallest)
    full = image_blurhash(decode(data))
    assert record["blurhash"] != image_blurhash(base)          # (the test can tell the two apart)
    assert record["blurhash"][:2] == full[:2]                  # same components and scale
    assert all(abs(a - b) <= 3 for a, b in zip(_dc(record["blurhash"]), _dc(full)))   # same mean colour


def test_blurhash_falls_back_to_the_decode_below_its_side(tmp_path):
    """Sizes whose short side is under BLURHASH_SIDE are not hashed: the decode is."""
    from pipeline.imaging.decode import decode
    from pipeline.imaging.render import image_blurhash
    data = _gradient_jpeg()
    source = _plan_with_sizes(tmp_path, "60", data)
    largest = (max(d.width for d in source.rendered), max(d.height for d in source.rendered))
    assert render(source, data).record["blurhash"] == image_blurhash(decode(data, covering=largest))

"""Probing sources (pipeline/plan/probe.py): facts of one file, and the probe cache of probe_all."""

import hashlib
import json
import os
from dataclasses import asdict

import pytest
from PIL import Image

import pipeline.plan.probe as probe_module
from imagefactory import encode, jpeg, marked, palette_with_transparency, png, solid, write
from pipeline.imaging.decode import decode
from pipeline.errors import SourceError
from pipeline.plan.probe import Probe, probe_all, probe_bytes, probe_file
from pipeline.imaging.render import image_blurhash

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
LANDSCAPE_HASH_HEAD = BASE83[(4 - 1) + (3 - 1) * 9]   # 4×3 components: "L"
PORTRAIT_HASH_HEAD = BASE83[(3 - 1) + (4 - 1) * 9]    # 3×4 components: "T"

PROBES = [
    # (source bytes, width, height, format, alpha channel, blurhash head)
    pytest.param(jpeg((40, 20)), 40, 20, "Jpg", False, "L", id="jpeg-landscape"),
    pytest.param(jpeg((20, 40)), 20, 40, "Jpg", False, "T", id="jpeg-portrait"),
    pytest.param(jpeg((30, 30)), 30, 30, "Jpg", False, "L", id="jpeg-square"),
    pytest.param(encode(marked((40, 20)), "JPEG", orientation=6), 20, 40, "Jpg", False, "T", id="jpeg-exif-6"),
    pytest.param(encode(marked((40, 20)), "JPEG", orientation=8), 20, 40, "Jpg", False, "T", id="jpeg-exif-8"),
    pytest.param(encode(marked((40, 20)), "JPEG", orientation=3), 40, 20, "Jpg", False, "L", id="jpeg-exif-3"),
    pytest.param(png((20, 40), "RGBA", (1, 2, 3, 0)), 20, 40, "Png", True, "T", id="png-transparent"),
    pytest.param(png((20, 40), "RGBA", (1, 2, 3, 255)), 20, 40, "Png", True, "T", id="png-opaque-rgba"),  # by mode
    pytest.param(png((50, 10), "LA", (9, 100)), 50, 10, "Png", True, "L", id="png-LA"),
    pytest.param(png((50, 10), "I;16", 30000), 50, 10, "Png", False, "L", id="png-16-bit-grey"),
    pytest.param(palette_with_transparency((16, 8)), 16, 8, "Png", True, "L", id="png-palette-transparent"),
    pytest.param(encode(solid((20, 40)), "GIF"), 20, 40, "Gif", False, "T", id="gif"),
    pytest.param(encode(solid((20, 40)), "WEBP"), 20, 40, "Webp", False, "T", id="webp"),
    pytest.param(encode(solid((20, 40)), "BMP"), 20, 40, "Bmp", False, "T", id="bmp"),
    pytest.param(encode(solid((20, 40)), "TIFF"), 20, 40, "Jpg", False, "T", id="tiff-opaque-as-jpg"),
    pytest.param(encode(solid((20, 40), "RGBA", (1, 2, 3, 0)), "TIFF"), 20, 40, "Png", True, "T",
                 id="tiff-alpha-as-png"),
    pytest.param(encode(solid((40, 20), "CMYK"), "JPEG"), 40, 20, "Jpg", False, "L", id="cmyk-jpeg"),
    pytest.param(jpeg((1000, 10)), 1000, 10, "Jpg", False, "L", id="very-wide"),
]


def blurhash_of(data: bytes) -> str:
    """What the render task records: the BlurHash of the decoded, upright image."""
    return image_blurhash(decode(data))


@pytest.mark.parametrize("data, width, height, fmt, alpha, head", PROBES)
def test_probe_bytes(data, width, height, fmt, alpha, head):
    probe = probe_bytes(data)
    assert probe.error == ""
    assert (probe.width, probe.height, probe.format, probe.alpha) == (width, height, fmt, alpha)
    assert probe.md5 == hashlib.md5(data).hexdigest()
    assert probe.size == len(data)
    assert probe.blurhash == ""                 # filled in from the render task's record
    hash_ = blurhash_of(data)
    assert len(hash_) == 4 + 2 * 12   # 12 components: DC (4 chars) + 11 AC (2 chars each)
    assert hash_[0] == head
    assert set(hash_) <= set(BASE83)


def test_blurhash_component_heads():
    assert (LANDSCAPE_HASH_HEAD, PORTRAIT_HASH_HEAD) == ("L", "T")


def test_blurhash_is_deterministic_and_depends_on_pixels():
    a = blurhash_of(png((32, 24), "RGB", (200, 10, 10)))
    b = blurhash_of(png((32, 24), "RGB", (200, 10, 10)))
    c = blurhash_of(png((32, 24), "RGB", (10, 10, 200)))
    assert a == b
    assert a != c


def test_blurhash_follows_exif_orientation():
    # the marked corner is stored top-left; orientation 6 shows it top-right: different hashes
    upright = encode(marked((40, 20)).transpose(Image.Transpose.ROTATE_270), "PNG")
    turned = encode(marked((40, 20)), "PNG", orientation=6)
    plain = encode(marked((40, 20)).transpose(Image.Transpose.TRANSPOSE), "PNG")
    assert (probe_bytes(turned).width, probe_bytes(turned).height) == (20, 40)
    assert blurhash_of(turned) == blurhash_of(upright)
    assert blurhash_of(turned) != blurhash_of(plain)


@pytest.mark.parametrize("data, message", [
    pytest.param(b"garbage bytes", "not an image (no known image format recognised)", id="garbage"),
    pytest.param(b"", "not an image (no known image format recognised)", id="empty"),
])
def test_bad_data_gives_probe_error(data, message):
    probe = probe_bytes(data)
    assert probe.error.startswith(message) and probe.error
    assert probe.md5 == hashlib.md5(data).hexdigest()
    assert probe.size == len(data)
    assert (probe.width, probe.height, probe.format, probe.alpha, probe.blurhash) == (0, 0, "", False, "")


@pytest.mark.parametrize("data", [
    pytest.param(encode(marked((256, 256)), "JPEG")[:1500], id="truncated-jpeg"),
    pytest.param(png((64, 64))[:60], id="truncated-png"),
])
def test_truncated_data_passes_the_header_probe_and_fails_decoding(data):
    """The probe reads headers only; the render task's single decode finds the damage."""
    assert probe_bytes(data).error == "" or probe_bytes(data).error.startswith("not")
    with pytest.raises(SourceError):
        decode(data)


def test_probe_file_reads_the_file(tmp_path):
    data = jpeg((12, 8))
    probe = probe_file(write(tmp_path / "a.jpg", data))
    assert probe == probe_bytes(data)


def test_probe_file_missing_file(tmp_path):
    assert probe_file(tmp_path / "missing.jpg") == Probe(error="cannot read file: No such file or directory")


# --- probe_all and its cache ------------------------------------------------------------------------

@pytest.fixture
def sources(tmp_path):
    return [
        write(tmp_path / "src" / "a.jpg", jpeg((16, 12), (200, 0, 0))),
        write(tmp_path / "src" / "b.png", png((12, 16), "RGBA", (0, 0, 200, 100))),
        write(tmp_path / "src" / "c.jpg", jpeg((8, 8), (0, 200, 0))),
    ]


@pytest.fixture
def counted(monkeypatch):
    """Replace probe_file by a counting wrapper; returns the list of probed paths."""
    calls = []
    real = probe_module.probe_file

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(probe_module, "probe_file", counting)
    return calls


def test_probe_all_probes_every_file_and_writes_the_cache(tmp_path, sources, counted):
    cache = tmp_path / "out" / ".cache" / "probe.json"
    results = probe_all(sources, cache)
    assert sorted(counted) == sorted(sources)
    assert list(results) == sources
    for path in sources:
        assert results[path] == probe_bytes(path.read_bytes())
    stored = json.loads(cache.read_text())
    assert stored["version"] == probe_module._CACHE_VERSION
    assert set(stored["entries"]) == {str(p) for p in sources}
    st = sources[0].stat()
    assert stored["entries"][str(sources[0])] == {"stat": [st.st_size, st.st_mtime_ns],
                                                  "probe": asdict(results[sources[0]])}


def test_second_call_with_unchanged_files_reads_nothing(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    first = probe_all(sources, cache)
    counted.clear()
    cache_bytes = cache.read_bytes()
    second = probe_all(sources, cache)
    assert counted == []
    assert second == first
    assert cache.read_bytes() == cache_bytes


def test_changed_file_is_probed_again(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    probe_all(sources, cache)
    counted.clear()
    write(sources[1], png((30, 10)))   # new content, new size
    results = probe_all(sources, cache)
    assert counted == [sources[1]]
    assert (results[sources[1]].width, results[sources[1]].height, results[sources[1]].alpha) == (30, 10, False)
    counted.clear()
    assert probe_all(sources, cache) == results
    assert counted == []


def test_touched_file_is_probed_again(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    probe_all(sources, cache)
    counted.clear()
    st = sources[2].stat()
    os.utime(sources[2], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    probe_all(sources, cache)
    assert counted == [sources[2]]


def test_rewritten_file_is_probed_again(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    before = probe_all(sources, cache)
    counted.clear()
    st = sources[0].stat()
    other = jpeg((16, 12), (0, 0, 200))
    sources[0].write_bytes(other)
    os.utime(sources[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    after = probe_all(sources, cache)
    assert counted == [sources[0]]
    assert after[sources[0]].md5 == hashlib.md5(other).hexdigest() != before[sources[0]].md5
    assert after[sources[1]] == before[sources[1]]


def test_new_file_is_probed_and_others_come_from_the_cache(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    probe_all(sources[:2], cache)
    counted.clear()
    results = probe_all(sources, cache)
    assert counted == [sources[2]]
    assert set(results) == set(sources)


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe\x00garbage", b"", b'{"version": "0/old", "entries": {}}',
], ids=["truncated-json", "binary", "empty", "old-version"])
def test_corrupt_or_old_cache_is_ignored(tmp_path, sources, counted, content):
    cache = tmp_path / "probe.json"
    cache.write_bytes(content)
    results = probe_all(sources, cache)
    assert sorted(counted) == sorted(sources)
    assert json.loads(cache.read_text())["version"] == probe_module._CACHE_VERSION
    counted.clear()
    assert probe_all(sources, cache) == results
    assert counted == []


@pytest.mark.parametrize("content", [
    "[]", "null", '"text"',
    '{"version": "%s", "entries": []}',
    '{"version": "%s", "entries": {"%s": {"stat": [%d, %d]}}}',
    '{"version": "%s", "entries": {"%s": {"stat": [%d, %d], "probe": {"colour": 1}}}}',
], ids=["list", "null", "string", "entries-list", "entry-without-probe", "entry-unknown-field"])
def test_cache_of_the_wrong_shape_is_ignored(tmp_path, sources, counted, content):
    cache = tmp_path / "probe.json"
    st = sources[0].stat()
    values = (probe_module._CACHE_VERSION, str(sources[0]), st.st_size, st.st_mtime_ns)
    cache.write_text(content % values[:content.count("%")])
    results = probe_all(sources, cache)
    assert results[sources[0]] == probe_bytes(sources[0].read_bytes())


@pytest.mark.parametrize("content", [
    '{"version": "%s", "entries": {"%s": {}}}',
    '{"version": "%s", "entries": {"%s": {"stat": null, "probe": {}}}}',
    '{"version": "%s", "entries": {"%s": {"stat": [0, 0], "probe": {}}}}',
], ids=["entry-empty", "entry-stat-null", "entry-stat-stale"])
def test_unusable_cache_entry_is_ignored(tmp_path, sources, counted, content):
    cache = tmp_path / "probe.json"
    cache.write_text(content % (probe_module._CACHE_VERSION, str(sources[0])))
    results = probe_all(sources, cache)
    assert sorted(counted) == sorted(sources)
    assert results[sources[0]] == probe_bytes(sources[0].read_bytes())


def test_cache_version_follows_the_renderer_version():
    from pipeline import RENDERER_VERSION
    assert probe_module._CACHE_VERSION.endswith("/" + RENDERER_VERSION)


def test_missing_file_gives_an_error_and_is_not_cached(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    missing = tmp_path / "src" / "missing.jpg"
    results = probe_all([*sources, missing], cache)
    assert results[missing] == Probe(error="cannot read file: No such file or directory")
    assert str(missing) not in json.loads(cache.read_text())["entries"]
    write(missing, jpeg((5, 5)))
    counted.clear()
    results = probe_all([*sources, missing], cache)
    assert counted == [missing]
    assert (results[missing].width, results[missing].error) == (5, "")


def test_corrupt_source_is_cached_with_its_error(tmp_path, sources, counted):
    cache = tmp_path / "probe.json"
    bad = write(tmp_path / "src" / "bad.jpg", b"not an image")
    results = probe_all([*sources, bad], cache)
    assert results[bad].error == "not an image (no known image format recognised)"
    counted.clear()
    again = probe_all([*sources, bad], cache)
    assert counted == []
    assert again[bad] == results[bad]


def test_duplicate_paths_are_probed_once(tmp_path, sources, counted):
    results = probe_all([sources[0], sources[0], sources[1]], tmp_path / "probe.json")
    assert sorted(counted) == sorted(sources[:2])
    assert list(results) == sources[:2]


def test_progress_reports_each_probed_file(tmp_path, sources):
    cache = tmp_path / "probe.json"
    seen = []
    probe_all(sources, cache, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    seen.clear()
    probe_all(sources, cache, progress=lambda done, total: seen.append((done, total)))
    assert seen == []   # nothing to probe, nothing reported


def test_empty_path_list(tmp_path, counted):
    cache = tmp_path / "probe.json"
    assert probe_all([], cache) == {}
    assert counted == [] and not cache.exists()

"""pipeline.store.atomic: temporary names, atomic writes and links."""

import os
import threading

from pipeline.store.atomic import atomic_write_bytes, is_temporary, temp_name, write_if_changed


def test_temp_name_is_hidden_beside_the_path_and_recognised(tmp_path):
    path = tmp_path / "images" / "t" / "640x960-q90.jpg"
    temp = temp_name(path)
    assert temp.parent == path.parent
    assert temp.name == f".640x960-q90.jpg.tmp-{os.getpid()}"
    assert temp_name(path, per_thread=True).name == f"{temp.name}-{threading.get_ident()}"
    assert is_temporary(temp.name) and is_temporary(temp_name(path, per_thread=True).name)
    for published in ("640x960-q90.jpg", "a.tmp-5.jpg", ".hidden", "index.sqlite"):
        assert not is_temporary(published)


def test_atomic_write_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "b.json"
    assert atomic_write_bytes(path, b"{}") == 2
    assert path.read_bytes() == b"{}"
    assert not any(is_temporary(p.name) for p in path.parent.iterdir())
    assert write_if_changed(path, b"{}") is False and write_if_changed(path, b"[]") is True

"""Smaller limits of issue 13 item 9: a folder that cannot be written gives one clear line per
failure (no traceback); the decompression-bomb cap comes from memory and refuses, not warns."""

import io
import struct
import zlib

import pytest
from PIL import Image

from conftest import copy_media, run_doit
from pipeline.errors import SourceError
from pipeline.imaging import decode


def test_unwritable_output_gives_one_line_per_failure(tmp_path):
    copy_media(tmp_path, "avatar-meadow.jpg", "poster-wood.jpg")
    (tmp_path / "catalog.yaml").write_text(
        "items:\n  - {id: a, name: A, type: Movie, images: {Primary: media/avatar-meadow.jpg, "
        "Backdrop: [media/poster-wood.jpg]}}\n")
    output = tmp_path / "out"
    output.mkdir()
    (output / "images").write_text("")        # every image folder is then not a directory
    result = run_doit(tmp_path / "catalog.yaml", output)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in text, text
    failures = [line for line in text.splitlines() if line.startswith("FAILED render:")]
    assert len(failures) == 2 and all("cannot write" in line and "Not a directory" in line for line in failures)


def _png_claiming(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (1, 1)).save(buffer, "PNG")
    data = buffer.getvalue()
    at = data.index(b"IHDR")
    body = struct.pack(">II", width, height) + data[at + 12:at + 17]
    return data[:at + 4] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + data[at + 21:]


def test_bomb_cap_is_set_from_memory():
    assert decode.pixel_cap(memory=64 << 30, workers=2) == 100_000_000        # capped at 100 MP
    assert decode.pixel_cap(memory=2 << 30, workers=2) == (1 << 30) // 20     # 1 GB / (2 × 10 B)
    assert decode.pixel_cap(memory=64 << 20, workers=8) == 1_000_000          # never below 1 MP


def test_bomb_cap_override(monkeypatch):
    monkeypatch.setenv("PIPELINE_MAX_PIXELS", "5000")
    assert decode.pixel_cap() == 5000


def test_source_between_the_cap_and_twice_it_is_refused():
    """Pillow alone only warns up to twice its limit: a 196 MP PNG used to decode (1.9 GB)."""
    pixels = decode.PIXEL_CAP + 1_000_000
    with pytest.raises(SourceError, match="exceeds limit"):
        decode.open_image(_png_claiming(pixels // 1000 + 1, 1000))

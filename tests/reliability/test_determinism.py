"""Two clean builds, at different times, are byte-identical, and no derivative carries
metadata the README does not promise (issue 13 item 4).

LittleCMS stamps the sRGB profile it creates with the current time, so a build that embeds it
in PNG/AVIF derivatives differs from one a second later. The sources here carry an ICC
profile, EXIF, XMP, PNG text and a GIF comment; every format is built.
"""

import time
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from conftest import copy_media, run_doit

CATALOG = """\
settings:
  formats: [Original, Jpg, Webp, Png, Avif, Gif, Bmp]
  sizes: [{maxWidth: [64, 128]}]
  variants: []
items:
  - id: movie
    name: Movie
    type: Movie
    images:
      Primary: media/box-painting.jpg
      Logo: media/tagged.png
      Backdrop: [media/tagged.jpg, media/commented.gif]
"""
FORBIDDEN_INFO = {"icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment", "Description"}


def _sources(media: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"            # Make
    image = Image.new("RGBA", (300, 200), (200, 40, 40, 128))
    info = PngInfo()
    info.add_text("Comment", "a text chunk")
    image.save(media / "tagged.png", icc_profile=srgb, pnginfo=info, exif=exif)
    Image.new("RGB", (300, 200), (40, 200, 40)).save(media / "tagged.jpg", icc_profile=srgb, exif=exif,
                                                      xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
                                                      comment=b"a JPEG comment")
    Image.new("P", (300, 200), 3).save(media / "commented.gif", comment=b"a GIF comment")


def _build(root: Path, name: str) -> Path:
    output = root / name
    run_doit(root / "catalog.yaml", output, check=True)
    return output


def _tree(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(output).parts}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("determinism")
    copy_media(root, "box-painting.jpg")
    _sources(root / "media")
    (root / "catalog.yaml").write_text(CATALOG)
    first = _build(root, "first")
    time.sleep(1.1)        # LittleCMS's profile time stamp has 1 s resolution
    second = _build(root, "second")
    return first, second


def test_two_clean_builds_are_byte_identical(builds):
    first, second = map(_tree, builds)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, differing


def test_derivatives_carry_no_metadata(builds):
    output = builds[0]
    checked = set()
    for path in sorted((output / "images").rglob("*")):
        if not path.is_file() or path.name.startswith(("original.", "render")):
            continue
        with Image.open(path) as image:
            found = FORBIDDEN_INFO & set(image.info)
            assert not found, f"{path.relative_to(output)} carries {sorted(found)}"
            assert not getattr(image, "text", {}), f"{path.relative_to(output)} carries text chunks"
            checked.add(image.format)
    assert checked >= {"JPEG", "WEBP", "PNG", "AVIF", "GIF", "BMP"}


def test_webp_and_avif_have_no_metadata_chunks(builds):
    """Pillow does not surface every container box: look at the bytes too."""
    for path in (builds[0] / "images").rglob("*.*"):
        data = path.read_bytes()
        if path.suffix == ".webp":
            chunks, at = [], 12
            while at + 8 <= len(data):
                size = int.from_bytes(data[at + 4:at + 8], "little")
                chunks.append(data[at:at + 4])
                at += 8 + size + (size & 1)
            assert not {b"ICCP", b"EXIF", b"XMP "} & set(chunks), (path, chunks)
        elif path.suffix == ".avif":
            assert b"colrprof" not in data and b"colrrICC" not in data, path
            assert b"Exif" not in data and b"application/rdf+xml" not in data, path


def test_original_stays_byte_for_byte(builds):
    output = builds[0]
    originals = [p for p in (output / "images").rglob("original.*")]
    sources = {p.read_bytes() for p in (output.parent / "media").iterdir()}
    assert originals and all(p.read_bytes() in sources for p in originals)

"""End to end from a media folder: ``doit scan`` → ``doit`` → serve.py → the URLs real clients
send answer 200 with the right images; a second ``doit scan`` after adding and removing files
changes only those items and keeps hand edits."""

import io
import json

import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import Http, run_doit, running_server
from mediafolder import MEDIA, make_media_folder
from pipeline.catalog.scan import item_id

SETTINGS = """\
settings:                       # a hand edit the scan keeps: a small ladder keeps the test quick
  formats: [Original, Jpg]
  sizes: [{maxWidth: [160, 320]}, {fillWidth: 228, fillHeight: 342}]
"""

PAINTING = "library/Movies/Painting Colors (2019)/Painting Colors (2019).mkv"
SERIES = "library/Shows/Nature Diaries (2020)"
EPISODE = f"{SERIES}/Season 01/Nature Diaries - S01E01 - Dunes.mkv"
ODD = "library/Movies/Émile & «Odd» #1 100% (2020)/Émile & «Odd» #1 100% (2020).mp4"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("mediafolder")
    make_media_folder(root)
    catalog, output = root / "catalog.yaml", root / "output"
    catalog.write_text(SETTINGS)
    scan = run_doit(catalog, output, "scan", f"library={root / 'library'}", check=True)
    assert "22 items (22 added, 0 changed, 0 removed), 6 problem(s)" in scan.stdout, scan.stdout
    assert "symbolic link loop" in scan.stdout and "not a readable image" in scan.stdout
    build = run_doit(catalog, output, "-n", "2", check=True)
    assert "0 failed" in build.stdout, build.stdout
    with running_server(output) as base:
        yield root, Http(base), output


def flatten(image: Image.Image) -> Image.Image:
    """RGB over white (transparent pixels' colours do not count)."""
    rgba = image.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")


def same_picture(served: bytes, source: str) -> bool:
    """The served image is the source scaled: same aspect (±2 %) and, both brought to 48 px
    wide, a mean difference below 4 of 255 per channel (another sample image is > 20 away)."""
    with Image.open(io.BytesIO(served)) as got, Image.open(MEDIA / source) as want:
        if abs(got.width / got.height - want.width / want.height) > 0.02 * want.width / want.height:
            return False
        size = (48, max(1, round(48 * got.height / got.width)))
        got = flatten(got).resize(size, Image.Resampling.BOX)
        want = flatten(want).resize(size, Image.Resampling.BOX)
        return max(ImageStat.Stat(ImageChops.difference(got, want)).mean) < 4


@pytest.mark.parametrize("path,url,source", [
    (PAINTING, "Images/Primary?fillHeight=342&fillWidth=228&quality=96", "box-painting.jpg"),
    (PAINTING, "Images/Backdrop/2?maxWidth=320&quality=80", "TwoWings.jpg"),        # extrafanart/
    (PAINTING, "Images/Logo?maxHeight=40&format=png", "matplotlib-logo.png"),       # clearlogo
    (PAINTING, "Images/Disc?maxWidth=160", "disc-storm.png"),
    (ODD, "Images/Primary?maxWidth=320", "Stripes.png"),                            # folder.png
    (SERIES, "Images/Backdrop/0?maxWidth=320", "Fossa_by_Jasper_Roks.jpg"),
    (SERIES, "Images/Banner?maxWidth=320", "banner-elephants.jpg"),
    (SERIES, "Images/Thumb?fillWidth=320&fillHeight=180", "Garden.jpg"),           # landscape
    (f"{SERIES}/Season 01", "Images/Primary?fillHeight=342&fillWidth=228", "poster-ladybird.jpg"),
    (f"{SERIES}/Specials", "Images/Primary?maxWidth=160", "YellowFlower.jpg"),      # season-specials-poster
    (f"{SERIES}#season2", "Images/Primary?maxWidth=160", "LadyBird.jpg"),           # season02-poster
    (EPISODE, "Images/Primary?maxWidth=320", "Dune.jpg"),                           # <file>-thumb
    ("library/Movies/Dune [tmdbid-841].mkv", "Images/Primary?maxWidth=320", "Dune.jpg"),
    ("library/Music/Wings/Flight (2001)", "Images/Primary?maxWidth=160", "avatar-meadow.jpg"),
])
def test_client_urls_answer_with_the_right_image(site, path, url, source):
    _, http, _ = site
    status, headers, body = http.request(f"/Items/{item_id(path)}/{url}")
    assert status == 200, body[:200]
    if "format=png" in url:
        assert headers["Content-Type"] == "image/png"
    assert same_picture(body, source)


def test_objects_carry_types_parents_and_inherited_images(site):
    _, http, _ = site
    status, _, body = http.request(f"/Items/{item_id(EPISODE)}")
    assert status == 200
    episode = json.loads(body)
    series = json.loads(http.request(f"/Items/{item_id(SERIES)}")[2])     # ids are published GUIDs (issue 9)
    assert episode["Type"] == "Episode" and episode.get("ParentLogoItemId") == series["Id"]
    status, _, body = http.request(f"/Items/{item_id('library/Music/Wings/Flight (2001)/01 - Take Off.flac')}")
    assert status == 200 and json.loads(body)["Type"] == "Audio"


def test_second_scan_changes_only_what_changed(site):
    root, _, output = site
    catalog = root / "catalog.yaml"
    before = catalog.read_text()
    (root / "library" / "Movies" / "Wood.1999.mp4").unlink()
    new = root / "library" / "Movies" / "Storm (2021)"
    new.mkdir()
    (new / "Storm (2021).mkv").write_bytes(b"video")
    (new / "poster.jpg").write_bytes((MEDIA / "Storm.jpg").read_bytes())
    result = run_doit(catalog, output, "scan", f"library={root / 'library'}", check=True)
    assert "(1 added, 0 changed, 1 removed)" in result.stdout, result.stdout
    assert "+ Movie 'Storm'" in result.stdout and "- Movie 'Wood'" in result.stdout
    after = catalog.read_text()
    assert SETTINGS in after and before.count("\n  - id: ") == after.count("\n  - id: ")

"""A media folder laid out as Jellyfin, Emby and Kodi expect, made from the sample images
(media/): movies (own folders, a mixed folder, odd names), a series with seasons, specials and a
virtual season, music (artist, albums, discs), and the trouble a real folder has: an unreadable
image, an empty file, a file nothing classifies, an image no rule names and a symlink loop.

``make_media_folder(root)`` writes it under ``root/library`` and returns ``EXPECTED``: the items
(by catalog-relative path) with their type, name, parent path and images by source file name.
"""

import os
import shutil
from pathlib import Path

MEDIA = Path(__file__).resolve().parent.parent / "media"

VIDEO = b"\x1aE\xdf\xa3 not really a video"      # scan never opens videos
AUDIO = b"fLaC not really audio"

#: relative path under library/ → sample image (copied) or bytes.
FILES = {
    # a movie in its own folder: poster, numbered fanart, extrafanart, clearlogo, disc
    "Movies/Painting Colors (2019)/Painting Colors (2019).mkv": VIDEO,
    "Movies/Painting Colors (2019)/poster.jpg": "box-painting.jpg",
    "Movies/Painting Colors (2019)/fanart.jpg": "Aqua.jpg",
    "Movies/Painting Colors (2019)/fanart-1.jpg": "Garden.jpg",
    "Movies/Painting Colors (2019)/extrafanart/fanart3.jpg": "TwoWings.jpg",
    "Movies/Painting Colors (2019)/clearlogo.png": "matplotlib-logo.png",
    "Movies/Painting Colors (2019)/disc.png": "disc-storm.png",
    "Movies/Painting Colors (2019)/movie.nfo": b"<movie/>",
    # two movies in one folder (mixed): only <file name>-poster style names count
    "Movies/Dune [tmdbid-841].mkv": VIDEO,
    "Movies/Dune [tmdbid-841]-poster.jpg": "Dune.jpg",
    "Movies/Dune [tmdbid-841]-fanart.jpg": "Storm.jpg",
    "Movies/Wood.1999.mp4": VIDEO,
    "Movies/Wood.1999.jpg": "Wood.jpg",
    # odd names: accents, quotes, brackets, #, %, and a folder.png beating folder.jpg
    "Movies/Émile & «Odd» #1 100% (2020)/Émile & «Odd» #1 100% (2020).mp4": VIDEO,
    "Movies/Émile & «Odd» #1 100% (2020)/folder.png": "Stripes.png",
    "Movies/Émile & «Odd» #1 100% (2020)/folder.jpg": "Elephants.jpg",
    "Movies/Émile & «Odd» #1 100% (2020)/backdrop.jpg": "RainDrops.jpg",
    "Movies/Émile & «Odd» #1 100% (2020)/random picture.jpg": "YellowFlower.jpg",   # no rule
    "Movies/Émile & «Odd» #1 100% (2020)/notes.xyz": b"?",                          # unclassifiable
    "Movies/Émile & «Odd» #1 100% (2020)/banner.jpg": b"\xff\xd8\xff\xe0 truncated",  # unreadable
    "Movies/Émile & «Odd» #1 100% (2020)/landscape.jpg": b"",                        # empty
    # a series: its images, season images in the series folder, seasons, specials, a virtual season
    "Shows/Nature Diaries (2020)/poster.jpg": "poster-wood.jpg",
    "Shows/Nature Diaries (2020)/fanart.jpg": "Fossa_by_Jasper_Roks.jpg",
    "Shows/Nature Diaries (2020)/banner.jpg": "banner-elephants.jpg",
    "Shows/Nature Diaries (2020)/logo.png": "matplotlib-logo.png",
    "Shows/Nature Diaries (2020)/clearart.png": "Arc-Colors-Transparent-Wallpaper.png",
    "Shows/Nature Diaries (2020)/landscape.jpg": "Garden.jpg",
    "Shows/Nature Diaries (2020)/season01-poster.jpg": "poster-ladybird.jpg",
    "Shows/Nature Diaries (2020)/season-specials-poster.jpg": "YellowFlower.jpg",
    "Shows/Nature Diaries (2020)/season02-poster.jpg": "LadyBird.jpg",
    "Shows/Nature Diaries (2020)/Season 01/Nature Diaries - S01E01 - Dunes.mkv": VIDEO,
    "Shows/Nature Diaries (2020)/Season 01/Nature Diaries - S01E01 - Dunes-thumb.jpg": "Dune.jpg",
    "Shows/Nature Diaries (2020)/Season 01/Nature Diaries - S01E02.mkv": VIDEO,
    "Shows/Nature Diaries (2020)/Season 01/metadata/Nature Diaries - S01E02.jpg": "RainDrops.jpg",
    "Shows/Nature Diaries (2020)/Season 01/Nature Diaries - S01E01 - Dunes.srt": b"1\n",
    "Shows/Nature Diaries (2020)/Specials/Nature Diaries - S00E01.mkv": VIDEO,
    "Shows/Nature Diaries (2020)/Specials/folder.jpg": "GreenMeadow.jpg",
    "Shows/Nature Diaries (2020)/Nature Diaries - S02E01.mkv": VIDEO,
    # music: an artist with two albums, one on two discs
    "Music/Wings/folder.jpg": "TwoWings.jpg",
    "Music/Wings/fanart.jpg": "Waves.png",
    "Music/Wings/Flight (2001)/01 - Take Off.flac": AUDIO,
    "Music/Wings/Flight (2001)/02 - Landing.mp3": AUDIO,
    "Music/Wings/Flight (2001)/cover.jpg": "avatar-meadow.jpg",
    "Music/Wings/Flight (2001)/cdart.png": "disc-storm.png",
    "Music/Wings/Double/CD1/01 - One.flac": AUDIO,
    "Music/Wings/Double/CD2/01 - Two.flac": AUDIO,
    "Music/Wings/Double/folder.jpg": "Elephants.jpg",
}

M = "library/Movies"
S = "library/Shows/Nature Diaries (2020)"
ODD = f"{M}/Émile & «Odd» #1 100% (2020)"
PC = f"{M}/Painting Colors (2019)"

#: catalog path → (type, name, parent path, {ImageType: [file names under library/]})
EXPECTED = {
    M: ("CollectionFolder", "Movies", None, {}),
    f"{PC}/Painting Colors (2019).mkv": ("Movie", "Painting Colors", M, {
        "Primary": [f"{PC}/poster.jpg"], "Logo": [f"{PC}/clearlogo.png"], "Disc": [f"{PC}/disc.png"],
        "Backdrop": [f"{PC}/fanart.jpg", f"{PC}/fanart-1.jpg", f"{PC}/extrafanart/fanart3.jpg"]}),
    f"{M}/Dune [tmdbid-841].mkv": ("Movie", "Dune", M, {
        "Primary": [f"{M}/Dune [tmdbid-841]-poster.jpg"], "Backdrop": [f"{M}/Dune [tmdbid-841]-fanart.jpg"]}),
    f"{M}/Wood.1999.mp4": ("Movie", "Wood", M, {"Primary": [f"{M}/Wood.1999.jpg"]}),
    f"{ODD}/Émile & «Odd» #1 100% (2020).mp4": ("Movie", "Émile & «Odd» #1 100%", M, {
        "Primary": [f"{ODD}/folder.png"], "Backdrop": [f"{ODD}/backdrop.jpg"]}),
    "library/Shows": ("CollectionFolder", "Shows", None, {}),
    S: ("Series", "Nature Diaries", "library/Shows", {
        "Primary": [f"{S}/poster.jpg"], "Backdrop": [f"{S}/fanart.jpg"], "Banner": [f"{S}/banner.jpg"],
        "Logo": [f"{S}/logo.png"], "Art": [f"{S}/clearart.png"], "Thumb": [f"{S}/landscape.jpg"]}),
    f"{S}/Season 01": ("Season", "Season 1", S, {"Primary": [f"{S}/season01-poster.jpg"]}),
    f"{S}/Season 01/Nature Diaries - S01E01 - Dunes.mkv": ("Episode", "Nature Diaries - S01E01 - Dunes",
                                                           f"{S}/Season 01", {
        "Primary": [f"{S}/Season 01/Nature Diaries - S01E01 - Dunes-thumb.jpg"]}),
    f"{S}/Season 01/Nature Diaries - S01E02.mkv": ("Episode", "Nature Diaries - S01E02", f"{S}/Season 01", {
        "Primary": [f"{S}/Season 01/metadata/Nature Diaries - S01E02.jpg"]}),
    f"{S}/Specials": ("Season", "Specials", S, {"Primary": [f"{S}/season-specials-poster.jpg"]}),
    f"{S}/Specials/Nature Diaries - S00E01.mkv": ("Episode", "Nature Diaries - S00E01", f"{S}/Specials", {}),
    f"{S}#season2": ("Season", "Season 2", S, {"Primary": [f"{S}/season02-poster.jpg"]}),
    f"{S}/Nature Diaries - S02E01.mkv": ("Episode", "Nature Diaries - S02E01", f"{S}#season2", {}),
    "library/Music": ("CollectionFolder", "Music", None, {}),
    "library/Music/Wings": ("MusicArtist", "Wings", "library/Music", {
        "Primary": ["library/Music/Wings/folder.jpg"], "Backdrop": ["library/Music/Wings/fanart.jpg"]}),
    "library/Music/Wings/Double": ("MusicAlbum", "Double", "library/Music/Wings", {
        "Primary": ["library/Music/Wings/Double/folder.jpg"]}),
    "library/Music/Wings/Double/CD1/01 - One.flac": ("Audio", "01 - One", "library/Music/Wings/Double", {}),
    "library/Music/Wings/Double/CD2/01 - Two.flac": ("Audio", "01 - Two", "library/Music/Wings/Double", {}),
    "library/Music/Wings/Flight (2001)": ("MusicAlbum", "Flight (2001)", "library/Music/Wings", {
        "Primary": ["library/Music/Wings/Flight (2001)/cover.jpg"],
        "Disc": ["library/Music/Wings/Flight (2001)/cdart.png"]}),
    "library/Music/Wings/Flight (2001)/01 - Take Off.flac": ("Audio", "01 - Take Off",
                                                             "library/Music/Wings/Flight (2001)", {}),
    "library/Music/Wings/Flight (2001)/02 - Landing.mp3": ("Audio", "02 - Landing",
                                                           "library/Music/Wings/Flight (2001)", {}),
}

#: catalog paths the scan must report as problems (and not fail on).
PROBLEMS = {
    f"{ODD}/random picture.jpg": "no naming rule",
    f"{ODD}/notes.xyz": "not a video",
    f"{ODD}/banner.jpg": "not a readable image",
    f"{ODD}/landscape.jpg": "empty",
    f"{M}/Loop": "loop",
}


def make_media_folder(root: Path) -> dict:
    """Write the folder under ``root/library`` (plus a symlink loop ``Movies/Loop`` → ``..``)."""
    library = root / "library"
    for rel, content in FILES.items():
        path = library / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            shutil.copy(MEDIA / content, path)
    os.symlink("..", library / "Movies" / "Loop")
    return EXPECTED

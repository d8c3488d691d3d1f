"""``doit scan library=DIR``: find the items and artwork of a media folder and write the catalog.

The folder is read the way Jellyfin, Emby and Kodi read it:

- **Sections.** ``library`` holds one folder per library section (``Movies/``, ``Shows/``,
  ``Music/``; the kind is taken from the name, else guessed from what the folder holds), or is
  itself a section when its own name says so. Each section becomes a ``CollectionFolder`` item.
- **Movies** (Emby.Naming ``VideoResolver``): a folder holding one video (or a ``VIDEO_TS``/
  ``BDMV`` disc folder) is a ``Movie`` named after the folder; several videos in one folder are
  each a ``Movie`` in a *mixed* folder (only ``<file name>-poster.jpg``-style names count there);
  a folder of folders is a ``Folder``. ``Title (2019)`` is named ``Title`` (the year and
  ``[tmdbid-…]``-style tags are dropped, as ``CleanDateTime``/``CleanString`` do).
- **Shows**: each folder is a ``Series``; ``Season 01``, ``S1``, ``Specials``… folders
  (``SeasonPathParser``) are ``Season`` items named ``Season 1``/``Specials``; videos are
  ``Episode`` items named after their file. Episodes directly in the series folder go to a
  season made from their ``S01E02``/``1x02`` number, or to the series when they have none.
- **Music**: a folder holding audio (directly or in ``CD1``/``Disc 2`` folders) is a
  ``MusicAlbum``; a folder of albums is a ``MusicArtist``; each audio file is an ``Audio`` item.

Artwork follows Jellyfin's ``MediaBrowser.LocalMetadata/Images/LocalImageProvider.cs`` and
``EpisodeLocalImageProvider.cs`` (names compared case-insensitively, without the extension; when
several extensions exist, ``BaseItem.SupportedImageExtensions``' order picks one; empty files do
not count):

- Primary: ``<file name>`` itself, then ``<file name>-`` + one of, else (not in a mixed folder)
  one of: ``poster folder cover default movie`` (videos), ``poster folder cover default show``
  (Series), ``folder poster cover jacket default`` (albums, artists), ``folder poster``
  (Person), ``poster folder cover default`` (the rest).
- Logo ``logo``/``clearlogo``; Art ``clearart``; Banner ``banner``; Thumb ``landscape``/``thumb``;
  Disc ``disc``/``cdart``/``discart`` (videos, box sets) or ``cdart``/``disc`` (albums); none
  of these for episodes, songs and people.
- Backdrop: ``<file name>-fanart``, ``fanart``, ``fanart-1…20``, ``background``,
  ``background-1…``, ``art``, ``art-1…``, every image in ``extrafanart/``, ``backdrop``,
  ``backdrop1…`` (a numbered run stops after three missing numbers).
- Seasons, from the series folder first: ``season01-poster`` (``season-specials-poster`` for
  season 0, also ``season1-poster`` after the season's name), ``-fanart`` → Backdrop,
  ``-banner`` → Banner, ``-landscape`` → Thumb; then the season folder's own files.
- Episodes: ``<file name>-thumb`` or ``<file name>`` next to the video (else in ``metadata/``)
  → Primary.

Extensions: Jellyfin's ``png jpg jpeg webp tbn gif`` in that order, then every other format
the build decodes (``bmp tif tiff avif jfif``). ``svg`` is left out: the build cannot read it.

Ids are 32 hex digits, the MD5 of the item's path relative to the catalog's folder (a path
gives the same id on every scan, as Jellyfin derives ``Id`` from the path). Items carry that
``path``; items without one are the user's own and a re-scan never touches them.

Never fatal: unreadable folders, symlink loops, broken links, empty files, files that are
neither media nor a known side file, images no rule names, and names the catalog cannot hold
are returned as ``Problem`` entries.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model.imagetypes import IMAGE_TYPES, MULTI_IMAGE_TYPES
from pipeline.store.atomic import atomic_write_bytes

#: Image extensions, in the order that picks one of several files with the same name:
#: Jellyfin's ``BaseItem.SupportedImageExtensions`` (less svg) then the other formats Pillow
#: decodes for the build.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tbn", ".gif", ".bmp", ".tif", ".tiff",
                    ".avif", ".jfif")
VIDEO_EXTENSIONS = frozenset(
    ".mkv .mp4 .m4v .avi .mov .wmv .mpg .mpeg .m2ts .mts .ts .webm .iso .flv .ogv .ogm .vob .3gp "
    ".divx .xvid .asf .rmvb .strm .img .dvr-ms .wtv .f4v .mk3d".split())
AUDIO_EXTENSIONS = frozenset(
    ".mp3 .flac .m4a .m4b .aac .ogg .oga .opus .wav .wma .alac .aif .aiff .ape .dsf .dff .wv .mka "
    ".mpc .mp2".split())
#: Files next to media that are not items and not artwork: metadata, subtitles, playlists…
SIDE_EXTENSIONS = frozenset(
    ".nfo .xml .srt .ass .ssa .sub .idx .vtt .sup .smi .txt .cue .log .m3u .m3u8 .sfv .md5 .json "
    ".lrc .svg .url .ignore .db .ini .torrent .par2 .pdf .accurip".split())
#: Folders a media server does not turn into items (extras, metadata, system folders).
SKIPPED_FOLDERS = frozenset((
    "extras", "trailers", "featurettes", "behind the scenes", "deleted scenes", "interviews",
    "scenes", "shorts", "other", "samples", "sample", "clips", "metadata", "subs", "subtitles",
    "theme-music", "backdrops", "extrafanart", "extrathumbs", ".actors", "@eadir", "#recycle",
    "$recycle.bin", "lost+found"))
SECTION_KINDS = {
    "movies": "movies", "movie": "movies", "films": "movies", "film": "movies",
    "shows": "tvshows", "tvshows": "tvshows", "tv": "tvshows", "series": "tvshows",
    "television": "tvshows", "tvseries": "tvshows",
    "music": "music", "audio": "music", "albums": "music",
}

_PRIMARY_NAMES = {
    "video": ("poster", "folder", "cover", "default", "movie"),
    "Series": ("poster", "folder", "cover", "default", "show"),
    "music": ("folder", "poster", "cover", "jacket", "default"),
    "Person": ("folder", "poster"),
    "common": ("poster", "folder", "cover", "default"),
}
_VIDEO_TYPES = ("Movie", "MusicVideo", "Video", "Trailer")
_SEASON_FOLDER = re.compile(
    r"^(?:season|series|staffel|saison|temporada|stagione|seizoen|säsong|sæson|sezon|kausi|сезон)"
    r"[\s._-]*(\d{1,4})(?:\b|$)|^s(\d{1,4})$", re.IGNORECASE)
_SPECIALS = re.compile(r"^(?:specials?|season[\s._-]*specials?)$", re.IGNORECASE)
_EPISODE_NUMBER = re.compile(r"(?:^|[^a-z0-9])s(\d{1,4})[\s._-]*e(\d{1,4})|(?:^|[^0-9])(\d{1,2})x(\d{1,3})(?:[^0-9]|$)",
                             re.IGNORECASE)
_DISC_FOLDER = re.compile(r"^(?:cd|disc|disk|dvd|part|pt)[\s._-]*\d{1,2}$", re.IGNORECASE)
_YEAR = re.compile(r"[\s._]*[(\[]?((?:19|20)\d{2})[)\]]?\s*$")
_TAGS = re.compile(r"\s*\[[^\]]*\]|\s*\{[^}]*\}")


@dataclass
class ScannedItem:
    """An item found in the folder: catalog fields (``images``: ImageType → catalog-relative
    paths, one for single-image types) and ``path`` (catalog-relative POSIX, the id's source)."""

    id: str
    name: str
    type: str
    parent: str | None
    path: str
    images: dict[str, list[str]] = field(default_factory=dict)

    def catalog_images(self) -> dict:
        """``images`` as the catalog writes them: a string, or a list for multi-image types."""
        return {t: (list(v) if t in MULTI_IMAGE_TYPES else v[0])
                for t in IMAGE_TYPES if (v := self.images.get(t))}


@dataclass(frozen=True)
class Problem:
    """Something the scan skipped: ``path`` (catalog-relative) and the reason."""

    path: str
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}"


@dataclass
class Scan:
    """What ``scan_library`` found: items in folder order, and the problems."""

    items: list[ScannedItem]
    problems: list[Problem]


@dataclass(frozen=True)
class _File:
    name: str
    path: str        # catalog-relative POSIX
    stem: str
    ext: str
    size: int


class _Listing:
    """One folder's entries (sorted by name) split by kind; images indexed by lower-case stem,
    the first in ``IMAGE_EXTENSIONS`` order winning."""

    def __init__(self, path: Path, rel: str, files: list[_File], dirs: list[tuple[str, Path, str]]):
        self.path, self.rel, self.dirs = path, rel, dirs
        self.videos = [f for f in files if f.ext in VIDEO_EXTENSIONS]
        self.audio = [f for f in files if f.ext in AUDIO_EXTENSIONS]
        self.images = sorted((f for f in files if f.ext in IMAGE_EXTENSIONS),
                             key=lambda f: (IMAGE_EXTENSIONS.index(f.ext), f.name))
        self.others = [f for f in files if f.ext not in VIDEO_EXTENSIONS | AUDIO_EXTENSIONS
                       and f.ext not in IMAGE_EXTENSIONS]
        self.by_stem: dict[str, _File] = {}
        for f in self.images:
            if f.size > 0:
                self.by_stem.setdefault(f.stem.lower(), f)

    def find(self, name: str, prefix: str = "") -> _File | None:
        return self.by_stem.get((prefix + name).lower())

    def subdir(self, name: str) -> tuple[str, Path, str] | None:
        return next((d for d in self.dirs if d[0].lower() == name.lower()), None)


def item_id(path: str) -> str:
    """The stable id of the item at ``path`` (catalog-relative POSIX): 32 lowercase hex digits."""
    return hashlib.md5(path.encode("utf-8", "surrogateescape")).hexdigest()


def clean_name(name: str) -> str:
    """A folder or file name as a media server shows it: ``[tags]``/``{tags}`` and a trailing
    year dropped, dots and underscores between words made spaces when there are no spaces.
    ``"The.Matrix.1999"`` → ``"The Matrix"``; ``"Alien (1979) [imdbid-tt0078748]"`` → ``"Alien"``."""
    text = _TAGS.sub("", name).strip()
    if " " not in text and re.search(r"[._]", text):
        text = re.sub(r"[._]+", " ", text).strip()
    stripped = _YEAR.sub("", text).strip(" -_.")
    return stripped or text or name


def season_number(folder_name: str) -> int | None:
    """Season number of a season folder (``Season 01`` → 1, ``S2`` → 2, ``Specials`` → 0), else None."""
    if _SPECIALS.match(folder_name.strip()):
        return 0
    m = _SEASON_FOLDER.match(folder_name.strip())
    if m:
        return int(m.group(1) or m.group(2))
    return None


def episode_numbers(file_stem: str) -> tuple[int, int] | None:
    """(season, episode) from ``S01E02`` or ``1x02`` in a file name, else None."""
    m = _EPISODE_NUMBER.search(file_stem)
    if not m:
        return None
    if m.group(1) is not None:
        return int(m.group(1)), int(m.group(2))
    return int(m.group(3)), int(m.group(4))


def season_name(number: int) -> str:
    """Jellyfin's name of a season: ``Specials`` for 0, else ``Season N``."""
    return "Specials" if number == 0 else f"Season {number}"


def _stem_of(name: str) -> str:
    """``Path.GetFileNameWithoutExtension``: ``Mr. Robot`` → ``Mr``, as Jellyfin derives prefixes."""
    return os.path.splitext(name)[0]


class _Scanner:
    def __init__(self, library: Path, root: Path):
        self.library, self.root = library, root
        self.items: list[ScannedItem] = []
        self.problems: list[Problem] = []
        self.claimed: set[str] = set()
        self.seen_images: list[_File] = []
        self.listings: dict[str, _Listing | None] = {}
        self.stack: list[tuple[int, int]] = []
        self.visited: dict[tuple[int, int], str] = {}
        self.season_ids: dict[tuple[str, int], str] = {}
        self.readable_cache: dict[str, bool] = {}

    # --- reading folders -------------------------------------------------------------------
    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def problem(self, rel: str, message: str):
        self.problems.append(Problem(rel, message))

    def listing(self, path: Path) -> _Listing | None:
        """The folder's entries, or None (reported) when it cannot be read."""
        rel = self.rel(path)
        if rel in self.listings:
            return self.listings[rel]
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            self.problem(rel, f"cannot read folder: {exc.strerror or exc}")
            self.listings[rel] = None
            return None
        files, dirs = [], []
        for entry in entries:
            name = entry.name
            entry_rel = f"{rel}/{name}" if rel != "." else name
            if name.startswith("."):
                continue
            if "\\" in name:
                self.problem(entry_rel, "a backslash in a name cannot be written in the catalog")
                continue
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
                size = entry.stat().st_size if is_file else 0
            except OSError as exc:
                self.problem(entry_rel, f"cannot read: {exc.strerror or exc}")
                continue
            if is_dir:
                dirs.append((name, Path(entry.path), entry_rel))
            elif is_file:
                stem, ext = os.path.splitext(name)
                f = _File(name, entry_rel, stem, ext.lower(), size)
                if ext.lower() in IMAGE_EXTENSIONS:
                    if size == 0:
                        self.problem(entry_rel, "empty image file")
                    elif not os.access(entry.path, os.R_OK):
                        self.problem(entry_rel, "cannot read file: permission denied")
                        continue
                    else:
                        self.seen_images.append(f)
                files.append(f)
            elif entry.is_symlink():
                self.problem(entry_rel, "broken symbolic link")
            else:
                self.problem(entry_rel, "not a file or folder")
        listing = _Listing(path, rel, files, dirs)
        self.listings[rel] = listing
        return listing

    def enter(self, path: Path, rel: str) -> bool:
        """Guard a descent into ``path``: False (reported) for a symlink loop or a folder
        already scanned through another link."""
        try:
            st = path.stat()
        except OSError as exc:
            self.problem(rel, f"cannot read folder: {exc.strerror or exc}")
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.stack:
            self.problem(rel, "symbolic link loop (points to a folder above it); skipped")
            return False
        if key in self.visited:
            self.problem(rel, f"same folder as {self.visited[key]}; skipped")
            return False
        self.visited[key] = rel
        return True

    def walk(self, path: Path, rel: str, fn, *args):
        """Run ``fn(listing, *args)`` on a folder with loop protection."""
        if not self.enter(path, rel):
            return
        listing = self.listing(path)
        if listing is None:
            return
        st = path.stat()
        self.stack.append((st.st_dev, st.st_ino))
        try:
            fn(listing, *args)
        finally:
            self.stack.pop()

    # --- items -----------------------------------------------------------------------------
    def add(self, path: str, name: str, item_type: str, parent: str | None,
            images: dict[str, list[_File]]) -> ScannedItem:
        item = ScannedItem(item_id(path), name, item_type, parent, path)
        for image_type, files in images.items():
            paths = [p for p in dict.fromkeys(f.path for f in files) if self.readable(p)]  # each once
            self.claimed.update(paths)          # found by a rule, even when a first one wins
            if paths:
                item.images[image_type] = paths if image_type in MULTI_IMAGE_TYPES else paths[:1]
        self.items.append(item)
        return item

    def readable(self, rel: str) -> bool:
        """Whether Pillow can read the image's header (cached); else reported and left out, so
        one bad file fails nothing in the build."""
        if rel not in self.readable_cache:
            from PIL import Image, UnidentifiedImageError
            try:
                with Image.open(self.root / rel) as image:
                    image.size
                ok = True
            except (OSError, UnidentifiedImageError, ValueError) as exc:
                self.claimed.add(rel)
                self.problem(rel, f"not a readable image ({exc.__class__.__name__}: {exc}); left out")
                ok = False
            except Image.DecompressionBombError as exc:
                self.claimed.add(rel)
                self.problem(rel, f"not a readable image ({exc}); left out")
                ok = False
            self.readable_cache[rel] = ok
        return self.readable_cache[rel]

    def local_images(self, listing: _Listing, item_type: str, file_name: str | None, mixed: bool,
                     images: dict[str, list[_File]] | None = None) -> dict[str, list[_File]]:
        """``LocalImageProvider.PopulateImages`` for an item whose files are in ``listing``;
        ``file_name`` is the item's file (or folder) name; ``mixed`` Jellyfin's ``IsInMixedFolder``."""
        images = images if images is not None else {}
        stem = _stem_of(file_name) if file_name else ""
        prefix = stem + "-"

        def add(image_type, f):
            if f is not None:
                images.setdefault(image_type, []).append(f)
                return True
            return False

        def add_both(image_type, name):   # the prefixed name, and the bare one unless mixed
            added = add(image_type, listing.find(name, prefix))
            if not mixed and add(image_type, listing.find(name)):
                added = True
            return added

        # Primary
        if item_type in ("MusicAlbum", "MusicArtist", "PhotoAlbum"):
            names = _PRIMARY_NAMES["music"]
        elif item_type == "Person":
            names = _PRIMARY_NAMES["Person"]
        elif item_type == "Series":
            names = _PRIMARY_NAMES["Series"]
        elif item_type in _VIDEO_TYPES:
            names = _PRIMARY_NAMES["video"]
        else:
            names = _PRIMARY_NAMES["common"]
        if not (stem and add("Primary", listing.find(stem))):
            if not any(add("Primary", listing.find(n, prefix)) for n in names) and not mixed:
                any(add("Primary", listing.find(n)) for n in names)
        if item_type in ("Episode", "Audio", "Person"):
            return images
        if not add_both("Logo", "logo"):
            add_both("Logo", "clearlogo")
        add_both("Art", "clearart")
        if item_type == "MusicAlbum":
            add_both("Disc", "cdart") or add_both("Disc", "disc")
        elif item_type in _VIDEO_TYPES or item_type == "BoxSet":
            add_both("Disc", "disc") or add_both("Disc", "cdart") or add_both("Disc", "discart")
        add_both("Banner", "banner")
        if not add_both("Thumb", "landscape"):
            add_both("Thumb", "thumb")
        # Backdrops
        if stem:
            add("Backdrop", listing.find(stem + "-fanart", prefix))
            if not mixed:
                add("Backdrop", listing.find(stem + "-fanart"))
        for first, subsequent in (("fanart", "fanart-"), ("background", "background-"), ("art", "art-")):
            self._numbered(listing, images, prefix + first, prefix + subsequent)
            if not mixed:
                self._numbered(listing, images, first, subsequent)
        extra = listing.subdir("extrafanart")
        if extra is not None and self.enter(extra[1], extra[2]):
            extra_listing = self.listing(extra[1])
            if extra_listing is not None:
                images.setdefault("Backdrop", []).extend(f for f in sorted(extra_listing.images, key=lambda f: f.name)
                                                         if f.size > 0)
        self._numbered(listing, images, prefix + "backdrop", prefix + "backdrop")
        if not mixed:
            self._numbered(listing, images, "backdrop", "backdrop")
        return images

    @staticmethod
    def _numbered(listing: _Listing, images: dict, first: str, subsequent: str):
        """``PopulateBackdrops``: ``first``, then ``subsequent``1…20, stopping after 3 misses."""
        found = listing.find(first)
        if found:
            images.setdefault("Backdrop", []).append(found)
        unfound = 0
        for i in range(1, 21):
            found = listing.find(f"{subsequent}{i}")
            if found:
                images.setdefault("Backdrop", []).append(found)
            else:
                unfound += 1
                if unfound >= 3:
                    break

    # --- sections --------------------------------------------------------------------------
    def scan(self):
        library_rel = self.rel(self.library)
        kind = SECTION_KINDS.get(_section_key(self.library.name))
        if kind is not None:
            self.walk(self.library, library_rel, self.section, kind)
        else:
            self.walk(self.library, library_rel, self.sections)

    def sections(self, listing: _Listing):
        for f in listing.videos + listing.audio + listing.images:
            self.problem(f.path, "a file at the top of the library; put it in a section folder "
                                 "(Movies/, Shows/, Music/)")
        for name, path, rel in listing.dirs:
            if name.lower() in SKIPPED_FOLDERS:
                continue
            kind = SECTION_KINDS.get(_section_key(name)) or self.guess_kind(path, rel)
            if kind is None:
                self.problem(rel, "cannot tell what this folder holds (no video or audio found); "
                                  "name it Movies, Shows or Music")
                continue
            self.walk(path, rel, self.section, kind)

    def guess_kind(self, path: Path, rel: str, depth: int = 0) -> str | None:
        """tvshows when a season folder or an S01E02 name appears, music for audio, movies for
        video (looking 3 levels deep)."""
        listing = self.listing(path) if depth == 0 or rel not in self.listings else self.listings[rel]
        if listing is None or depth > 3:
            return None
        if any(season_number(d[0]) is not None for d in listing.dirs) or \
                any(episode_numbers(v.stem) for v in listing.videos):
            return "tvshows"
        if listing.audio:
            return "music"
        found = "movies" if listing.videos else None
        for name, sub, sub_rel in listing.dirs:
            if name.lower() in SKIPPED_FOLDERS:
                continue
            try:
                if sub.is_symlink():
                    continue
            except OSError:
                continue
            kind = self.guess_kind(sub, sub_rel, depth + 1) if depth < 3 else None
            if kind in ("tvshows", "music"):
                return kind
            found = found or kind
        return found

    def section(self, listing: _Listing, kind: str):
        folder = self.add(listing.rel, listing.path.name, "CollectionFolder", None,
                          self.local_images(listing, "CollectionFolder", None, False))
        if kind == "movies":
            self.movie_folder(listing, folder.id, top=True)
        elif kind == "tvshows":
            for f in listing.videos:
                self.problem(f.path, "an episode outside a series folder (Shows/Series/…)")
            for name, path, rel in listing.dirs:
                if name.lower() not in SKIPPED_FOLDERS:
                    self.walk(path, rel, self.series, folder.id)
        else:
            self.music_folder(listing, folder.id, top=True)
        self.report_others(listing)

    def report_others(self, listing: _Listing, allow_videos: bool = True, allow_audio: bool = True):
        for f in listing.others:
            if f.ext not in SIDE_EXTENSIONS:
                self.problem(f.path, "not a video, audio, image or known side file; ignored")
        if not allow_videos:
            for f in listing.videos:
                self.problem(f.path, "a video where none is expected; ignored")
        if not allow_audio:
            for f in listing.audio:
                self.problem(f.path, "an audio file where none is expected; ignored")

    # movies
    def movie_folder(self, listing: _Listing, parent: str, top: bool = False):
        is_disc = listing.subdir("VIDEO_TS") is not None or listing.subdir("BDMV") is not None
        if not top and (is_disc or len(listing.videos) == 1):
            video = None if is_disc else listing.videos[0]
            item_type = "Movie"
            self.add(video.path if video else listing.rel, clean_name(listing.path.name), item_type, parent,
                     self.local_images(listing, item_type, video.name if video else listing.path.name, False))
            self.report_others(listing, allow_audio=False)
            for name, _, rel in listing.dirs:
                if name.lower() not in SKIPPED_FOLDERS and name.upper() not in ("VIDEO_TS", "BDMV"):
                    self.problem(rel, "a folder inside a movie folder (extras go in extras/, trailers/…); skipped")
            return
        if not top:
            folder = self.add(listing.rel, clean_name(listing.path.name), "Folder", parent,
                              self.local_images(listing, "Folder", listing.path.name, False))
            parent = folder.id
            self.report_others(listing, allow_audio=False)
        for video in listing.videos:        # several movies in one folder: a mixed folder
            self.add(video.path, clean_name(video.stem), "Movie", parent,
                     self.local_images(listing, "Movie", video.name, True))
        for name, path, rel in listing.dirs:
            if name.lower() in SKIPPED_FOLDERS or name.upper() in ("VIDEO_TS", "BDMV"):
                continue
            self.walk(path, rel, self.movie_folder, parent)

    # shows
    def series(self, listing: _Listing, parent: str):
        series = self.add(listing.rel, clean_name(listing.path.name), "Series", parent,
                          self.local_images(listing, "Series", listing.path.name, False))
        self.report_others(listing)
        folders = []
        for name, path, rel in listing.dirs:
            number = season_number(name)
            if number is None:
                if name.lower() not in SKIPPED_FOLDERS:
                    self.problem(rel, "not a season folder (Season 01, Specials…); skipped")
                continue
            folders.append((number, name, path, rel))
        by_number: dict[int, list] = {}
        loose = []
        for video in listing.videos:
            numbers = episode_numbers(video.stem)
            if numbers is None:
                loose.append(video)
            else:
                by_number.setdefault(numbers[0], []).append(video)
        for number, name, path, rel in folders:
            self.walk(path, rel, self.season, series, listing, number)
        for number in sorted(by_number):
            season_id = self.season_ids.get((series.id, number))
            if season_id is None:       # no season folder: a virtual season named after the number
                season_id = self.add(f"{listing.rel}#season{number}", season_name(number), "Season", series.id,
                                     self.series_season_images(listing, number)).id
            for video in by_number[number]:
                self.episode(listing, video, season_id)
        for video in loose:
            self.episode(listing, video, series.id)

    def series_season_images(self, series_listing: _Listing, number: int,
                             images: dict | None = None) -> dict[str, list[_File]]:
        """``PopulateSeasonImagesFromSeriesFolder``: ``season01-poster`` … in the series folder."""
        images = images if images is not None else {}
        prefix = season_name(number).replace(" ", "").lower()
        marker = "-specials" if number == 0 else f"{number:02d}"
        prefixes = [prefix] + ([f"season{marker}"] if prefix != marker else [])
        for p in prefixes:
            for suffix, image_type in (("-poster", "Primary"), ("-fanart", "Backdrop"),
                                       ("-banner", "Banner"), ("-landscape", "Thumb")):
                f = series_listing.find(p + suffix)
                if f is not None:
                    images.setdefault(image_type, []).append(f)
        return images

    def season(self, listing: _Listing, series: ScannedItem, series_listing: _Listing, number: int):
        images = self.series_season_images(series_listing, number)
        self.local_images(listing, "Season", listing.path.name, False, images)
        season = self.add(listing.rel, season_name(number), "Season", series.id, images)
        self.season_ids.setdefault((series.id, number), season.id)
        self.report_others(listing)
        for video in listing.videos:
            self.episode(listing, video, season.id)
        for name, _, rel in listing.dirs:
            if name.lower() not in SKIPPED_FOLDERS:
                self.problem(rel, "a folder inside a season folder; skipped")

    def episode(self, listing: _Listing, video: _File, parent: str):
        """``EpisodeLocalImageProvider``: ``<file name>`` or ``<file name>-thumb`` → Primary,
        next to the video, else in ``metadata/``."""
        found = [f for f in (listing.find(video.stem), listing.find(video.stem + "-thumb")) if f]
        if not found:
            meta = listing.subdir("metadata")
            if meta is not None:
                meta_listing = self.listing(meta[1])
                if meta_listing is not None:
                    found = [f for f in (meta_listing.find(video.stem), meta_listing.find(video.stem + "-thumb")) if f]
        self.add(video.path, video.stem, "Episode", parent, {"Primary": found})

    # music
    def music_folder(self, listing: _Listing, parent: str, top: bool = False):
        disc_dirs = [d for d in listing.dirs if _DISC_FOLDER.match(d[0])]
        if not top and (listing.audio or disc_dirs):
            self.album(listing, parent, disc_dirs)
            return
        if not top:
            artist = self.add(listing.rel, listing.path.name, "MusicArtist", parent,
                              self.local_images(listing, "MusicArtist", listing.path.name, False))
            parent = artist.id
            self.report_others(listing, allow_videos=False, allow_audio=False)
        else:
            for f in listing.audio:
                self.problem(f.path, "a song outside an album folder (Music/Artist/Album/…)")
        for name, path, rel in listing.dirs:
            if name.lower() not in SKIPPED_FOLDERS:
                self.walk(path, rel, self.music_folder, parent)

    def album(self, listing: _Listing, parent: str, disc_dirs: list):
        album = self.add(listing.rel, listing.path.name, "MusicAlbum", parent,
                         self.local_images(listing, "MusicAlbum", listing.path.name, False))
        self.report_others(listing, allow_videos=False)
        tracks = list(listing.audio)
        for _, path, rel in disc_dirs:
            if self.enter(path, rel):
                disc = self.listing(path)
                if disc is not None:
                    tracks += disc.audio
                    self.report_others(disc, allow_videos=False)
        for f in tracks:
            self.add(f.path, f.stem, "Audio", album.id, {})
        for name, _, rel in listing.dirs:
            if not _DISC_FOLDER.match(name) and name.lower() not in SKIPPED_FOLDERS:
                self.problem(rel, "a folder inside an album that is not a disc (CD1, Disc 2); skipped")

    def finish(self) -> Scan:
        used_stems = {f.path.rsplit("/", 1)[0] + "/" + f.stem.lower() for f in self.seen_images
                      if f.path in self.claimed}
        for f in self.seen_images:
            if f.path in self.claimed or f.size == 0:
                continue
            if f.path.rsplit("/", 1)[0] + "/" + f.stem.lower() in used_stems:
                self.problem(f.path, "another file of this name is used (extension order png, jpg, "
                                     "jpeg, webp, tbn, gif, …); ignored")
            else:
                self.problem(f.path, "an image no naming rule places (poster, fanart, logo, "
                                     "season01-poster, <video>-thumb …); ignored")
        return Scan(self.items, self.problems)


def _section_key(name: str) -> str:
    return re.sub(r"[\s_.-]+", "", name.lower())


def scan_library(library: str | Path, catalog_dir: str | Path) -> Scan:
    """Walk ``library`` (inside ``catalog_dir``) and return its items and problems.

    Raises ``ValueError`` when ``library`` is not a folder or lies outside ``catalog_dir``
    (catalog paths may not leave the catalog's folder)."""
    root = Path(catalog_dir).resolve()
    library = Path(os.path.abspath(library))
    if not library.is_dir():
        raise ValueError(f"library {library}: not a folder")
    resolved = library.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"library {library} is outside the catalog's folder {root}: catalog paths "
                         f"may not leave it; write the catalog inside or above the library, "
                         f"e.g. catalog={library / 'catalog.yaml'}")
    scanner = _Scanner(resolved, root)
    scanner.scan()
    return scanner.finish()


# --- writing the catalog ----------------------------------------------------------------------

@dataclass
class Changes:
    """What a scan changed in the catalog: ``added``/``changed``/``removed`` items as
    ``(id, type, name, path)``, ``dropped`` hand entries that named a removed item, ``warnings``
    about hand edits that now name a removed item, ``problems`` from the scan, and ``written``
    (False when the catalog already said exactly this)."""

    added: list[tuple] = field(default_factory=list)
    changed: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    items: int = 0

    def summary(self) -> str:
        return (f"scan: {self.items} items ({len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.removed)} removed), {len(self.problems)} problem(s)")

    def lines(self) -> list[str]:
        out = [f"  + {t} {n!r} ({p})" for _, t, n, p in self.added]
        out += [f"  ~ {t} {n!r} ({p})" for _, t, n, p in self.changed]
        out += [f"  - {t} {n!r} ({p})" for _, t, n, p in self.removed]
        out += [f"  dropped: {d}" for d in self.dropped]
        out += [f"  warning: {w}" for w in self.warnings]
        out += [f"  problem: {p}" for p in self.problems]
        return out


HEADER = ("# Catalog written by `doit scan library=…` (README \"Start from your media folder\").\n"
          "# A re-scan updates the items that have a `path` under the library and keeps everything\n"
          "# else: settings, users, user_data, items without `path`, names, images that point\n"
          "# outside the library, and comments.\n")


def _yaml():
    from ruamel.yaml import YAML
    yaml = YAML()                      # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096                  # never fold long paths
    yaml.brace_single_entry_mapping_in_flow_sequence = True   # [{maxWidth: …}] stays as written
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _inside(path, library_rel: str) -> bool:
    return isinstance(path, str) and (library_rel == "." or path == library_rel
                                      or path.startswith(library_rel + "/") or path.startswith(library_rel + "#"))


def _plain(value):
    """ruamel containers → plain lists/dicts/str for comparisons."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


def _merge(data: dict, items: list, scan: Scan, library_rel: str) -> Changes:
    """Apply ``scan`` to the loaded catalog ``data`` (its ``items`` list) in place; the changes.
    Works on ruamel's round-trip containers and on plain dicts and lists alike."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    changes = Changes(problems=list(scan.problems), items=len(scan.items))
    scanned = {i.id: i for i in scan.items}
    existing = {}
    for entry in items:
        if isinstance(entry, dict) and "id" in entry:
            existing[str(entry["id"])] = entry
    owned = {i for i, e in existing.items() if _inside(e.get("path"), library_rel)}

    def flow(paths):
        return CommentedSeq(paths)

    def images_map(item: ScannedItem, current=None):
        out = CommentedMap()
        current = current if isinstance(current, dict) else {}
        new = item.catalog_images()
        for image_type in IMAGE_TYPES:
            value = current.get(image_type)
            hand = value is not None and any(not _inside(p, library_rel)
                                             for p in (value if isinstance(value, list) else [value]))
            if hand:
                out[image_type] = value
            elif image_type in new:
                v = new[image_type]
                out[image_type] = flow(v) if isinstance(v, list) else v
        for key, value in current.items():      # unknown keys: the user's, the loader will say
            if key not in IMAGE_TYPES:
                out[key] = value
        return out

    for item in scan.items:
        entry = existing.get(item.id)
        if entry is None:
            entry = CommentedMap()
            entry["id"] = item.id
            entry["name"] = item.name
            entry["type"] = item.type
            if item.parent:
                entry["parent"] = item.parent
            entry["path"] = item.path
            images = images_map(item)
            if images:
                entry["images"] = images
            items.append(entry)
            changes.added.append((item.id, item.type, item.name, item.path))
            continue
        before = _plain(entry)
        entry["type"] = item.type
        if item.parent:
            entry["parent"] = item.parent
        elif "parent" in entry:
            del entry["parent"]
        entry["path"] = item.path
        images = images_map(item, entry.get("images"))
        if _plain(images) != _plain(entry.get("images") or {}):
            if images:
                entry["images"] = images
            else:
                del entry["images"]
        if _plain(entry) != before:
            changes.changed.append((item.id, item.type, str(entry.get("name", item.name)), item.path))

    removed = owned - set(scanned)
    if removed:
        for i in range(len(items) - 1, -1, -1):
            entry = items[i]
            if isinstance(entry, dict) and str(entry.get("id")) in removed:
                changes.removed.append((str(entry["id"]), str(entry.get("type")), str(entry.get("name")),
                                        str(entry.get("path"))))
                del items[i]
        changes.removed.reverse()
        user_data = data.get("user_data")
        if isinstance(user_data, list):
            for i in range(len(user_data) - 1, -1, -1):
                entry = user_data[i]
                if isinstance(entry, dict) and str(entry.get("item")) in removed:
                    changes.dropped.append(f"user_data[{i}] (user {entry.get('user')}, item {entry.get('item')})")
                    del user_data[i]
        for entry in items:
            if isinstance(entry, dict) and str(entry.get("parent")) in removed:
                changes.warnings.append(f"item {entry.get('id')} has removed parent {entry.get('parent')}")
        for i, entry in enumerate(data.get("podcast_images") or []):
            bucket = entry.get("bucket") if isinstance(entry, dict) else None
            if isinstance(bucket, dict) and str(bucket.get("id")) in removed:
                changes.warnings.append(f"podcast_images[{i}] is in removed item {bucket.get('id')}")

    return changes


def merge_catalog(catalog: str | Path, scan: Scan, library: str | Path) -> Changes:
    """Merge ``scan`` into ``catalog`` (created when missing) and write it atomically when it
    changed. Items whose ``path`` lies under ``library`` are the scan's: added, updated (type,
    parent, path, and each ImageType unless the user pointed it outside the library) or
    removed; their ``name`` is kept once written. Everything else is kept as written, comments
    included (ruamel.yaml round-trip). ``user_data`` of removed items is dropped (reported);
    other hand entries naming a removed item are reported as warnings.

    Raises ``ValueError`` naming the catalog when it is not a YAML mapping."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    catalog = Path(catalog).resolve()
    root = catalog.parent
    library_rel = Path(os.path.abspath(library)).resolve().relative_to(root).as_posix()
    text = catalog.read_text(encoding="utf-8") if catalog.is_file() else ""
    if text.strip():       # most re-scans change nothing: decide that on libyaml's fast parse
        import yaml as pyyaml
        try:
            plain = pyyaml.load(text, Loader=getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader))
        except pyyaml.YAMLError:
            plain = None
        if isinstance(plain, dict) and isinstance(plain.get("items"), list):
            quick = _merge(plain, plain["items"], scan, library_rel)
            if not (quick.added or quick.changed or quick.removed or quick.dropped):
                return quick
    yaml = _yaml()
    try:
        data = yaml.load(text) if text.strip() else None
    except YAMLError as exc:
        raise ValueError(f"{catalog}: YAML syntax error, fix it before scanning: {exc}") from None
    if data is None:
        data = CommentedMap()
        if not text.strip():
            text = ""
    if not isinstance(data, dict):
        raise ValueError(f"{catalog}: the catalog must be a mapping with items, users and settings")
    items = data.get("items")
    if items is None:
        items = CommentedSeq()
        data["items"] = items
    if not isinstance(items, list):
        raise ValueError(f"{catalog}: items must be a list")

    changes = _merge(data, items, scan, library_rel)
    out = io.StringIO()
    yaml.dump(data, out)
    new_text = out.getvalue()
    if not text:
        new_text = HEADER + new_text
    if new_text != text:
        atomic_write_bytes(catalog, new_text.encode("utf-8"))
        changes.written = True
    return changes


def scan_to_catalog(library: str | Path, catalog: str | Path) -> Changes:
    """``scan_library`` then ``merge_catalog``: the whole of ``doit scan``."""
    catalog = Path(catalog).resolve()
    result = scan_library(library, catalog.parent)
    return merge_catalog(catalog, result, library)

"""The output tree: the one place that turns derivatives, objects and URLs into paths.

Everything that writes or reads ``output/`` (render, objects, serve.py, prune, hosting configs)
asks this module for paths; nothing else invents one. All paths are POSIX, relative to the
output folder.

```
manifest.json                                  index of every image and derivative (the build's record)
index.sqlite                                   the same facts keyed for serve.py's look-ups (outputs.sqlindex)
index.html                                     the build report (doit report)
images/{tag}/original.{ext}                    the source file, byte for byte
images/{tag}/render.json                       the render task's record: BlurHash or error
images/{tag}/{w}x{h}-q{quality}.{ext}          a rendered derivative (lossy format)
images/{tag}/{w}x{h}.{ext}                     a rendered derivative (lossless format)
images/{tag}/{w}x{h}[-q{quality}]-{decoration}.{ext}   a decorated one (overlays.Decoration.key)
Items/{id}/index.json                          BaseItemDto          (GET /Items/{id})
Items/{id}/Images/index.json                   ImageInfo[]          (GET /Items/{id}/Images)
Items/{id}/Images/{Type}/{index}/{tag}/{Format}/{maxWidth}/{maxHeight}/0/0
                                               legacy path form, a hard link to a derivative
Users/{id}/index.json                          UserDto              (GET /Users/{id})
{Artists|Genres|MusicGenres|Persons|Studios}/{safe name}/index.json
                                               a named item's BaseItemDto (GET /Artists/{name} …)
Users/{uid}/Items/{id}/index.json              BaseItemDto + UserData (GET /Users/{uid}/Items/{id})
images/{tag}/{style}.{ext}                     an ART19 media asset (podcast image style)
art19/images/{id}.json                         JSON:API image document (GET /images/{id})
art19/media_assets/{id}.json                   JSON:API media asset document
art19/feeds/Series/{id}.xml                    <podcast:image>/<itunes:image> lines for a feed
.cache/                                        build caches (probe results, doit state)
```
"""

from pathlib import Path, PurePosixPath

from pipeline.model.formats import FORMATS
from pipeline.model.ids import safe_name

MANIFEST = "manifest.json"
INDEX = "index.sqlite"     # serve.py's read model (pipeline.outputs.sqlindex), written before the manifest
REPORT = "index.html"      # the build report (pipeline.outputs.report)
IMAGES_DIR = "images"
CACHE_DIR = ".cache"
OBJECT_FILE = "index.json"


def derivative_file(tag: str, width: int, height: int, format: str, quality: int | None,
                    decoration: str = "") -> str:
    """Path of a rendered derivative: ``images/{tag}/{w}x{h}[-q{quality}][-{decoration}].{ext}``
    (``decoration`` is ``Decoration.key()``, e.g. ``pp45`` or ``bl10-fg0.4``)."""
    suffix = f"-q{quality}" if quality is not None else ""
    if decoration:
        suffix += f"-{decoration}"
    return f"{IMAGES_DIR}/{tag}/{width}x{height}{suffix}.{FORMATS[format].extension}"


def render_record_file(tag: str) -> str:
    """``images/{tag}/render.json``: what the render task found (BlurHash, or a decode error)."""
    return f"{IMAGES_DIR}/{tag}/render.json"


def original_file(tag: str, format: str) -> str:
    """Path of the byte-for-byte copy of a source: ``images/{tag}/original.{ext}``."""
    return f"{IMAGES_DIR}/{tag}/original.{FORMATS[format].extension}"


def object_file(kind: str, owner_id: str) -> str:
    """``Items/{id}/index.json`` or ``Users/{id}/index.json``: the item or user object."""
    return f"{kind}/{owner_id}/{OBJECT_FILE}"


def named_object_file(collection: str, name: str) -> str:
    """``{Collection}/{safe name}/index.json``: a named item's object (``GET /Artists/{name}``
    …) at a path safe for any name (``ids.safe_name``: case-folded, percent-escaped)."""
    return f"{collection}/{safe_name(name)}/{OBJECT_FILE}"


def user_item_file(user_id: str, item_id: str) -> str:
    """``Users/{uid}/Items/{id}/index.json``: an item as one user sees it (with ``UserData``)."""
    return f"Users/{user_id}/Items/{item_id}/{OBJECT_FILE}"


def image_infos_file(owner_id: str) -> str:
    """``Items/{id}/Images/index.json``: the ``ImageInfo`` list of an item."""
    return f"Items/{owner_id}/Images/{OBJECT_FILE}"


def legacy_file(item_id: str, image_type: str, index: int, tag: str, format: str,
                max_width: int | None, max_height: int | None,
                percent_played: int = 0, unplayed_count: int = 0) -> str:
    """The legacy path form (api-reference §1) for a max-size derivative; absent values are 0:
    ``Items/{id}/Images/{Type}/{index}/{tag}/{Format}/{maxWidth}/{maxHeight}/{pp}/{uc}``."""
    return (f"Items/{item_id}/Images/{image_type}/{index}/{tag}/{format}/"
            f"{max_width or 0}/{max_height or 0}/{percent_played}/{unplayed_count}")


ART19_DIR = "art19"


def art19_file(collection: str, resource_id: str) -> str:
    """``art19/{images|media_assets}/{id}.json``: a JSON:API single-resource document."""
    return f"{ART19_DIR}/{collection}/{resource_id}.json"


def feed_file(bucket_type: str, bucket_id: str) -> str:
    """``art19/feeds/{bucket_type}/{bucket_id}.xml``: the feed artwork lines of a bucket."""
    return f"{ART19_DIR}/feeds/{bucket_type}/{bucket_id}.xml"


def legacy_owner_and_tag(relpath: str) -> tuple[str, str] | None:
    """(item id, tag) when ``relpath`` has the shape of ``legacy_file``, else None."""
    parts = relpath.split("/")
    if len(parts) == 11 and parts[0] == "Items" and parts[2] == "Images":
        return parts[1], parts[5]
    return None


def tag_folder(tag: str) -> str:
    """``images/{tag}``: the folder of one source's files (derivatives, original, record)."""
    return f"{IMAGES_DIR}/{tag}"


def store_file(tag: str, name: str) -> str:
    """``images/{tag}/{name}``: a file of the content store (a derivative or a media asset)."""
    return f"{IMAGES_DIR}/{tag}/{name}"


def probe_cache_file(output: Path) -> Path:
    """The probe cache inside ``output``."""
    return output / CACHE_DIR / "probe.json"


def resolve_inside(output: Path, relpath: str) -> Path | None:
    """``output / relpath`` if it stays inside ``output`` (no ``..``, no absolute, no NUL or
    backslash), else None. ``output`` must be absolute and resolved."""
    if not relpath or "\0" in relpath or "\\" in relpath:
        return None
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in pure.parts):
        return None
    path = (output / pure).resolve()
    return path if path.is_relative_to(output) else None

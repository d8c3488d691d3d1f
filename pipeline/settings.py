"""What the build precomputes: sizes per ``ImageType``, formats, qualities; with defaults.

Settings are data: each key below has a default and a reason. A catalog's ``settings:`` block
overrides them; unknown keys are errors (a misspelt option must not be silently ignored).

```yaml
settings:
  quality: 90                      # quality (0–100) of a request that names none (seeds: 90)
  background_color: "#000000"      # under transparent pixels in Jpg/Bmp (Jellyfin's result: black)
  formats: [Original, Jpg, Webp]   # precomputed formats; Original = the source's own format
  qualities: [90]                  # precomputed qualities for lossy formats (Jpg, Webp)
  sizes: [{maxWidth: [160, 320, 640, 1280]}]   # ladder for types without their own entry
  types:                           # per ImageType overrides of formats / qualities / sizes
    Backdrop: {qualities: [80, 90], sizes: [{maxWidth: [480, 960, 1280, 1920, 2560, 3840]}]}
```

A size entry is a mapping of the API's size parameters (``width``, ``height``, ``maxWidth``,
``maxHeight``, ``fillWidth``, ``fillHeight``) to pixels. A list value makes a ladder; several
lists in one entry are zipped (``{fillWidth: [228, 456], fillHeight: [342, 684]}`` is two boxes)
and must have equal lengths.

Why the defaults (api-reference §3, what real clients request):

- Primary: jellyfin-web cards ask ``fillWidth=228&fillHeight=342&quality=96`` (×2 on HiDPI),
  login avatars ``width=300&quality=90``; a width ladder covers list views and other devices.
- Backdrop: ``maxWidth`` = screen width × DPR at ``quality=80``: a ladder of common screens.
- Chapter: ``maxWidth=800&quality=90`` (and 400 for small screens).
- Logo: ``maxHeight=220`` on detail pages, ``height=40`` on cards (×2, ×3 for HiDPI).
- Thumb: landscape cards (``fillWidth≈400``), so a width ladder up to 1280.
- Everything else: a general width ladder. Any other request gets the best precomputed fit.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from PIL import ImageColor

from . import RENDERER_VERSION
from .formats import FORMATS, ORIGINAL, parse_format
from .imagetypes import IMAGE_TYPES
from .sizing import SIZE_PARAMETERS, SizeRequest

DEFAULTS: dict[str, Any] = {
    "quality": 90,
    "background_color": "#000000",
    "formats": ["Original", "Jpg", "Webp"],
    "qualities": [90],
    "sizes": [{"maxWidth": [160, 320, 640, 1280]}],
    "types": {
        "Primary": {
            "qualities": [90, 96],
            "sizes": [
                {"fillWidth": [228, 456], "fillHeight": [342, 684]},
                {"width": 300},
                {"maxWidth": [160, 320, 640, 1280]},
            ],
        },
        "Backdrop": {
            "qualities": [80, 90],
            "sizes": [{"maxWidth": [480, 960, 1280, 1920, 2560, 3840]}],
        },
        "Chapter": {"sizes": [{"maxWidth": [400, 800]}]},
        "Logo": {"sizes": [{"height": [40, 80, 120]}, {"maxHeight": [220, 440]}]},
        "Thumb": {"sizes": [{"maxWidth": [320, 640, 1280]}]},
    },
}

_PROFILE_KEYS = ("formats", "qualities", "sizes")
_TOP_KEYS = ("quality", "background_color") + _PROFILE_KEYS + ("types",)


@dataclass(frozen=True)
class Profile:
    """What to precompute for one ``ImageType``.

    ``formats``: API names, may include ``Original``; ``qualities``: 0–100 for lossy formats;
    ``sizes``: the size requests to precompute; ``background_color``: RGB 0–255 tuple;
    ``quality``: the default quality of a request that names none.
    """

    formats: tuple[str, ...]
    qualities: tuple[int, ...]
    sizes: tuple[SizeRequest, ...]
    quality: int
    background_color: tuple[int, int, int]

    def fingerprint(self) -> str:
        """Stable text of everything in the profile (and renderer) that changes output bytes."""
        data = {
            "renderer": RENDERER_VERSION,
            "formats": self.formats,
            "qualities": self.qualities,
            "sizes": [s.describe() for s in self.sizes],
            "quality": self.quality,
            "background_color": self.background_color,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Settings:
    """Validated settings: one ``Profile`` per ``ImageType``."""

    profiles: dict[str, Profile]

    def profile(self, image_type: str) -> Profile:
        """The ``Profile`` for ``image_type`` (every ImageType has one)."""
        return self.profiles[image_type]

    def fingerprint(self) -> str:
        """MD5 hex of every profile: doit's ``config_changed`` value for the settings."""
        text = "".join(self.profiles[t].fingerprint() for t in IMAGE_TYPES)
        return hashlib.md5(text.encode()).hexdigest()


class SettingsError(ValueError):
    """A bad settings value; ``path`` is the key path below ``settings`` (for line lookup)."""

    def __init__(self, path: tuple, message: str):
        self.path = path
        super().__init__(message)


def _int_in(value, path, low, high, what) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(path, f"{what} must be an integer in {low}–{high}, got {value!r}")
    return value


def _formats(value, path) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SettingsError(path, "formats must be a non-empty list, e.g. [Original, Jpg, Webp]")
    out = []
    for i, text in enumerate(value):
        name = parse_format(str(text))
        if name is None:
            known = ", ".join([ORIGINAL, *FORMATS])
            raise SettingsError(path + (i,), f"unknown format {text!r} (known: {known})")
        if name not in out:
            out.append(name)
    return tuple(out)


def _qualities(value, path) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise SettingsError(path, "qualities must be a non-empty list of integers 0–100")
    return tuple(sorted({_int_in(q, path + (i,), 0, 100, "quality") for i, q in enumerate(value)}))


def _sizes(value, path) -> tuple[SizeRequest, ...]:
    if not isinstance(value, list):
        raise SettingsError(path, "sizes must be a list of mappings such as {maxWidth: [320, 640]}")
    out: list[SizeRequest] = []
    for i, entry in enumerate(value):
        where = path + (i,)
        if not isinstance(entry, dict) or not entry:
            raise SettingsError(where, "a size entry must be a mapping such as {maxWidth: 640}")
        lengths = set()
        for key, v in entry.items():
            if key not in SIZE_PARAMETERS:
                raise SettingsError(where + (key,), f"unknown size parameter {key!r} "
                                    f"(known: {', '.join(SIZE_PARAMETERS)})")
            if isinstance(v, list):
                if not v:
                    raise SettingsError(where + (key,), "an empty list")
                lengths.add(len(v))
        if len(lengths) > 1:
            raise SettingsError(where, f"lists in one size entry are zipped and need equal lengths, "
                                f"got {sorted(lengths)}")
        count = lengths.pop() if lengths else 1
        for n in range(count):
            params = {}
            for key, v in entry.items():
                item = v[n] if isinstance(v, list) else v
                params[key] = _int_in(item, where + (key,), 1, 100_000, key)
            request = SizeRequest(**params)
            if request not in out:
                out.append(request)
    return tuple(out)


def parse_settings(raw: Any) -> Settings:
    """Validate a catalog's ``settings`` mapping (or None) over ``DEFAULTS``.

    Returns ``Settings``; raises ``SettingsError`` (with the key path) on the first bad value.
    A per-type entry overrides only the keys it names.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError((), "settings must be a mapping")
    for key in raw:
        if key not in _TOP_KEYS:
            raise SettingsError((key,), f"unknown settings key {key!r} (known: {', '.join(_TOP_KEYS)})")
    merged = {k: raw.get(k, DEFAULTS[k]) for k in _TOP_KEYS if k != "types"}
    quality = _int_in(merged["quality"], ("quality",), 0, 100, "quality")
    try:
        background = ImageColor.getrgb(str(merged["background_color"]))[:3]
    except ValueError:
        raise SettingsError(("background_color",),
                            f"not a colour: {merged['background_color']!r} (e.g. '#000000', 'black')")

    types_raw = raw.get("types", DEFAULTS["types"] if not any(k in raw for k in _PROFILE_KEYS) else {})
    if not isinstance(types_raw, dict):
        raise SettingsError(("types",), "types must be a mapping of ImageType to overrides")
    profiles = {}
    for image_type in IMAGE_TYPES:
        override = types_raw.get(image_type) or {}
        where = ("types", image_type)
        if not isinstance(override, dict):
            raise SettingsError(where, "must be a mapping with formats, qualities and/or sizes")
        for key in override:
            if key not in _PROFILE_KEYS:
                raise SettingsError(where + (key,), f"unknown key {key!r} (known: {', '.join(_PROFILE_KEYS)})")
        def pick(key):
            return (override[key], where + (key,)) if key in override else (merged[key], (key,))
        profiles[image_type] = Profile(
            formats=_formats(*pick("formats")),
            qualities=_qualities(*pick("qualities")),
            sizes=_sizes(*pick("sizes")),
            quality=quality,
            background_color=background,
        )
    for name in types_raw:
        if name not in IMAGE_TYPES:
            raise SettingsError(("types", name), f"unknown ImageType {name!r} (known: {', '.join(IMAGE_TYPES)})")
    return Settings(profiles)

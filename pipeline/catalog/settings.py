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
  negotiate_format: false          # serve AVIF/WebP by Accept when a request names no format
  legacy_links: false              # write legacy-path links (only for a static host: see below)
  variants:                        # extra derivatives: other formats at some sizes, decorations
    - {formats: [Png, Gif, Bmp, Avif], sizes: [{maxWidth: 320}]}
  podcast: {format: Jpg, quality: 90, background_color: "#ffffff", base_url: ""}   # ART19 styles
  types:                           # per ImageType overrides of formats/qualities/sizes/variants
    Backdrop: {qualities: [80, 90], sizes: [{maxWidth: [480, 960, 1280, 1920, 2560, 3840]}]}
```

A variant takes ``formats``, ``qualities`` and ``sizes`` (each defaults to the type's own) and
any of the decoration parameters ``percentPlayed`` (list or ``{from, to, step}``),
``unplayedCount`` (list or range), ``addPlayedIndicator`` (true), ``blur`` (list, pixels),
``backgroundColor`` (list of colours), ``foregroundLayer`` (list of opacities 0–1); it yields one
derivative per combination of its decoration values, format, quality and size.

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
- Every type: Png, Gif, Bmp and Avif at ``maxWidth=320``, so every format exists somewhere.
- Decorations: Primary card boxes with ``percentPlayed`` in steps of 5, ``unplayedCount`` 1–20
  and the played mark (jellyfin-web's cards), and a blurred, darkened Primary and Backdrop
  (backgrounds of detail pages); Logo on white and near-black for Jpg.

``legacy_links: true`` writes one hard link per precomputed legacy-path answer
(``Items/{id}/Images/{Type}/{index}/{tag}/{Format}/{maxWidth}/{maxHeight}/0/0``, about 37 files
and folders per item). serve.py and the generated nginx config answer the legacy path form by
computation, so only a pure static host (a bucket website or CDN with no serve.py or nginx in
front) needs them; off by default because they multiply the output tree (issue 12 item 8).

A catalog that sets ``formats``, ``qualities``, ``sizes`` or ``variants`` at the top level and
no ``types`` gets those values for every ImageType, and no default variants. Otherwise the
default per-type entries stay, and a catalog's entry under ``types`` overrides only the keys
it names.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pipeline import RENDERER_VERSION
from pipeline.errors import did_you_mean
from pipeline.model.colors import parse_color
from pipeline.model.formats import FORMATS, ORIGINAL, parse_format
from pipeline.model.decoration import DECORATION_PARAMETERS, Decoration
from pipeline.model.imagetypes import IMAGE_TYPES
from pipeline.model.sizing import SIZE_PARAMETERS, SizeRequest

#: One size every format is precomputed at, so each format can be tried on every image.
_EVERY_FORMAT = {"formats": ["Png", "Gif", "Bmp", "Avif"], "sizes": [{"maxWidth": 320}]}

#: The full-size image (``maxWidth`` beyond any source: never upscaled), so a request with no
#: size gets the whole image in every precomputed format, as Jellyfin answers (jellyfin-vue
#: asks ``?quality=90&format=Webp``; Kodi, Findroid and Swiftfin's logos no size at all).
FULL_SIZE = {"maxWidth": 100_000}

#: The client-driven ladder (issue 9): widths 80 px to 3067 px (80 × 1.2^20), each 1.2× the one before, so
#: every size the nine clients of tests/clients.py ask at their defaults (desktop 1920×1080 at
#: DPR 1 and 2, phone at density 3, 1080p TV) is answered by a file at most 1.2× (plus a pixel
#: of rounding) as wide and high as Jellyfin's answer and never smaller (bench/clients.py).
#: The sizes each client asks, by ImageType (tests/clients.py has the source file of each):
#:   Primary: jellyfin-web list 80/160 (fill, listview.js), cards fill 223×335 / 446×669 (q96,
#:     url.ts), Emby cards maxWidth 213/426, Finamp 168/510, androidtv 200×300 and fillHeight
#:     400, apiclient-python 300, tvOS 500, Swiftfin 600 (portrait) and 900 (episodes);
#:   Thumb: jellyfin-web next-up cards fill 355×200 / 710×400 (q96);
#:   Backdrop: jellyfin-web and Emby maxWidth 1920 / 3840 (screen × DPR, q80 / q70) are screen
#:     steps below; androidtv 462×260 cards and apiclient-python's MaxWidth (default quality)
#:     take the ladder from 480 px at the default quality.
LADDER_WIDTHS = [round(80 * 1.2 ** i) for i in range(21)]
_LADDER = {"formats": ["Original", "Jpg"], "sizes": [{"maxWidth": LADDER_WIDTHS}]}
_BACKDROP_LADDER = {"formats": ["Original", "Jpg"], "qualities": [90],
                    "sizes": [{"maxWidth": [w for w in LADDER_WIDTHS if w >= 480]}]}
#: jellyfin-web's card box at quality 96, where it draws playback state.
_CARD = {"sizes": [{"fillWidth": 228, "fillHeight": 342}], "formats": ["Original", "Webp"], "qualities": [96]}

DEFAULTS: dict[str, Any] = {
    "quality": 90,
    "background_color": "#000000",
    "negotiate_format": False,
    "legacy_links": False,
    "formats": ["Original", "Jpg", "Webp"],
    "qualities": [90],
    "sizes": [{"maxWidth": [160, 320, 640, 1280]}, FULL_SIZE],
    "variants": [_EVERY_FORMAT],
    "podcast": {"format": "Jpg", "quality": 90, "background_color": "#ffffff", "base_url": ""},
    "types": {
        "Primary": {
            "qualities": [90, 96],
            "sizes": [
                {"fillWidth": [228, 456], "fillHeight": [342, 684]},
                {"width": 300},
                {"maxWidth": [160, 320, 640, 1280]},
                FULL_SIZE,
            ],
            "variants": [
                _EVERY_FORMAT,
                _LADDER,
                {**_CARD, "percentPlayed": {"from": 5, "to": 95, "step": 5}},
                {**_CARD, "unplayedCount": {"from": 1, "to": 20}},
                {**_CARD, "addPlayedIndicator": True},
                {"sizes": [{"maxWidth": 640}], "formats": ["Original"], "blur": [10, 20],
                 "foregroundLayer": [0.4]},
            ],
        },
        "Backdrop": {
            "qualities": [80, 90],
            "sizes": [{"maxWidth": [480, 960, 1280, 1920, 2560, 3840]}, FULL_SIZE],
            "variants": [
                _EVERY_FORMAT,
                _BACKDROP_LADDER,
                {"sizes": [{"maxWidth": 1920}], "formats": ["Original", "Webp"], "qualities": [80],
                 "blur": [20], "foregroundLayer": [0.4, 1]},
            ],
        },
        "Chapter": {"sizes": [{"maxWidth": [400, 800]}, FULL_SIZE]},
        "Logo": {
            "sizes": [{"height": [40, 80, 120]}, {"maxHeight": [220, 440]}, FULL_SIZE],
            "variants": [
                _EVERY_FORMAT,
                {"sizes": [{"maxHeight": 220}], "formats": ["Jpg"], "backgroundColor": ["#ffffff", "#101010"]},
            ],
        },
        "Thumb": {"sizes": [{"maxWidth": [320, 640, 1280]}, FULL_SIZE], "variants": [_EVERY_FORMAT, _LADDER]},
    },
}

#: Decoration parameters a variant may list (api-reference §1 query names), from the registry.
DECORATION_KEYS = tuple(p.name for p in DECORATION_PARAMETERS)
_VARIANT_KEYS = ("formats", "qualities", "sizes") + DECORATION_KEYS
MAX_DECORATIONS_PER_VARIANT = 1000

_PROFILE_KEYS = ("formats", "qualities", "sizes", "variants")
_TOP_KEYS = ("quality", "background_color", "negotiate_format", "legacy_links") + _PROFILE_KEYS + ("types", "podcast")
_PODCAST_KEYS = ("format", "quality", "background_color", "base_url")


@dataclass(frozen=True)
class Variant:
    """Extra derivatives beyond the profile's formats × qualities × sizes: these formats,
    qualities and sizes, each with every one of ``decorations`` (an empty ``Decoration`` means
    undecorated)."""

    formats: tuple[str, ...]
    qualities: tuple[int, ...]
    sizes: tuple[SizeRequest, ...]
    decorations: tuple[Decoration, ...]

    def describe(self) -> dict:
        """Stable, JSON-able description (part of the profile fingerprint)."""
        return {"formats": self.formats, "qualities": self.qualities,
                "sizes": [r.describe() for r in self.sizes],
                "decorations": [d.key() for d in self.decorations]}


@dataclass(frozen=True)
class Profile:
    """What to precompute for one ``ImageType``.

    ``formats``: API names, may include ``Original``; ``qualities``: 0–100 for lossy formats;
    ``sizes``: the size requests to precompute; ``background_color``: RGB 0–255 tuple;
    ``quality``: the default quality of a request that names none; ``variants``: extra
    derivatives (other formats at some sizes, decorated derivatives).
    """

    formats: tuple[str, ...]
    qualities: tuple[int, ...]
    sizes: tuple[SizeRequest, ...]
    quality: int
    background_color: tuple[int, int, int]
    variants: tuple[Variant, ...] = ()

    def all_variants(self) -> tuple[Variant, ...]:
        """The base (formats × qualities × sizes, undecorated) followed by ``variants``."""
        return (Variant(self.formats, self.qualities, self.sizes, (Decoration(),)),) + self.variants

    def fingerprint(self) -> str:
        """Stable text of everything in the profile (and renderer) that changes output bytes."""
        data = {
            "renderer": RENDERER_VERSION,
            "formats": self.formats,
            "qualities": self.qualities,
            "sizes": [s.describe() for s in self.sizes],
            "quality": self.quality,
            "background_color": self.background_color,
            "variants": [v.describe() for v in self.variants],
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class PodcastSettings:
    """How ART19 styles are encoded: ``format`` ``Jpg`` or ``Png`` (Apple accepts both),
    ``quality`` 0–100, ``background_color`` RGB under transparent pixels (styles are RGB, no
    alpha), ``base_url`` prefixed to each file's path in ``cdn_url`` (e.g. the CDN's origin;
    the doit variable ``base_url=`` overrides it)."""

    format: str = "Jpg"
    quality: int = 90
    background_color: tuple[int, int, int] = (255, 255, 255)
    base_url: str = ""

    def fingerprint(self) -> str:
        """What changes style bytes (not ``base_url``, which only changes JSON)."""
        return f"{RENDERER_VERSION}/{self.format}/{self.quality}/{self.background_color}"


@dataclass(frozen=True)
class Settings:
    """Validated settings: one ``Profile`` per ``ImageType``, and the podcast style settings.
    ``legacy_links``: the objects step writes the legacy-path links (module doc); it changes no
    rendered bytes, so it is not part of ``fingerprint``."""

    profiles: dict[str, Profile]
    negotiate_format: bool = False
    podcast: PodcastSettings = PodcastSettings()
    legacy_links: bool = False

    def profile(self, image_type: str) -> Profile:
        """The ``Profile`` for ``image_type`` (every ImageType has one)."""
        return self.profiles[image_type]

    def fingerprint(self) -> str:
        """MD5 hex of every profile: doit's ``config_changed`` value for the settings."""
        text = "".join(self.profiles[t].fingerprint() for t in IMAGE_TYPES) + str(self.negotiate_format)
        return hashlib.md5(text.encode()).hexdigest()


class SettingsError(ValueError):
    """A bad settings value; ``path`` is the key path below ``settings`` (for line lookup)."""

    def __init__(self, path: tuple, message: str):
        self.path = path
        super().__init__(message)


class SettingsErrors(SettingsError):
    """Every ``SettingsError`` of one ``settings`` mapping (``errors``, in document order);
    ``path`` and the message are the first one's, so it reads as one error where one is wanted."""

    def __init__(self, errors: list[SettingsError]):
        self.errors = errors
        super().__init__(errors[0].path, "\n".join(str(e) for e in errors))


class _Collect:
    """Runs validation steps, keeping each ``SettingsError`` (once) and going on."""

    def __init__(self):
        self.errors: list[SettingsError] = []

    def __call__(self, step, *args, default=None):
        try:
            return step(*args)
        except SettingsErrors as exc:
            for error in exc.errors:
                self.add(error)
        except SettingsError as exc:
            self.add(exc)
        return default

    def add(self, error: SettingsError):
        if all((e.path, str(e)) != (error.path, str(error)) for e in self.errors):
            self.errors.append(error)


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
            raise SettingsError(path + (i,), f"unknown format {text!r} (known: {known})"
                                + did_you_mean(text, [ORIGINAL, *FORMATS]))
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
                                    f"(known: {', '.join(SIZE_PARAMETERS)})" + did_you_mean(key, SIZE_PARAMETERS))
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


def _number_list(value, path, what, integer: bool) -> list:
    """A list of numbers, or ``{from, to, step}`` (inclusive) expanded to one."""
    if isinstance(value, dict):
        unknown = set(value) - {"from", "to", "step"}
        if unknown or "from" not in value or "to" not in value:
            raise SettingsError(path, f"{what} range must be {{from: N, to: N, step: N}}")
        low, high, step = value["from"], value["to"], value.get("step", 1)
        for name, v in (("from", low), ("to", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (name == "step" and v <= 0):
                raise SettingsError(path + (name,), f"{what} {name} must be a positive number, got {v!r}")
        if (high - low) / step + 1 > MAX_DECORATIONS_PER_VARIANT:   # bounded before it is expanded
            raise SettingsError(path, f"{what} range has more than {MAX_DECORATIONS_PER_VARIANT} values")
        values, n = [], 0
        while low + n * step <= high + 1e-9:
            values.append(round(low + n * step, 6))
            n += 1
        value = values
    if not isinstance(value, list) or not value:
        raise SettingsError(path, f"{what} must be a non-empty list of numbers or a {{from, to, step}} range")
    for i, v in enumerate(value):
        kinds = (int,) if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, kinds):
            raise SettingsError(path + (i,), f"{what} values must be {'integers' if integer else 'numbers'}, got {v!r}")
    return [int(v) if integer else v for v in value]


def _setting_numbers(value, path, name):
    return _number_list(value, path, name, False)


def _setting_integers(value, path, name):
    return _number_list(value, path, name, True)


def _setting_boolean(value, path, name):
    if not isinstance(value, bool):
        raise SettingsError(path, f"{name} must be true or false")
    return [value]


def _setting_colors(value, path, name):
    if not isinstance(value, list) or not value:
        raise SettingsError(path, f"{name} must be a list of colours")
    parsed = []
    for i, text in enumerate(value):
        try:
            parsed.append(parse_color(str(text)))
        except ValueError as exc:
            raise SettingsError(path + (i,), str(exc))
    return parsed


#: How a variant lists the values of each decoration parameter type (registry ``type``):
#: (value, path, name) → the list of values; raises SettingsError.
SETTING_READERS = {
    "number": _setting_numbers,        # numbers or {from, to, step}
    "integer": _setting_integers,      # integers or {from, to, step}
    "boolean": _setting_boolean,       # one true/false
    "color": _setting_colors,          # a list of colours
    "opacity": _setting_numbers,       # numbers or {from, to, step}
}


def _decorations(entry: dict, path: tuple) -> tuple[Decoration, ...]:
    """Every combination of the decoration parameters listed in a variant entry (each read by
    its registry type, ``decoration.DECORATION_PARAMETERS``)."""
    options: list[list[tuple[str, Any]]] = []
    for p in DECORATION_PARAMETERS:
        if p.name in entry:
            values = SETTING_READERS[p.type](entry[p.name], path + (p.name,), p.name)
            options.append([(p.field, v) for v in values])
    combos: list[dict] = [{}]
    for option in options:
        combos = [{**c, name: value} for c in combos for name, value in option]
        if len(combos) > MAX_DECORATIONS_PER_VARIANT:
            raise SettingsError(path, f"more than {MAX_DECORATIONS_PER_VARIANT} decorations in one variant")
    out: dict[str, Decoration] = {}
    for combo in combos:
        try:
            decoration = Decoration(**combo)
        except ValueError as exc:
            raise SettingsError(path, str(exc))
        out.setdefault(decoration.key(), decoration)
    return tuple(out.values())


def _variants(value, path, base: dict) -> tuple[Variant, ...]:
    if not isinstance(value, list):
        raise SettingsError(path, "variants must be a list of mappings")
    out = []
    collect = _Collect()
    for i, entry in enumerate(value):
        where = path + (i,)
        if not isinstance(entry, dict) or not entry:
            collect.add(SettingsError(where, "a variant must be a mapping, e.g. {formats: [Avif], sizes: [{maxWidth: 320}]}"))
            continue
        for key in entry:
            if key not in _VARIANT_KEYS:
                collect.add(SettingsError(where + (key,), f"unknown variant key {key!r} (known: {', '.join(_VARIANT_KEYS)})"
                                          + did_you_mean(key, _VARIANT_KEYS)))
        variant = collect(lambda: Variant(
            formats=_formats(entry["formats"], where + ("formats",)) if "formats" in entry else base["formats"],
            qualities=_qualities(entry["qualities"], where + ("qualities",)) if "qualities" in entry else base["qualities"],
            sizes=_sizes(entry["sizes"], where + ("sizes",)) if "sizes" in entry else base["sizes"],
            decorations=_decorations(entry, where),
        ))
        if variant is not None:
            out.append(variant)
    if collect.errors:
        raise SettingsErrors(collect.errors)
    return tuple(out)


def parse_settings(raw: Any) -> Settings:
    """Validate a catalog's ``settings`` mapping (or None) over ``DEFAULTS``.

    Returns ``Settings``. Raises ``SettingsErrors`` (a ``SettingsError``) listing every bad
    value, each with its key path, after validating everything it can: a bad value is replaced by
    its default so the rest is still checked. Unknown keys suggest the key meant. A per-type
    entry overrides only the keys it names.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError((), "settings must be a mapping")
    collect = _Collect()
    for key in raw:
        if key not in _TOP_KEYS:
            collect.add(SettingsError((key,), f"unknown settings key {key!r} (known: {', '.join(_TOP_KEYS)})"
                                      + did_you_mean(key, _TOP_KEYS)))
    merged = {k: raw.get(k, DEFAULTS[k]) for k in _TOP_KEYS if k != "types"}
    quality = collect(_int_in, merged["quality"], ("quality",), 0, 100, "quality", default=DEFAULTS["quality"])
    customised = any(k in raw for k in _PROFILE_KEYS)
    if customised and "variants" not in raw:
        merged["variants"] = []  # a catalog that sets its own ladder gets no default extras
    try:
        background = parse_color(str(merged["background_color"]))[:3]
    except ValueError:
        background = (0, 0, 0)
        collect.add(SettingsError(("background_color",),
                                  f"not a colour: {merged['background_color']!r} (e.g. '#000000', 'black')"))

    if not isinstance(merged["negotiate_format"], bool):
        collect.add(SettingsError(("negotiate_format",), "negotiate_format must be true or false"))
    if not isinstance(merged["legacy_links"], bool):
        collect.add(SettingsError(("legacy_links",), "legacy_links must be true or false (true only for a "
                                  "static host without serve.py or nginx)"))
    types_raw = raw.get("types", {})
    if not isinstance(types_raw, dict):
        collect.add(SettingsError(("types",), "types must be a mapping of ImageType to overrides"))
        types_raw = {}
    if not customised:  # the default per-type entries stay; a catalog's entry overrides the keys it names
        merged_types = {t: dict(v) for t, v in DEFAULTS["types"].items()}
        for name, entry in types_raw.items():
            if entry is None:
                merged_types.setdefault(name, {})
            else:
                merged_types[name] = {**merged_types.get(name, {}), **entry} if isinstance(entry, dict) else entry
        types_raw = merged_types
    # the global values are checked at their own paths first, whichever types read them
    for key, check in (("formats", _formats), ("qualities", _qualities), ("sizes", _sizes)):
        if key in raw:
            collect(check, merged[key], (key,))
    profiles = {}
    for image_type in IMAGE_TYPES:
        override = types_raw.get(image_type)
        override = {} if override is None else override
        where = ("types", image_type)
        if not isinstance(override, dict):
            collect.add(SettingsError(where, "must be a mapping with formats, qualities and/or sizes"))
            override = {}
        for key in override:
            if key not in _PROFILE_KEYS:
                collect.add(SettingsError(where + (key,), f"unknown key {key!r} (known: {', '.join(_PROFILE_KEYS)})"
                                          + did_you_mean(key, _PROFILE_KEYS)))
        def pick(key):
            return (override[key], where + (key,)) if key in override else (merged[key], (key,))
        base = {"formats": collect(_formats, *pick("formats"), default=()),
                "qualities": collect(_qualities, *pick("qualities"), default=()),
                "sizes": collect(_sizes, *pick("sizes"), default=())}
        variants = collect(_variants, *pick("variants"), base, default=())
        if collect.errors:
            continue
        profiles[image_type] = Profile(
            formats=base["formats"], qualities=base["qualities"], sizes=base["sizes"],
            quality=quality, background_color=background, variants=variants,
        )
    for name in types_raw:
        if name not in IMAGE_TYPES:
            collect.add(SettingsError(("types", name), f"unknown ImageType {name!r} (known: {', '.join(IMAGE_TYPES)})"
                                      + did_you_mean(name, IMAGE_TYPES)))
    podcast = collect(_podcast, raw.get("podcast"))
    if collect.errors:
        raise SettingsErrors(collect.errors)
    return Settings(profiles, merged["negotiate_format"], podcast, merged["legacy_links"])


def _podcast(raw: Any) -> PodcastSettings:
    values = dict(DEFAULTS["podcast"])
    if raw is not None:
        if not isinstance(raw, dict):
            raise SettingsError(("podcast",), "podcast must be a mapping with format, quality, background_color, base_url")
        for key in raw:
            if key not in _PODCAST_KEYS:
                raise SettingsError(("podcast", key), f"unknown key {key!r} (known: {', '.join(_PODCAST_KEYS)})"
                                    + did_you_mean(key, _PODCAST_KEYS))
        values.update(raw)
    fmt = parse_format(str(values["format"]))
    if fmt not in ("Jpg", "Png"):
        raise SettingsError(("podcast", "format"), f"podcast styles are Jpg or Png (Apple Podcasts), got {values['format']!r}")
    quality = _int_in(values["quality"], ("podcast", "quality"), 0, 100, "quality")
    try:
        background = parse_color(str(values["background_color"]))[:3]
    except ValueError as exc:
        raise SettingsError(("podcast", "background_color"), str(exc))
    if not isinstance(values["base_url"], str):
        raise SettingsError(("podcast", "base_url"), "base_url must be a string such as https://cdn.example.com")
    return PodcastSettings(fmt, quality, background, values["base_url"].rstrip("/"))

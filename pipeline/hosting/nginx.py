"""Generate an nginx configuration that answers the media-server URLs from a built ``output/``.

nginx cannot compute anything, so every answer serve.py would give is precomputed here, in
Python, by calling the functions serve.py calls (``serve.index.Index`` to read the manifest,
``selection.select`` to choose a file, ``formats.FORMAT_NAMES``, ``imagetypes.TYPE_NAMES``);
the template only looks answers up. The URL → file rule therefore stays in ``selection``.

How a request is looked up (all tables are nginx ``map`` blocks; exact keys are hashed and
case-insensitive, ``~`` keys are regular expressions tried in order):

1. **Route.** The decoded, normalised path (``$uri``) is split into segments; a decision table
   generated from the route table (``route_decision`` from ``serve/routes.py``, following
   ``routes.match``'s order) gives the route or the error (status and message), and per-route
   field maps (``$h_f_owner_id`` …) give the segments' values to the later steps.
2. **Checks** in serve.py's order: ``userId``, ``imageIndex``, the six size parameters,
   ``quality``, the legacy segments, the decoration numbers: each a small regex table on the raw
   query value (``$arg_name``: nginx looks names up case-insensitively, first occurrence wins,
   as ``request.parse_query``).
3. **Owner, image.** The id (a dashed GUID first turned into 32 hex digits) → the catalog id
   (``owner_keys``: one line per GUID and per id); ``{kind}/{id}/{type}/{index}`` →
   ``{tag}:{shape}`` (one line per image slot). A *shape* (``_shape_of``) is what ``select``
   sees of an image: images of one shape share every table below, which are computed once per
   shape. ``{shape}:{format}`` → the effective format (or the ``FormatNotAvailable`` message);
   ``{format}:{quality}`` → a quality class (regex ranges from ``selection.nearest_quality``).
   JSON objects and content-named files are found at their ``layout`` paths, not listed.
4. **Size.** For each size parameter alone, the answer is a step function of its value: the
   generator evaluates ``select`` for every value from 1 to the source side (memoised by how
   the target compares with the derivatives' sides, which is all ``select`` looks at; checked
   by sampling) and emits one regex per step (integer ranges as generated regexes). Steps are
   numbered by a *rank* that grows with the target, written in unary (``r``, ``rr`` …) so that
   nginx can take a maximum or minimum with two backreference regexes. Several parameters
   combine as serve.py's output-size rule does: max over ``width``/``height`` (a box must be
   covered), min with ``maxWidth``/``maxHeight``, max over ``fillWidth``/``fillHeight``, min of
   the two groups. For one parameter, no parameter and the ``fillWidth``+``fillHeight`` pair
   (jellyfin-web's cards) this is exact: every fill target lies on one chain and the generator
   verifies that the ranks grow along it. Other combinations are documented exceptions
   (docs/hosting.md).
5. **Answer.** ``{format}:{quality class}:{rank}`` → ``name size fit`` (runs of ranks as one
   regex); the file ``images/{tag}/{name}`` is served from the output folder through an
   internal location, with serve.py's headers.

Regex tables (size steps, quality classes, answers) are one ``map`` per distinct list, picked
by the shape through a hashed map (``REGEX_FAMILIES``): nginx tries regexes one by one, so a
request runs only its own image's.

Public entry points: ``build_tables`` (the precomputed data), ``render_nginx_config`` (the
server block text), ``write_nginx_config`` (doit action), ``nginx_main_config`` (a minimal
stand-alone ``nginx.conf`` around the block, for tests and local runs).
"""

from __future__ import annotations

import bisect
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.model import layout
from pipeline.store.atomic import atomic_write_bytes
from pipeline.templating import environment
from pipeline.model.formats import FORMAT_NAMES, FORMATS, ORIGINAL
from pipeline.model.ids import canonical_guid
from pipeline.model.imagetypes import TYPE_NAMES
from pipeline.model.decoration import DECORATION_PARAMETERS, DecorationParameter
from pipeline.serve.request import ID_CHARS
from pipeline.serve.routes import ROUTES, Route
from pipeline.serve.selection import FormatNotAvailable, nearest_quality, select
from pipeline.model.http import IMMUTABLE, REVALIDATE
from pipeline.serve.index import Index
from pipeline.model.sizing import SIZE_PARAMETERS, SizeRequest, output_size

TEMPLATES = Path(__file__).parent / "templates"

#: Size parameters whose domain is bounded by the source width (else height).
_WIDTH_PARAMS = ("width", "maxWidth", "fillWidth")

#: How many random requests per image the generator checks against ``select`` directly.
SELF_CHECK_SAMPLES = 200


# ---------------------------------------------------------------------------------------------
# integer ranges as regular expressions


def int_range_regex(low: int, high: int | None = None) -> str:
    """A regex (no anchors, no groups that capture) matching the canonical decimal form (no
    sign, no leading zero) of every integer in ``[low, high]``; ``high=None`` means no upper
    bound. ``low`` ≥ 1 and ``low`` ≤ ``high``; raises ValueError otherwise.

    ``int_range_regex(5, 12)`` → ``[5-9]|1[0-2]``; ``int_range_regex(100)`` → ``[1-9][0-9]{2,}``.
    """
    if low < 1 or (high is not None and high < low):
        raise ValueError(f"bad range {low}..{high}")
    parts: list[str] = []
    top = high if high is not None else 10 ** len(str(low)) - 1
    for length in range(len(str(low)), len(str(top)) + 1):
        a = max(low, 10 ** (length - 1))
        b = min(top, 10 ** length - 1)
        if a <= b:
            parts += _same_length(str(a), str(b))
    if high is None:
        parts.append(f"[1-9][0-9]{{{len(str(low))},}}")
    return "|".join(parts)


def _digits(count: int) -> str:
    return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"


def _span(a: str, b: str) -> str:
    return a if a == b else f"[{a}-{b}]"


def _same_length(a: str, b: str) -> list[str]:
    if a == b:
        return [a]
    if len(a) == 1:
        return [_span(a, b)]
    if a[0] == b[0]:
        return [a[0] + p for p in _same_length(a[1:], b[1:])]
    rest = len(a) - 1
    parts: list[str] = []
    first, last = int(a[0]), int(b[0])
    if a[1:] != "0" * rest:
        parts += [a[0] + p for p in _same_length(a[1:], "9" * rest)]
        first += 1
    tail: list[str] = []
    if b[1:] != "9" * rest:
        tail = [b[0] + p for p in _same_length("0" * rest, b[1:])]
        last -= 1
    if first <= last:
        parts.append(_span(str(first), str(last)) + _digits(rest))
    return parts + tail


# ---------------------------------------------------------------------------------------------
# the route decision table, generated from the route table (pipeline/serve/routes.py)


@dataclass(frozen=True)
class NginxSegment:
    """How nginx checks one kind of typed segment (a ``routes.CONVERTERS`` name) at position
    ``{i}``: a ``map $h_s{i}`` with ``entries`` (key → token; the token ``1`` accepts, every
    other token is a rejection and must not start with ``1``) and ``default``; ``errors``:
    rejection token → "status message" as serve.py answers it (nginx text; ``{i}`` is the
    position); ``value``: the field's value for the later maps; ``extra``: maps the value and
    the messages need, ``(variable, default, entries)`` with ``{i}`` substituted."""

    entries: tuple
    default: str
    errors: dict
    value: str = "$h_s{i}"
    extra: tuple = ()


def _type_names() -> dict[str, str]:
    return dict(sorted(TYPE_NAMES.items()))


_ID_REGEX = "~^[" + "".join(sorted(ID_CHARS - {"-"})) + "-]+$"   # letters, digits, _ need no escape

#: The nginx form of each converter a static route uses (``raw``: any value, no check).
NGINX_SEGMENTS: dict[str, NginxSegment | None] = {
    "id": NginxSegment(((_ID_REGEX, "1"),), "x", {"x": "404 no such item"}),
    "image_type": NginxSegment(tuple((low, "1") for low in _type_names()), "x",
                               {"x": "404 unknown image type $h_s{i}_repr"}, value="$h_t{i}",
                               extra=(("$h_t{i}", "", tuple(_type_names().items())),)),
    "index": NginxSegment((("~^-?0+$", "1"), ("~^[0-9]+$", "1"), ("~^-0*[1-9][0-9]*$", "neg")), "bad",
                          {"bad": "400 imageIndex must be an integer, got $h_s{i}_repr",
                           "neg": "400 imageIndex must be ≥ 0, got -$h_i{i}n"}, value="$h_i{i}v",
                          extra=(("$h_i{i}v", "", (("~^-?0+$", "0"), ("~^0*([1-9][0-9]*)$", "$1"))),
                                 ("$h_i{i}n", "", (("~^-0*([1-9][0-9]*)$", "$1"),)))),
    "raw": None,
    "tag": NginxSegment((("~^[0-9a-f]{32}$", "1"),), "x", {"x": "404 no such resource"}),
    "store_name": NginxSegment((("~^[A-Za-z0-9_-][A-Za-z0-9_.-]*$", "1"),), "x", {"x": "404 no such resource"}),
}


def route_decision(routes: tuple[Route, ...] = ROUTES) -> dict:
    """The nginx side of the route table: what the template needs to route a path exactly as
    ``routes.match`` does (its two steps become ordered regex entries of one decision map).

    Returns ``{"max_n", "literal_maps", "exact_maps", "segment_maps", "key", "entries",
    "forms", "field_maps"}``: ``literal_maps``/``exact_maps``: position → [(key, canonical)]
    for case-insensitive and case-sensitive literals; ``segment_maps``: [(variable, source,
    default, [(key, token)])]; ``key``: the decision map's source string; ``entries``:
    [(regex, "OK route" | "status message")], in priority order; ``forms``: [(route, form)];
    ``field_maps``: [(field, [(route, nginx value)])].

    Only GET routes count (nginx answers GET and HEAD only); routes that are not ``static``
    decide "404 no such resource". Raises ValueError when a static route uses a converter
    without an nginx form (``NGINX_SEGMENTS``) or a literal is both case-sensitive and not.
    """
    routes = tuple(r for r in routes if "GET" in r.methods)
    max_n = max(len(r.segments) for r in routes)
    literal: dict[int, dict[str, str]] = {i: {} for i in range(1, max_n + 1)}
    exact: dict[int, dict[str, str]] = {i: {} for i in range(1, max_n + 1)}
    converters: dict[int, list[str]] = {i: [] for i in range(1, max_n + 1)}
    for r in routes:
        for i, seg in enumerate(r.segments, 1):
            if seg.converter is None:
                for choice in seg.choices:
                    if r.case_sensitive:
                        exact[i][f"~^{re.escape(choice)}$"] = choice
                    else:
                        literal[i].setdefault(choice.lower(), choice)
            elif seg.converter not in NGINX_SEGMENTS:
                if r.static:
                    raise ValueError(f"route {r.name}: converter {seg.converter!r} has no nginx form "
                                     f"(add it to hosting/nginx.py NGINX_SEGMENTS, or mark the route static=False)")
            elif NGINX_SEGMENTS[seg.converter] is not None and seg.converter not in converters[i]:
                converters[i].append(seg.converter)
    for i in literal:
        both = {k.lower() for k in literal[i]} & {v.lower() for v in exact[i].values()}
        if both:
            raise ValueError(f"position {i}: literal {sorted(both)} is both case-sensitive and not")

    fields = ["D", "N"]
    for i in range(1, max_n + 1):
        fields += ([f"L{i}"] if literal[i] else []) + ([f"K{i}"] if exact[i] else []) + \
            [f"C{i}{c}" for c in converters[i]]
    variables = {"D": "$h_dots", "N": "$h_n"}
    for i in range(1, max_n + 1):
        variables[f"L{i}"], variables[f"K{i}"] = f"$h_l{i}", f"$h_k{i}"
        for c in converters[i]:
            variables[f"C{i}{c}"] = f"$h_c{i}_{c}"
    key = "|".join(f"{f}={variables[f]}" for f in fields) + "|"

    def regex(constraints: dict[str, str]) -> str:
        last = max(fields.index(f) for f in constraints)
        return "~^" + "".join(f"{f}={constraints.get(f, '[^|]*')}\\|" for f in fields[:last + 1])

    def prefix(r: Route, upto: int) -> dict[str, str]:
        """Constraints: literals and converters of ``r`` before position ``upto`` accept."""
        c = {"D": "-"}
        for i, seg in enumerate(r.segments[:upto], 1):
            if seg.converter is None:
                c[f"K{i}" if r.case_sensitive else f"L{i}"] = \
                    "(?:" + "|".join(re.escape(ch) for ch in seg.choices) + ")"
            elif NGINX_SEGMENTS.get(seg.converter) is not None:
                c[f"C{i}{seg.converter}"] = "1"
        return c

    entries = [(regex({"D": "x"}), "404 no such resource")]
    errors = []
    for r in routes:   # step 1: routes of the path's length, in table order
        n = len(r.segments)
        entries.append((regex({**prefix(r, n), "N": str(n)}), f"OK {r.name}" if r.static else "404 no such resource"))
        for j, seg in enumerate(r.segments, 1):
            spec = NGINX_SEGMENTS.get(seg.converter) if seg.converter else None
            if spec is None:
                continue
            for token, message in spec.errors.items():
                c = {**prefix(r, n), "N": str(n), f"C{j}{seg.converter}": re.escape(token)}
                for k, later in enumerate(r.segments[j:], j + 1):   # only the first rejection counts
                    c.pop(f"C{k}{later.converter}", None)
                errors.append((regex(c), message.replace("{i}", str(j)) if r.static else "404 no such resource"))
    entries += errors
    walk = []
    for order, r in enumerate(routes):   # step 2: leftmost rejection, case-insensitive routes
        if r.case_sensitive:
            continue
        for j, seg in enumerate(r.segments, 1):
            spec = NGINX_SEGMENTS.get(seg.converter) if seg.converter else None
            if spec is None:
                continue
            longer = "(?:" + "|".join(str(n) for n in range(j, max_n + 2)) + ")"
            for token, message in spec.errors.items():
                c = {**prefix(r, j - 1), "N": longer, f"C{j}{seg.converter}": re.escape(token)}
                walk.append(((j, order), regex(c), message.replace("{i}", str(j))))
    entries += [(rx, message) for _, rx, message in sorted(walk, key=lambda w: w[0])]

    segment_maps = []
    for i in range(1, max_n + 1):
        for c in converters[i]:
            spec = NGINX_SEGMENTS[c]
            segment_maps.append((f"$h_c{i}_{c}", f"$h_s{i}", spec.default, list(spec.entries)))
            for var, default, extra in spec.extra:
                segment_maps.append((var.replace("{i}", str(i)), f"$h_s{i}", default, list(extra)))
    field_maps: dict[str, list] = {}
    for r in routes:
        if not r.static:
            continue
        for i, seg in enumerate(r.segments, 1):
            if not seg.field:
                continue
            if seg.converter is None:
                value = f"$h_k{i}" if r.case_sensitive else f"$h_l{i}"
            else:
                spec = NGINX_SEGMENTS[seg.converter]
                value = (spec.value if spec else "$h_s{i}").replace("{i}", str(i))
            field_maps.setdefault(seg.field, []).append((r.name, value))
    return {
        "max_n": max_n,
        "literal_maps": [(i, sorted(literal[i].items())) for i in literal if literal[i]],
        "exact_maps": [(i, sorted(exact[i].items())) for i in exact if exact[i]],
        "segment_maps": segment_maps,
        "repr_positions": sorted({i for i in converters if converters[i]}),
        "key": key,
        "entries": entries,
        "forms": [(r.name, r.form) for r in routes if r.static],
        "field_maps": sorted(field_maps.items()),
    }


# ---------------------------------------------------------------------------------------------
# the decoration parameters, from their registry (pipeline/model/decoration.py)

#: Registry types the nginx template checks (a malformed value is serve.py's 400), with the
#: regexes in the template; the other types are not checked: ``opacity`` is never an error,
#: a malformed ``color`` is a documented exception (nginx serves the undecorated image).
DECORATION_CHECKS = ("number", "integer", "boolean")
DECORATION_UNCHECKED = ("color", "opacity")


def decoration_maps(parameters: tuple[DecorationParameter, ...] = DECORATION_PARAMETERS) -> dict:
    """What the template needs about the decoration parameters: ``decorations`` ([{name,
    lower, type}] in registry order: the ``X-Image-Not-Applied`` order), ``decoration_checks``
    (the checked types) and ``decoration_checked`` (lowercase names checked, in the order
    serve.py reports errors). Raises ValueError for a type nginx does not know or an alias that
    is not a case variant of the name (``$arg_name`` finds names case-insensitively only)."""
    out = []
    for p in parameters:
        if p.type not in DECORATION_CHECKS + DECORATION_UNCHECKED:
            raise ValueError(f"decoration {p.name}: type {p.type!r} has no nginx check (hosting/nginx.py)")
        if any(a.lower() != p.name.lower() for a in p.aliases):
            raise ValueError(f"decoration {p.name}: aliases {p.aliases} are not case variants; nginx reads "
                             f"$arg_{p.name.lower()} only")
        out.append({"name": p.name, "lower": p.name.lower(), "type": p.type})
    return {"decorations": out, "decoration_checks": DECORATION_CHECKS,
            "decoration_checked": [d["lower"] for d in out if d["type"] in DECORATION_CHECKS]}


# ---------------------------------------------------------------------------------------------
# the precomputed tables


@dataclass
class ImageTable:
    """Everything nginx needs about one image (one tag).

    ``shape``: the name of its answer tables in the config (``s0``, ``s1`` …), shared by every
    image whose source size, format, quality and undecorated files (names within
    ``images/{tag}/``, sizes, formats, qualities) are equal: ``select`` sees nothing else, so
    they give the same answers; ``key``: the slot map's value, ``{tag}:{shape}``; ``formats``: requested format (None
    for none/Original, else an API name) → effective format, for the formats ``select``
    accepts; ``format_errors``: requested format → the 404 message; ``quality_classes``:
    effective format → [(token, low, high)] quality ranges (0–100, inclusive) plus ``"n"`` for
    no quality; ``ranges``: size parameter → [(low, high or None, rank)] for values ≥ 1;
    ``answers``: (effective format, quality token, rank or None for no size) →
    (file name within ``images/{tag}/``, "WxH", fit); ``fill_exact``: the fill-pair check passed; ``upscale_rounding``:
    parameters whose values above the source side give answers that vary with rounding
    (served as the full-size answer; a documented exception); ``box_ranges``,
    ``box_answers``, ``box_exact_sizes``: the same for ``width`` and ``height`` together (see
    ``_box_tables``), ``box_exact``: their sampled check passed.
    """

    key: str
    tag: str
    width: int
    height: int
    shape: str = ""
    formats: dict = field(default_factory=dict)
    format_errors: dict = field(default_factory=dict)
    quality_classes: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)
    fill_exact: bool = True
    upscale_rounding: list = field(default_factory=list)
    box_ranges: dict = field(default_factory=dict)
    box_answers: dict = field(default_factory=dict)
    box_exact_sizes: dict = field(default_factory=dict)
    box_exact: bool = True


@dataclass
class HostingTables:
    """The whole precomputed answer set of one output folder (see ``build_tables``)."""

    output: Path
    images: dict[str, ImageTable]                     # by tag (tables shared by shape)
    slots: dict[str, str]                             # "Items/{id}/{Type}/{index}" → image key
    owners: dict[str, dict[str, str]]                 # kind → {id key: catalog id} (owner_keys)
    store: dict[str, str]                             # images/{tag}/{name} → MIME type
    format_names: dict[str, str]                      # lowercase request value → API name
    type_names: dict[str, str]                        # lowercase request value → ImageType
    case_collisions: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)  # "artists/{name spelling}" → item id


class _Chooser:
    """``select`` for one image and variant, memoised by the target's signature: its position
    among the derivatives' widths and heights and whether it equals one of their sizes or the
    source size (the only facts ``select``'s size step compares)."""

    def __init__(self, image, fmt: str, quality: int | None):
        self.image, self.fmt, self.quality = image, fmt, quality
        self.widths = sorted({d.width for d in image.derivatives})
        self.heights = sorted({d.height for d in image.derivatives})
        self.sizes = {(d.width, d.height) for d in image.derivatives} | {(image.width, image.height)}
        self.memo: dict = {}

    def signature(self, target: tuple[int, int]):
        w, h = target
        exact = target if target in self.sizes else None
        return bisect.bisect_left(self.widths, w), bisect.bisect_left(self.heights, h), exact

    def choose(self, size: SizeRequest, target: tuple[int, int]) -> tuple[str, str, str]:
        sig = self.signature(target)
        if sig not in self.memo:
            self.memo[sig] = self.direct(size)
        return self.memo[sig]

    def direct(self, size: SizeRequest) -> tuple[str, str, str]:
        im = self.image
        c = select(im.derivatives, im.width, im.height, im.format, size, self.fmt, self.quality, im.quality)
        d = c.derivative
        return d.file.rsplit("/", 1)[1], f"{d.width}x{d.height}", c.fit


def _param_domain(image, param: str) -> int:
    return image.width if param in _WIDTH_PARAMS else image.height


def _shape_of(image) -> tuple:
    """What ``select`` sees of an image's undecorated files, with file names relative to
    ``images/{tag}/`` (two images with equal shapes get equal answer tables). Raises
    ValueError when a file is not directly under ``images/{tag}/`` (``layout``)."""
    prefix = f"{layout.IMAGES_DIR}/{image.tag}/"
    files = []
    for d in image.derivatives:
        if not d.decoration.is_empty():
            continue
        name = d.file[len(prefix):]
        if not d.file.startswith(prefix) or "/" in name:
            raise ValueError(f"hosting: {image.tag}: derivative {d.file} is not under {prefix} (layout)")
        files.append((name, d.width, d.height, d.format, d.quality, d.original, d.keeps_aspect))
    return image.width, image.height, image.format, image.quality, tuple(files)


def _image_table(shape: str, image, rng: random.Random) -> ImageTable:
    table = ImageTable(f"{image.tag}:{shape}", image.tag, image.width, image.height, shape)
    plain = [d for d in image.derivatives if d.decoration.is_empty()]
    image = _Undecorated(image, plain)
    for requested in [None, ORIGINAL, *FORMATS]:
        try:
            choice = select(image.derivatives, image.width, image.height, image.format, SizeRequest(),
                            requested, None, image.quality)
        except FormatNotAvailable as exc:
            table.format_errors[requested] = str(exc)
            continue
        table.formats[requested] = choice.derivative.format
    variants = []   # (effective format, quality token, representative quality)
    for fmt in sorted(set(table.formats.values())):
        qualities = sorted({d.quality for d in image.derivatives
                            if d.format == fmt and not d.original and d.quality is not None})
        classes = [("n", None, None)]
        variants.append((fmt, "n", None))
        if FORMATS[fmt].lossy and qualities:
            for q in qualities:
                members = [v for v in range(101) if nearest_quality(qualities, v) == q]
                classes.append((f"q{q}", min(members), max(members)))
                variants.append((fmt, f"q{q}", q))
        table.quality_classes[fmt] = classes
    choosers = {(fmt, token): _Chooser(image, fmt, q) for fmt, token, q in variants}

    def joint(size: SizeRequest):
        target = output_size(image.width, image.height, size)
        return target, tuple(choosers[v].choose(size, target) for v in choosers)

    # every single-parameter target, by value
    seen: dict = {}                      # joint answer → smallest target key
    per_param: dict = {}
    none_target, none_joint = joint(SizeRequest())
    seen[none_joint] = (none_target[0] * none_target[1], *none_target)
    for param in SIZE_PARAMETERS:
        values = []
        for n in range(1, _param_domain(image, param) + 1):
            target, answer = joint(SizeRequest(**{param: n}))
            values.append((target, answer))
            k = (target[0] * target[1], *target)
            if answer not in seen or k < seen[answer]:
                seen[answer] = k
        per_param[param] = values
    order = sorted(seen, key=lambda a: (seen[a], a))
    rank = {a: i for i, a in enumerate(order)}

    for param, values in per_param.items():
        runs: list[list] = []
        for n, (_, answer) in enumerate(values, start=1):
            r = rank[answer]
            if runs and runs[-1][2] == r and runs[-1][1] == n - 1:
                runs[-1][1] = n
            else:
                runs.append([n, n, r])
        runs[-1][1] = None                # beyond the source side: the full-size answer
        table.ranges[param] = [tuple(r) for r in runs]
        if param in ("width", "height"):
            side = _param_domain(image, param)
            full = values[-1][1]
            limit = side * side // max(1, min(image.width, image.height)) + 3
            for n in range(side + 1, limit):
                if joint(SizeRequest(**{param: n}))[1] != full:
                    table.upscale_rounding.append(param)
                    break

    # the fill pair is exact when ranks grow along the chain of fill targets
    chain = sorted((t for p in ("fillWidth", "fillHeight") for t in per_param[p]),
                   key=lambda ta: (ta[0][0] * ta[0][1], ta[0]))
    ranks = [rank[a] for _, a in chain]
    table.fill_exact = all(x <= y for x, y in zip(ranks, ranks[1:])) and all(
        ta[0] <= tb[0] and ta[1] <= tb[1] for (ta, _), (tb, _) in zip(chain, chain[1:]))

    for answer, r in rank.items():
        for i, v in enumerate(choosers):
            table.answers[(v[0], v[1], r)] = answer[i]
    for i, v in enumerate(choosers):
        table.answers[(v[0], v[1], None)] = none_joint[i]
    _self_check(table, image, choosers, rank, rng)
    _box_tables(table, image, choosers, joint, rng)
    return table


def _box_tables(table: ImageTable, image, choosers, joint, rng: random.Random) -> None:
    """Tables for ``width`` and ``height`` together (a forced box W×H, within the source):
    the answer covering ``(w, 1)`` and the one covering ``(1, h)`` (each from ``select``),
    combined by a maximum, and the rendered sizes a box can hit exactly. Sets
    ``table.box_exact`` from a sampled comparison with ``select``."""
    seen: dict = {}
    per_side = {}
    for param, make in (("width", lambda n: SizeRequest(width=n, height=1)),
                        ("height", lambda n: SizeRequest(width=1, height=n))):
        values = []
        for n in range(1, _param_domain(image, param) + 1):
            target, answer = joint(make(n))
            values.append(answer)
            area = tuple(int(a[1].split("x")[0]) * int(a[1].split("x")[1]) for a in answer)
            seen.setdefault(answer, (area, n))
        per_side[param] = values
    order = sorted(seen, key=lambda a: seen[a])
    rank = {a: i for i, a in enumerate(order)}
    for param, values in per_side.items():
        runs: list[list] = []
        for n, answer in enumerate(values, start=1):
            r = rank[answer]
            if runs and runs[-1][2] == r and runs[-1][1] == n - 1:
                runs[-1][1] = n
            else:
                runs.append([n, n, r])
        runs[-1][1] = None
        table.box_ranges[param] = [tuple(r) for r in runs]
    for answer, r in rank.items():
        for i, v in enumerate(choosers):
            table.box_answers[(v[0], v[1], r)] = answer[i]
    variants = list(choosers)
    for (fmt, token), chooser in choosers.items():
        for d in image.derivatives:
            if d.format == fmt and not d.original:
                size = SizeRequest(width=d.width, height=d.height)
                answer = chooser.direct(size)
                if answer[2] == "exact":
                    table.box_exact_sizes[(fmt, token, f"{d.width}x{d.height}")] = answer
    table.box_exact = True
    for _ in range(SELF_CHECK_SAMPLES):
        w, h = rng.randint(1, image.width), rng.randint(1, image.height)
        fmt, token = rng.choice(variants)
        expected = choosers[(fmt, token)].direct(SizeRequest(width=w, height=h))
        got = table.box_exact_sizes.get((fmt, token, f"{w}x{h}"))
        if got is None:
            rw = next(r for lo, hi, r in table.box_ranges["width"] if lo <= w and (hi is None or w <= hi))
            rh = next(r for lo, hi, r in table.box_ranges["height"] if lo <= h and (hi is None or h <= hi))
            got = table.box_answers[(fmt, token, max(rw, rh))]
        if got != expected:
            table.box_exact = False
            break


class _Undecorated:
    """An image record with only its undecorated derivatives (nginx serves no decoration)."""

    def __init__(self, image, derivatives):
        self.tag, self.width, self.height = image.tag, image.width, image.height
        self.format, self.quality, self.derivatives = image.format, image.quality, derivatives


def _self_check(table: ImageTable, image, choosers, rank, rng: random.Random) -> None:
    """Compare the tables with ``select`` on random single-parameter requests; raises
    AssertionError when the memoised signature would have given another answer."""
    for _ in range(SELF_CHECK_SAMPLES):
        param = rng.choice(SIZE_PARAMETERS)
        n = rng.randint(1, _param_domain(image, param))
        (fmt, token) = rng.choice(list(choosers))
        chooser = choosers[(fmt, token)]
        size = SizeRequest(**{param: n})
        expected = chooser.direct(size)
        r = next(rr for lo, hi, rr in table.ranges[param] if lo <= n and (hi is None or n <= hi))
        got = table.answers[(fmt, token, r)]
        if got != expected:
            raise AssertionError(f"hosting tables disagree with select for {image.tag} {param}={n} "
                                 f"{fmt}/{token}: {got} != {expected}")


def build_tables(output: str | Path, seed: int = 0) -> HostingTables:
    """Precompute every answer of the built folder ``output`` (manifest read by
    ``serve.index.Index``, the reader serve.py uses). ``seed`` drives the self-check sampling.

    Answer tables are computed once per *shape* (``_shape_of``), so their cost grows with the
    distinct source sizes, not with the images; per image slot the config holds one line, per
    owner one line per spelling (``owner_keys``). JSON objects and content-named files are not
    listed: their paths are computed in the config (``layout``) and a missing file is a 404.

    Raises FileNotFoundError without a manifest, ``ManifestError`` for a bad one, ValueError
    when the build negotiates formats by ``Accept`` (not expressible per URL), AssertionError
    if the tables disagree with ``selection.select`` on a sampled request.
    """
    output = Path(output).resolve()
    index = Index(output)
    if index.negotiate_format:
        raise ValueError("hosting: the build negotiates formats by Accept (settings negotiate_format: true); "
                         "the nginx config answers by URL only (a CDN caches by URL) and does not support "
                         "it: build with negotiate_format: false")
    rng = random.Random(seed)
    shapes: dict[tuple, ImageTable] = {}
    images: dict[str, ImageTable] = {}
    for tag, image in sorted(index.images.items()):
        signature = _shape_of(image)
        shape = shapes.get(signature)
        if shape is None:
            shape = shapes[signature] = _image_table(f"s{len(shapes)}", image, rng)
        images[tag] = replace(shape, key=f"{tag}:{shape.shape}", tag=tag)
    slots: dict[str, str] = {}
    for kind, by_id in index.owners.items():
        for owner_id, types in by_id.items():
            for image_type, tags in types.items():
                for n, tag in enumerate(tags):
                    slots[f"{kind}/{owner_id}/{image_type}/{n}"] = images[tag].key
    owners, collisions = owner_keys(index)
    return HostingTables(output, images, slots, owners, dict(index.store),
                         dict(sorted(FORMAT_NAMES.items())), _type_names(), collisions,
                         _named_spellings(output, index))


def owner_keys(index: Index) -> tuple[dict[str, dict[str, str]], list[str]]:
    """(kind → {key: catalog id}, case collisions ``["Items/Show", …]``): the keys nginx looks
    an owner up by, as ``Index.owner`` resolves them: each published GUID (32 lowercase hex
    digits; the config turns a dashed spelling into this form first) and each catalog id,
    lower-cased (nginx's exact map keys are case-insensitive), or as 32 hex digits when the
    id itself spells a GUID. A GUID wins over a catalog id of the same spelling, as in
    ``Index.owner``; ids equal but for case keep the one ``Index.lower_ids`` keeps."""
    owners: dict[str, dict[str, str]] = {}
    collisions: list[str] = []
    for kind, by_id in index.owners.items():
        keys = dict(index.guids.get(kind, {}))
        seen: set[str] = set()
        for owner_id in by_id:
            low = owner_id.lower()
            if low in seen:
                collisions.append(f"{kind}/{owner_id}")
            seen.add(low)
            keys.setdefault(canonical_guid(owner_id) or low, index.lower_ids[kind][low])
        owners[kind] = keys
    return owners, collisions


def _named_spellings(output: Path, index: Index) -> dict[str, str]:
    """``"{collection}/{name}"`` → item id for the named-item routes, in the spellings nginx can
    match: its map lowercases ASCII only, so each name is listed as written, lower-cased,
    upper-cased, title-cased and case-folded (``ids.name_key``); another mix of non-ASCII case
    is a documented exception (docs/hosting.md)."""
    out: dict[str, str] = {}
    for collection, by_key in sorted(index.names.items()):
        for key, item_id in sorted(by_key.items()):
            try:
                name = json.loads((output / layout.object_file("Items", item_id)).read_bytes())["Name"]
            except (OSError, ValueError, KeyError):
                name = key
            for spelling in (name, name.lower(), name.upper(), name.title(), key, key.upper()):
                for form in {unicodedata.normalize("NFC", spelling), unicodedata.normalize("NFD", spelling)}:
                    spelled = f"{collection}/{form}".encode().lower().decode()    # ASCII only, as nginx
                    out.setdefault(spelled, item_id)
    return out


# ---------------------------------------------------------------------------------------------
# rendering


def _q(text: str) -> str:
    """Quote a string for nginx (double quotes; backslash and quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unary(rank: int) -> str:
    return "r" * (rank + 1)


def _shapes(tables: HostingTables) -> list[ImageTable]:
    """One table per shape, in shape order."""
    first: dict[str, ImageTable] = {}
    for t in tables.images.values():
        first.setdefault(t.shape, t)
    return sorted(first.values(), key=lambda t: int(t.shape[1:]))


#: The tables that are regex lists (size steps, quality classes, answers as runs of ranks):
#: name → (map source, default).
#: nginx tries a map's regexes one by one, so each distinct list is a map of its own and
#: ``$h_{name}`` picks the shape's one by an exact (hashed) key: a request runs the regexes of
#: its own image only, and shapes with equal lists (the same widths …) share one map.
REGEX_FAMILIES: dict[str, tuple[str, str]] = {
    "qc": ('"$h_eff:$h_qn"', '"n"'),
    **{f"r_{p.lower()}": (f"$h_v_{p.lower()}", '""') for p in SIZE_PARAMETERS},
    **{f"rb_{side}": (f"$h_v_{side}", '""') for side in ("width", "height")},
    "answer": ('"$h_eff:$h_qc:$h_r_size"', '""'),
    "box_answer": ('"$h_eff:$h_qc:$h_rb_box"', '""'),
}


def _answer_entries(answers: dict) -> list[tuple[str, str]]:
    """The entries of one shape's answer map (source ``{format}:{quality class}:{unary rank}``):
    ``(format, token, rank or None)`` → ``(file, "WxH", fit)`` as runs: variants with equal
    answers at every rank share their entries (an alternation), and consecutive ranks with one
    answer are one regex (``r{a,b}``); a lone rank of one variant and the no-size answers are
    exact keys. Each (variant, rank) is matched by exactly one entry."""
    columns: dict[tuple[str, str], dict[int, str]] = {}
    entries = []
    for (fmt, token, rank), (file, size, fit) in sorted(answers.items(), key=lambda kv: (kv[0][0], kv[0][1], -1 if kv[0][2] is None else kv[0][2])):
        value = f"{file} {size} {fit}"
        if rank is None:
            entries.append((f"{fmt}:{token}:", value))
        else:
            columns.setdefault((fmt, token), {})[rank] = value
    grouped: dict[tuple, list[str]] = {}
    for variant, column in columns.items():
        runs: list[list] = []
        for rank in sorted(column):
            if runs and runs[-1][2] == column[rank] and runs[-1][1] == rank - 1:
                runs[-1][1] = rank
            else:
                runs.append([rank, rank, column[rank]])
        grouped.setdefault(tuple(tuple(r) for r in runs), []).append(f"{variant[0]}:{variant[1]}")
    for runs, variants in grouped.items():
        prefix = re.escape(variants[0]) if len(variants) == 1 else \
            "(?:" + "|".join(re.escape(v) for v in variants) + ")"
        for low, high, value in runs:
            if low == high and len(variants) == 1:
                entries.append((f"{variants[0]}:{_unary(low)}", value))
            else:
                count = f"{{{low + 1}}}" if low == high else f"{{{low + 1},{high + 1}}}"
                entries.append((f"~^{prefix}:r{count}$", value))
    return entries


def _map_entries(tables: HostingTables) -> dict[str, list[tuple[str, str]]]:
    """Generated entries of the data maps, by map name (see the template). Per image slot one
    ``slot`` line, per owner one ``owner`` line per key (``owner_keys``; users again in
    ``user``), per named item its spellings; everything else is per shape."""
    m: dict = {k: [] for k in (
        "slot", "owner", "user", "eff", "fmt_err", "fmt_name",
        "type_name", "box_exact", "named")}
    per_shape: dict[str, dict[str, list]] = {f: {} for f in REGEX_FAMILIES}
    for key, image_key in sorted(tables.slots.items()):
        m["slot"].append((key, image_key))
    for kind, ids in sorted(tables.owners.items()):
        for low, canonical in sorted(ids.items()):
            m["owner"].append((f"{kind}/{low}", canonical))
            if kind == "Users":
                m["user"].append((f"{kind}/{low}", canonical))
    for spelling, item_id in sorted(tables.named.items()):
        m["named"].append((spelling, item_id))
    for low, name in sorted(tables.format_names.items()):
        m["fmt_name"].append((low, name))
    for low, name in sorted(tables.type_names.items()):
        m["type_name"].append((low, name))
    for t in _shapes(tables):
        k = t.shape
        own = {f: per_shape[f].setdefault(k, []) for f in REGEX_FAMILIES}
        for requested, eff in t.formats.items():
            m["eff"].append((f"{k}:{requested or ''}", eff))
        for requested, message in t.format_errors.items():
            m["fmt_err"].append((f"{k}:{requested or ''}", message))
        for fmt, classes in t.quality_classes.items():
            for token, low, high in classes:
                if low is None:
                    own["qc"].append((f"{fmt}:", token))
                else:
                    alts = [str(v) for v in range(low, high + 1) if v == 0]
                    nonzero = max(low, 1)
                    if nonzero <= high:
                        alts.append(int_range_regex(nonzero, high))
                    own["qc"].append((f"~^{fmt}:(?:{'|'.join(alts)})$", token))
            if len(classes) == 1:   # quality does not matter for this format
                own["qc"].append((f"~^{fmt}:", "n"))
        for param in SIZE_PARAMETERS:
            for low, high, rank in t.ranges[param]:
                own[f"r_{param.lower()}"].append((f"~^(?:{int_range_regex(low, high)})$", _unary(rank)))
        for param in ("width", "height"):
            for low, high, rank in t.box_ranges[param]:
                own[f"rb_{param}"].append((f"~^(?:{int_range_regex(low, high)})$", _unary(rank)))
        own["box_answer"].extend(_answer_entries(t.box_answers))
        for (fmt, token, dims), (file, size, fit) in sorted(t.box_exact_sizes.items()):
            m["box_exact"].append((f"{k}:{fmt}:{token}:{dims}", f"{file} {size} {fit}"))
        own["answer"].extend(_answer_entries(t.answers))
    m["families"] = []
    for family, (source, default) in REGEX_FAMILIES.items():
        distinct: dict[tuple, int] = {}
        dispatch = []
        for shape, entries in per_shape[family].items():
            dispatch.append((shape, distinct.setdefault(tuple(entries), len(distinct))))
        m["families"].append({"name": family, "source": source, "default": default,
                              "tables": [(n, list(entries)) for entries, n in distinct.items()],
                              "dispatch": dispatch})
    return m


def _shape_exceptions(tables: HostingTables, applies) -> list[str]:
    """``{shape}({W}x{H}[:detail],{n} images)`` for each shape where ``applies(table)`` is true
    (a string adds a detail); the images of a shape are the slot map values ending in it."""
    count: dict[str, int] = {}
    for t in tables.images.values():
        count[t.shape] = count.get(t.shape, 0) + 1
    out = []
    for t in _shapes(tables):
        found = applies(t)
        if found:
            detail = f":{found}" if isinstance(found, str) else ""
            out.append(f"{t.shape}({t.width}x{t.height}{detail},{count[t.shape]} images)")
    return out


def render_nginx_config(tables: HostingTables, listen: str = "127.0.0.1:8096", server_name: str = "_") -> str:
    """The nginx configuration text (``map`` blocks and one ``server`` block) for ``tables``;
    to be included in nginx's ``http`` context. ``listen``: nginx ``listen`` value."""
    from werkzeug.exceptions import MethodNotAllowed, RequestedRangeNotSatisfiable
    template = environment(TEMPLATES, escape=False, filters={"q": _q, "comment": _comment}).get_template("nginx.conf.j2")
    method_body = MethodNotAllowed(valid_methods=["GET", "HEAD"]).get_body()
    range_body = RequestedRangeNotSatisfiable().get_body()
    maps = _map_entries(tables)
    largest = max(len(v) for v in maps.values() if isinstance(v, list))
    variables = 400 + sum(len(f["tables"]) + 1 for f in maps["families"])
    return template.render(
        maps=maps, map_hash_max_size=_hash_size(largest, 262144), variables_hash_max_size=_hash_size(variables, 1024), route=route_decision(), root=str(tables.output), listen=listen, server_name=server_name,
        immutable=IMMUTABLE, revalidate=REVALIDATE, size_params=[p.lower() for p in SIZE_PARAMETERS],
        size_names=list(SIZE_PARAMETERS), method_body=method_body, **decoration_maps(),
        range_body=range_body,
        id_chars="".join(sorted(ID_CHARS)), images=len(tables.images), shapes=len(_shapes(tables)),
        types=sorted({(f.mime, f.extension) for f in FORMATS.values()}
                     | {(mime, rel.rsplit(".", 1)[1]) for rel, mime in tables.store.items() if "." in rel}),
        store_extensions="|".join(sorted({re.escape(rel.rsplit(".", 1)[1]) for rel in tables.store if "." in rel})),
        paths={"object": layout.object_file("$h_kind", "$h_owner"),
               "infos": layout.image_infos_file("$h_owner"),
               "useritem": layout.user_item_file("$h_owner", "$h_useritem"),
               "image": layout.store_file("$h_tag", "$h_fname")},
        exceptions={"fill_inexact": _shape_exceptions(tables, lambda t: not t.fill_exact),
                    "upscale_rounding": _shape_exceptions(tables, lambda t: ",".join(t.upscale_rounding)),
                    "case_collisions": tables.case_collisions,
                    "box_inexact": _shape_exceptions(tables, lambda t: not t.box_exact)})


def _hash_size(keys: int, least: int) -> int:
    """An nginx ``*_hash_max_size`` for ``keys`` keys: the power of two ≥ 4 × ``keys`` (so nginx
    finds a table without enlarging its buckets; measured: ``nginx -t`` of the 100,000-item
    library 0.49 → 0.21 s), at least ``least``."""
    size = least
    while size < 4 * keys:
        size *= 2
    return size


def _comment(names, title: str, per_line: int = 40) -> str:
    """``# {title}: a b c`` comment lines, ``per_line`` names each (nginx reads a comment as one
    token and refuses tokens over 4 KB: one line for 10,000 images did not load), or
    ``# {title}: none``."""
    names = list(names)
    if not names:
        return f"# {title}: none"
    return "\n".join(f"# {title}: {' '.join(names[i:i + per_line])}" for i in range(0, len(names), per_line))


def write_nginx_config(output: str | Path, dest: str | Path, listen: str = "127.0.0.1:8096",
                       server_name: str = "_") -> dict:
    """Build the tables for ``output`` and write the config to ``dest`` atomically.

    Returns doit values ``{"lines": n, "images": n}``. Raises like ``build_tables``.
    """
    text = render_nginx_config(build_tables(output), listen, server_name)
    atomic_write_bytes(Path(dest), text.encode())
    return {"lines": text.count("\n")}


def nginx_main_config(site_conf: str | Path, workdir: str | Path, error_log: str = "stderr") -> str:
    """A minimal stand-alone ``nginx.conf`` (foreground, no root privileges needed, every
    temporary path under ``workdir``) that includes the generated ``site_conf``. Used by the
    tests and by ``nginx -p DIR -c nginx.conf`` for a local trial."""
    workdir = Path(workdir)
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {error_log} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {Path(site_conf).resolve()};
}}
"""

"""The build report's charts: data from ``manifest.json`` (``outputs.manifest.Manifest``, and the render times the build
keeps in ``.cache/render-times/``), drawn as inline SVG on the server side, so the page needs
no script, no font and no network to show them.

- ``bytes_by_type_and_format``: published bytes per ImageType, split by format (stacked bars).
- ``render_times``: seconds per source, as a histogram (log-spaced bins) and the slowest ten;
  measured times differ from build to build, so this chart is drawn on
  ``.cache/report/render-times.html`` (linked from the report, never published) and the
  published pages stay byte-identical for the same inputs.
- ``ladder_overshoot``: for the requests real clients send (api-reference §3: jellyfin-web cards
  228×342 and 456×684 at quality 96, backdrops at 1280 and 1920 wide at quality 80, chapters 800
  wide, logos 40 high and at most 220 high, login avatars 300 wide), which precomputed file
  serve.py would answer (``serve.selection.select``, the same rule) and how many more pixels it
  has than the client asked for: ``served pixels / requested pixels`` per image, grouped as
  exact, ≤ 1.25×, ≤ 2×, > 2×, or smaller than asked (nothing covers: the largest). At most
  ``SAMPLE`` images per request kind are evaluated (every n-th, so a large library stays quick;
  the chart says so).

Every function returns ``Chart(title, svg, note)``: ``svg`` is a complete ``<svg>`` element
(``markupsafe.Markup``), sized in CSS pixels, with ``<title>`` tooltips giving exact values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from pipeline.model import layout
from pipeline.model.imagetypes import IMAGE_TYPES
from pipeline.outputs.manifest import ImageEntry, Manifest
from pipeline.model.sizing import SizeRequest

#: Bar colours (Tableau 10), one per format / bucket; the screenshot test looks for them.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
SAMPLE = 2000
RENDER_TIMES_DIR = f"{layout.CACHE_DIR}/render-times"

#: (label, ImageType, size request, quality): what real clients ask for (api-reference §3).
CLIENT_REQUESTS = (
    ("card 228×342 q96", "Primary", SizeRequest(fillWidth=228, fillHeight=342), 96),
    ("card HiDPI 456×684 q96", "Primary", SizeRequest(fillWidth=456, fillHeight=684), 96),
    ("avatar width 300", "Primary", SizeRequest(width=300), 90),
    ("backdrop 1280 q80", "Backdrop", SizeRequest(maxWidth=1280), 80),
    ("backdrop 1920 q80", "Backdrop", SizeRequest(maxWidth=1920), 80),
    ("chapter 800 q90", "Chapter", SizeRequest(maxWidth=800), 90),
    ("card logo height 40", "Logo", SizeRequest(height=40), 90),
    ("logo max height 220", "Logo", SizeRequest(maxHeight=220), 90),
)
OVERSHOOT_BUCKETS = ("exact", "≤ 1.25×", "≤ 2×", "> 2×", "smaller (largest)")


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    note: str = ""


def render_time_file(tag: str) -> str:
    """``.cache/render-times/{tag}.json``: ``{"seconds": float, "source": relpath}``, written
    by the build's render task (kept out of ``images/``: published output stays byte-identical)."""
    return f"{RENDER_TIMES_DIR}/{tag}.json"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
                  f'font-family="sans-serif" font-size="11">' + "".join(body) + "</svg>")


def _text(x, y, text, anchor="start", fill="#333", weight="normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{escape(text)}</text>')


def _rect(x, y, w, h, fill, tip) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}">'
            f'<title>{escape(tip)}</title></rect>')


def stacked_bars(rows: list[tuple[str, dict[str, float]]], keys: list[str], label: str,
                 fmt=lambda v: f"{v:g}", width: int = 760) -> Markup:
    """Horizontal stacked bars: ``rows`` of (label, {key: value}), segments in ``keys`` order,
    a legend on top; the total at the end of each bar."""
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    left = min(320, max([110] + [int(6.3 * len(name)) + 12 for name, _ in rows]))
    right, bar, gap, top = 90, 16, 6, 26
    total_max = max((sum(v.values()) for _, v in rows), default=0) or 1
    scale = (width - left - right) / total_max
    body, x = [], left
    for k in keys:     # legend
        body.append(_rect(x, 6, 10, 10, colors[k], k))
        body.append(_text(x + 14, 15, k))
        x += 24 + 7 * len(k)
    y = top
    for name, values in rows:
        body.append(_text(left - 6, y + bar - 4, name, anchor="end"))
        x = left
        for k in keys:
            v = values.get(k, 0)
            if v:
                body.append(_rect(x, y, v * scale, bar, colors[k], f"{name}, {k}: {fmt(v)}"))
                x += v * scale
        body.append(_text(x + 4, y + bar - 4, fmt(sum(values.values()))))
        y += bar + gap
    return _svg(width, y + 4, body, label)


def bytes_by_type_and_format(data: Manifest) -> Chart:
    """Published bytes per ImageType (rows, in Jellyfin's enum order) and format (segments)."""
    table: dict[str, dict[str, float]] = {}
    formats: dict[str, None] = {}
    for image in data.images.values():
        row = table.setdefault(image.type, {})
        for f in image.files:
            fmt = "original" if f.derivative.original else f.derivative.format
            formats.setdefault(fmt)
            row[fmt] = row.get(fmt, 0) + f.bytes
    order = [t for t in IMAGE_TYPES if t in table] + sorted(t for t in table if t not in IMAGE_TYPES)
    keys = sorted(formats, key=lambda f: (f != "original", f))
    rows = [(t, table[t]) for t in order]
    svg = stacked_bars(rows, keys, "bytes by ImageType and format", fmt=_mb)
    return Chart("Bytes by ImageType and format", svg,
                 "" if rows else "no images")


def read_render_times(output: Path, tags) -> dict[str, dict]:
    """``{tag: {"seconds", "source"}}`` for the tags that have a render-time file."""
    out = {}
    folder = output / RENDER_TIMES_DIR
    if not folder.is_dir():
        return out
    for tag in tags:
        try:
            out[tag] = json.loads((folder / f"{tag}.json").read_bytes())
        except (OSError, ValueError):
            continue
    return out


def render_times(times: dict[str, dict], width: int = 760) -> Chart:
    """A histogram of render seconds per source (log-spaced bins) and the slowest ten sources."""
    seconds = [t["seconds"] for t in times.values() if isinstance(t.get("seconds"), (int, float))]
    if not seconds:
        return Chart("Render time per source", Markup(""),
                     "no render times recorded yet (they are kept from the next build that renders)")
    edges = [0, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf]
    counts = [0] * (len(edges) - 1)
    for s in seconds:
        counts[next(i for i in range(len(counts)) if s < edges[i + 1])] += 1
    names = [f"< {edges[i + 1]:g} s" if edges[i + 1] != math.inf else f"≥ {edges[i]:g} s"
             for i in range(len(counts))]
    left, bar, gap = 170, 16, 6
    scale = (width - left - 90) / max(counts)
    body, y = [_text(0, 14, f"{len(seconds)} sources, {sum(seconds):.1f} s in all, "
                            f"median {sorted(seconds)[len(seconds) // 2]:.3f} s", weight="bold")], 24
    for name, count in zip(names, counts):
        body.append(_text(left - 6, y + bar - 4, name, anchor="end"))
        body.append(_rect(left, y, count * scale, bar, PALETTE[0], f"{name}: {count} source(s)"))
        body.append(_text(left + count * scale + 4, y + bar - 4, str(count)))
        y += bar + gap
    slowest = sorted(times.values(), key=lambda t: -t.get("seconds", 0))[:10]
    y += 10
    body.append(_text(0, y + 10, "slowest sources", weight="bold"))
    y += 18
    top = slowest[0]["seconds"] or 1
    for t in slowest:
        source = str(t.get("source", "?"))
        short = source if len(source) <= 28 else "…" + source[-27:]
        body.append(_text(left - 6, y + bar - 4, short, anchor="end"))
        body.append(_rect(left, y, t["seconds"] / top * (width - left - 90), bar, PALETTE[1],
                          f"{source}: {t['seconds']:.3f} s"))
        body.append(_text(left + t["seconds"] / top * (width - left - 90) + 4, y + bar - 4,
                          f"{t['seconds']:.3f} s"))
        y += bar + gap
    return Chart("Render time per source", _svg(width, y + 4, body, "render time per source"))


def ladder_overshoot(data: Manifest, sample: int = SAMPLE) -> Chart:
    """How far the served file overshoots what each kind of client request asks for (module doc)."""
    from pipeline.serve.selection import FormatNotAvailable, select   # the rule serve.py applies
    from pipeline.model.sizing import output_size
    by_type: dict[str, list[ImageEntry]] = {}
    for image in data.images.values():
        by_type.setdefault(image.type, []).append(image)
    rows, notes = [], []
    for label, image_type, size, quality in CLIENT_REQUESTS:
        images = by_type.get(image_type, [])
        if not images:
            continue
        step = max(1, math.ceil(len(images) / sample))
        picked = images[::step]
        if step > 1:
            notes.append(f"{label}: {len(picked)} of {len(images)} images")
        counts = dict.fromkeys(OVERSHOOT_BUCKETS, 0)
        ratios = []
        for image in picked:
            try:
                choice = select(list(image.derivatives), image.width, image.height, image.format, size,
                                None, quality, image.quality)
            except (FormatNotAvailable, ValueError):
                continue
            w, h = output_size(image.width, image.height, size)
            ratio = choice.derivative.width * choice.derivative.height / max(1, w * h)
            ratios.append(ratio)
            if choice.fit == "exact" or abs(ratio - 1) < 1e-9:
                counts["exact"] += 1
            elif ratio < 1:
                counts["smaller (largest)"] += 1
            elif ratio <= 1.25:
                counts["≤ 1.25×"] += 1
            elif ratio <= 2:
                counts["≤ 2×"] += 1
            else:
                counts["> 2×"] += 1
        if ratios:
            median = sorted(ratios)[len(ratios) // 2]
            rows.append((f"{label} (median {median:.2f}×)", counts))
    if not rows:
        return Chart("Ladder overshoot against client requests", Markup(""),
                     "no images of the types clients ask for")
    svg = stacked_bars(rows, list(OVERSHOOT_BUCKETS), "ladder overshoot", fmt=lambda v: f"{v:g} images",
                       width=860)
    note = "served pixels ÷ requested pixels, per image" + (f"; sampled: {'; '.join(notes)}" if notes else "")
    return Chart("Ladder overshoot against client requests", svg, note)


def charts(data: Manifest) -> list[Chart]:
    """The charts of ``index.html``, in page order (``data``: the typed manifest). They depend
    on the manifest alone, so the published report stays byte-identical across builds."""
    return [bytes_by_type_and_format(data), ladder_overshoot(data)]


def timing_chart(output: Path, data: Manifest) -> Chart:
    """The render-time chart, from this machine's ``.cache/render-times`` (not deterministic,
    so the report puts it on a page under ``.cache/``, which is never published)."""
    return render_times(read_render_times(output, data.images))

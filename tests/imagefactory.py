"""Small test inputs made on the fly, shared by the unit tests.

- Images (Pillow): encoded bytes and files, so a test can say exactly what its source looks like
  (size, mode, EXIF orientation, ICC profile, corner colour).
- ICC profiles assembled byte by byte (the machine has none besides Pillow's sRGB).
- ``fake_plan``: a ``Library`` of ``Owner`` objects and a ``BuildPlan`` built from hand-made
  ``Probe`` values, without any file (for inheritance and object tests).
"""

import struct
from io import BytesIO
from pathlib import Path

from PIL import Image

ORIENTATION_TAG = 0x0112

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def solid(size=(8, 6), mode="RGB", color=None) -> Image.Image:
    """A plain image of ``size`` in ``mode`` (default colour: a mid grey-ish value per mode)."""
    if color is None:
        color = {"RGB": (120, 60, 30), "RGBA": (120, 60, 30, 255), "L": 100, "LA": (100, 255),
                 "CMYK": (0, 255, 255, 0), "P": 1, "1": 1, "I;16": 40000}.get(mode, 0)
    return Image.new(mode, size, color)


def marked(size=(40, 20), corner=RED, rest=BLUE, block=10) -> Image.Image:
    """An RGB image of ``rest`` colour with a ``block``×``block`` square of ``corner`` at the
    stored top-left: after an EXIF rotation the square shows where that corner went."""
    image = Image.new("RGB", size, rest)
    image.paste(corner, (0, 0, block, block))
    return image


def encode(image: Image.Image, fmt="PNG", *, orientation=None, icc=None, **options) -> bytes:
    """Encode ``image`` as ``fmt`` bytes, with an EXIF ``orientation`` and/or ``icc`` profile."""
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        options["exif"] = exif.tobytes()
    if icc is not None:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        options.setdefault("quality", 95)
    buffer = BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(size=(8, 6), color=(120, 60, 30), **kw) -> bytes:
    """A solid RGB JPEG (quality 95 unless given)."""
    return encode(solid(size, "RGB", color), "JPEG", **kw)


def png(size=(8, 6), mode="RGB", color=None, **kw) -> bytes:
    """A solid PNG in ``mode``."""
    return encode(solid(size, mode, color), "PNG", **kw)


def palette_with_transparency(size=(8, 6)) -> bytes:
    """A ``P`` PNG: palette index 0 transparent (left half), index 1 opaque red (right half)."""
    image = Image.new("P", size, 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (size[0] // 2, 0, size[0], size[1]))
    return encode(image, "PNG", transparency=0)


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (parents created) and return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def dominant(pixel) -> str:
    """``"red"``, ``"green"`` or ``"blue"``: the strongest channel of an RGB(A) pixel (JPEG-safe)."""
    r, g, b = pixel[:3]
    return {r: "red", g: "green", b: "blue"}[max(r, g, b)]


# --- ICC profiles ------------------------------------------------------------------------------
# Pillow can only *create* sRGB, LAB and XYZ profiles and the machine has no .icc files, so a
# minimal ICC v2 matrix/TRC RGB display profile is assembled here byte by byte.

#: sRGB primaries adapted to D50 (the ICC PCS), i.e. the rXYZ/gXYZ/bXYZ tags of sRGB.
SRGB_D50_PRIMARIES = {
    "r": (0.4361, 0.2225, 0.0139),
    "g": (0.3851, 0.7169, 0.0971),
    "b": (0.1431, 0.0606, 0.7141),
}
_D50 = (0.9642, 1.0, 0.8249)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x, y, z) -> bytes:
    return b"XYZ " + bytes(4) + _s15f16(x) + _s15f16(y) + _s15f16(z)


def _curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def _desc(text: str) -> bytes:
    ascii_ = text.encode() + b"\0"
    return (b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + bytes(67))


def rgb_icc_profile(red, green, blue, gamma=2.2, name="test RGB") -> bytes:
    """An ICC v2 RGB display profile with the given colorants (D50 XYZ) and a pure gamma TRC."""
    tags = [
        (b"desc", _desc(name)),
        (b"cprt", b"text" + bytes(4) + b"public domain\0"),
        (b"wtpt", _xyz(*_D50)),
        (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*blue)),
        (b"rTRC", _curve(gamma)), (b"gTRC", _curve(gamma)), (b"bTRC", _curve(gamma)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + bytes(4) + bytes([2, 0x10, 0, 0])
              + b"mntr" + b"RGB " + b"XYZ " + bytes(12) + b"acsp" + bytes(28)
              + b"".join(_s15f16(v) for v in _D50) + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def swapped_red_blue_profile() -> bytes:
    """An RGB profile whose red channel is sRGB's blue primary and vice versa: a pixel stored
    as pure red (255, 0, 0) *means* pure blue, so a colour-managed decode must turn it blue."""
    p = SRGB_D50_PRIMARIES
    return rgb_icc_profile(p["b"], p["g"], p["r"], name="swapped red/blue")


def linear_srgb_profile() -> bytes:
    """sRGB primaries with a linear (gamma 1.0) TRC: stored grey 128 is sRGB ≈ 188."""
    p = SRGB_D50_PRIMARIES
    return rgb_icc_profile(p["r"], p["g"], p["b"], gamma=1.0, name="linear sRGB")


def srgb_profile() -> bytes:
    """Pillow's built-in sRGB profile as ICC bytes."""
    from PIL import ImageCms
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- fake libraries and plans --------------------------------------------------------------------

def fake_probe(name: str, width: int = 1000, height: int = 1500, format: str = "Jpg"):
    """A successful ``Probe`` whose md5, size and blurhash derive from ``name`` (distinct per name)."""
    import hashlib
    from pipeline.plan.probe import Probe
    return Probe(md5=hashlib.md5(name.encode()).hexdigest(), size=100 + len(name), width=width,
                 height=height, format=format, alpha=False, blurhash=f"BH:{name}")


def fake_plan(items: dict, users: dict | None = None, probes: dict | None = None, settings=None):
    """Build a ``BuildPlan`` from a spec, without files.

    ``items``: ``{id: (type, parent, {ImageType: name or [names]})}``; ``users``: ``{id: {ImageType:
    name}}``. A name starting with ``bad`` gets a failed probe; ``probes`` may give the ``Probe`` of
    a name (default: ``fake_probe(name)``). Paths are ``/lib/<name>``; owner names are the ids
    title-cased. Settings default to one small profile for every type (Original + Jpg, q90,
    maxWidth 320, no variants).
    """
    from pipeline.catalog.loader import ImageSlot, Library, Owner
    from pipeline.plan.planner import make_plan
    from pipeline.plan.probe import Probe
    from pipeline.catalog.settings import parse_settings

    settings = settings or parse_settings({"formats": ["Original", "Jpg"], "qualities": [90],
                                           "sizes": [{"maxWidth": 320}]})
    probes = dict(probes or {})
    root = Path("/lib")
    found = {}

    def owner(kind, owner_id, type_, parent, images):
        slots = {}
        for image_type, names in images.items():
            names = names if isinstance(names, list) else [names]
            slots[image_type] = [ImageSlot(image_type, i, root / n, n) for i, n in enumerate(names)]
            for n in names:
                if n.startswith("bad"):
                    found[root / n] = Probe(md5="0" * 32, size=3, error=f"not an image: {n}")
                else:
                    found[root / n] = probes.get(n) or fake_probe(n)
        return Owner(kind, owner_id, owner_id.title(), type_, parent, slots)

    item_owners = {i: owner("Items", i, t, p, imgs) for i, (t, p, imgs) in items.items()}
    user_owners = {u: owner("Users", u, "User", None, imgs) for u, imgs in (users or {}).items()}
    library = Library(root / "catalog.yaml", root, settings, item_owners, user_owners)
    return make_plan(library, found)

"""The default catalog.yaml is a complete sample library (issue #2 §1)."""

from PIL import Image

from conftest import ROOT
from pipeline.catalog.loader import load_catalog
from pipeline.model.imagetypes import IMAGE_TYPES


def test_default_catalog_covers_every_case():
    library = load_catalog(ROOT / "catalog.yaml")
    slots = [s for owner in library.owners() for s in owner.slots()]
    assert {s.image_type for s in slots} == set(IMAGE_TYPES)
    types = [item.type for item in library.items.values()]
    assert {"Series", "Season", "Episode", "Movie"} <= set(types)
    assert library.users
    multi = [o for o in library.items.values() if len(o.images.get("Backdrop", [])) > 1]
    assert multi, "an item with several backdrops"
    assert any("Backdrop" not in o.images for o in library.items.values() if o.parent), "an item that inherits"
    modes = {}
    for s in slots:
        with Image.open(s.path) as im:
            modes[s.relpath] = (im.mode, im.size, "icc_profile" in im.info)
    assert ("LA", (1920, 1200), False) in modes.values()                 # grey + alpha PNG
    assert any(m == "RGBA" for m, _, _ in modes.values())                # transparent logo/art
    assert ("RGB", (6000, 4000), True) in modes.values()                 # 6000x4000 JPEG with ICC
    assert all((ROOT / "media" / "SOURCES.md").read_text().count(p.split("/")[-1]) for p in modes)

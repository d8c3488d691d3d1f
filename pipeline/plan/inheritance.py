"""Which parent images an item inherits: Jellyfin's ``DtoService.AddInheritedImages``.

Source: seed 000 "Image Inheritance" (Logo, Art, Backdrop) and api-reference §2. Walk the
ancestors nearest first (Episode → Season → Series):

- Logo, Art: the nearest ancestor that has one → ``ParentLogoItemId``/``ParentLogoImageTag``,
  ``ParentArtItemId``/``ParentArtImageTag``.
- Thumb: the nearest ancestor that has one, except that a Series' thumb overrides a Season's →
  ``ParentThumbItemId``/``ParentThumbImageTag``.
- Backdrop: only when the item has none; the nearest ancestor with backdrops →
  ``ParentBackdropItemId`` and all of its ``ParentBackdropImageTags``.
- Primary: Episode → ``ParentPrimaryImageItemId``/``ParentPrimaryImageTag`` (the Season's, else
  the Series'). ``SeriesPrimaryImageTag``/``SeriesThumbImageTag`` for Episodes and Seasons,
  ``AlbumPrimaryImageTag`` for Audio (these are set even when the item has its own image).
- ``Parent*`` fields only for a type the item lacks itself; a Series inherits nothing, and the
  walk stops at the first Series (folders above it do not count).
"""

from pipeline.catalog.loader import Library, Owner, ancestors
from pipeline.plan.planner import BuildPlan


def inherited_fields(plan: BuildPlan, item: Owner) -> dict[str, object]:
    """The ``Parent*``/``Series*``/``Album*`` fields of ``item``'s ``BaseItemDto``, by name.

    Values: item ids (str), tags (32 hex) and, for backdrops, a list of tags. Only images whose
    source was planned count (a failed source is as if absent).
    """
    if item.type == "Series":
        return {}
    library: Library = plan.library
    parents = ancestors(library, item)
    for i, parent in enumerate(parents):   # Jellyfin stops at the Series: nothing above it counts
        if parent.type == "Series":
            parents = parents[: i + 1]
            break

    def own(owner: Owner, image_type: str) -> list[str]:
        return plan.tags_of("Items", owner.id, image_type)

    fields: dict[str, object] = {}
    for image_type in ("Logo", "Art"):
        if own(item, image_type):
            continue
        for parent in parents:
            if tags := own(parent, image_type):
                fields[f"Parent{image_type}ItemId"] = parent.id
                fields[f"Parent{image_type}ImageTag"] = tags[0]
                break

    if not own(item, "Thumb"):
        chosen = None
        for parent in parents:
            if own(parent, "Thumb") and (chosen is None or parent.type == "Series"):
                chosen = parent
        if chosen is not None:
            fields["ParentThumbItemId"] = chosen.id
            fields["ParentThumbImageTag"] = own(chosen, "Thumb")[0]

    if not own(item, "Backdrop"):
        for parent in parents:
            if tags := own(parent, "Backdrop"):
                fields["ParentBackdropItemId"] = parent.id
                fields["ParentBackdropImageTags"] = tags
                break

    series = next((p for p in parents if p.type == "Series"), None)
    season = next((p for p in parents if p.type == "Season"), None)
    if item.type in ("Episode", "Season") and series is not None:
        if tags := own(series, "Primary"):
            fields["SeriesPrimaryImageTag"] = tags[0]
        if tags := own(series, "Thumb"):
            fields["SeriesThumbImageTag"] = tags[0]
    if item.type == "Episode" and not own(item, "Primary"):
        for parent in (season, series):
            if parent is not None and (tags := own(parent, "Primary")):
                fields["ParentPrimaryImageItemId"] = parent.id
                fields["ParentPrimaryImageTag"] = tags[0]
                break
    if item.type == "Audio":
        album = next((p for p in parents if p.type == "MusicAlbum"), None)
        if album is not None and (tags := own(album, "Primary")):
            fields["AlbumPrimaryImageTag"] = tags[0]
    return fields

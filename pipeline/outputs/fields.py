"""The identity and hierarchy fields of a ``BaseItemDto`` that clients read to build image URLs.

Source: Jellyfin's ``MediaBrowser.Model/Dto/BaseItemDto.cs`` and ``DtoService`` (which fields an
item of each type carries), and the clients' image code (tests/clients.py names the file of
each): jellyfin-web and jellyfin-vue take ``SeriesId`` with ``SeriesPrimaryImageTag``/
``SeriesThumbImageTag``, Findroid and Swiftfin ``SeriesId``, Finamp and jellyfin-androidtv
``AlbumId`` with ``AlbumPrimaryImageTag``, jellyfin-web checks ``ChildCount`` and ``IsFolder``,
jellyfin-kodi ``SeriesId``. Every id is the published GUID (``pipeline.model.ids``).

- ``Id``, ``ServerId``, ``IsFolder``, ``ParentId`` (the catalog parent), ``IndexNumber`` and
  ``ParentIndexNumber`` (catalog keys; an Episode's ``ParentIndexNumber`` defaults to its
  Season's ``IndexNumber``), ``ChildCount`` for folders (direct children in the catalog);
- Episode and Season: ``SeriesId``/``SeriesName`` (the nearest Series ancestor); Episode:
  ``SeasonId``/``SeasonName`` (the nearest Season);
- Audio: ``AlbumId``/``Album`` (the nearest MusicAlbum); Audio and MusicAlbum:
  ``AlbumArtist``, ``AlbumArtists`` and ``ArtistItems`` (``[{Name, Id}]``, Jellyfin's
  ``NameGuidPair``) from the nearest MusicArtist ancestor.
"""

from pipeline.catalog.loader import Library, Owner, ancestors
from pipeline.model.ids import SERVER_ID

#: Item types that are folders in Jellyfin (``BaseItem.IsFolder``: ``Folder`` subclasses).
FOLDER_TYPES = frozenset({
    "AggregateFolder", "BoxSet", "Channel", "CollectionFolder", "Folder", "Genre", "MusicAlbum",
    "MusicArtist", "MusicGenre", "PhotoAlbum", "Playlist", "Season", "Series", "Studio",
})

#: Fields whose value is an item id (catalog id inside the build, GUID when published).
ID_FIELDS = ("ParentLogoItemId", "ParentArtItemId", "ParentThumbItemId", "ParentBackdropItemId",
             "ParentPrimaryImageItemId")


def item_fields(library: Library, item: Owner) -> dict:
    """``{Id, ServerId, IsFolder, ParentId?, IndexNumber?, ParentIndexNumber?, ChildCount?,
    SeriesId?, SeriesName?, SeasonId?, SeasonName?, AlbumId?, Album?, AlbumArtist?,
    AlbumArtists?, ArtistItems?}`` of ``item``; ids are GUIDs, absent values are left out."""
    fields: dict = {"Id": item.guid, "ServerId": SERVER_ID, "IsFolder": item.type in FOLDER_TYPES}
    if item.parent:
        fields["ParentId"] = library.items[item.parent].guid
    parents = ancestors(library, item)
    season = next((p for p in parents if p.type == "Season"), None)
    if item.index_number is not None:
        fields["IndexNumber"] = item.index_number
    parent_index = item.parent_index_number
    if parent_index is None and item.type == "Episode" and season is not None:
        parent_index = season.index_number
    if parent_index is not None:
        fields["ParentIndexNumber"] = parent_index
    if fields["IsFolder"]:
        fields["ChildCount"] = sum(1 for other in library.items.values() if other.parent == item.id)
    if item.type in ("Episode", "Season"):
        series = next((p for p in parents if p.type == "Series"), None)
        if series is not None:
            fields["SeriesName"], fields["SeriesId"] = series.name, series.guid
        if item.type == "Episode" and season is not None:
            fields["SeasonId"], fields["SeasonName"] = season.guid, season.name
    if item.type == "Audio":
        album = next((p for p in parents if p.type == "MusicAlbum"), None)
        if album is not None:
            fields["AlbumId"], fields["Album"] = album.guid, album.name
    if item.type in ("Audio", "MusicAlbum"):
        artist = next((p for p in parents if p.type == "MusicArtist"), None)
        if artist is not None:
            pair = {"Name": artist.name, "Id": artist.guid}
            fields["AlbumArtist"] = artist.name
            fields["AlbumArtists"] = [pair]
            fields["ArtistItems"] = [pair]
    return fields


def published_ids(library: Library, inherited: dict) -> dict:
    """``inherited`` (``plan.inheritance.inherited_fields``) with its ``…ItemId`` values turned
    from catalog ids into the GUIDs clients see."""
    return {name: library.items[value].guid if name in ID_FIELDS else value
            for name, value in inherited.items()}

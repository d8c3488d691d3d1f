"""The image URLs nine real clients build, as recipes: one per (client, screen, device).

Each recipe names the client, the file of its public repository the URL shape comes from, the
device it assumes, the catalog item whose object the client reads, and a function that builds
the URL from that object exactly as the client's code does (which fields it reads, which
query parameters it sends, in which case and order). The sizes are the clients' defaults on
these devices (issue 9):

- ``desktop1``/``desktop2``: a 1920×1080 browser window at devicePixelRatio 1 and 2;
- ``phone3``: a phone 360 dp wide at density 3 (1080 px);
- ``tv``: a 1080p TV (Android TV at density 2; Kodi, tvOS at scale 1).

Used by tests/test_clients.py (serve.py and nginx) and bench/clients.py (served size against
Jellyfin's, ``pipeline.model.sizing``). The clients' code was read at these commits of their
default branches (August 2026): jellyfin-web f330b7bc, jellyfin-vue a40a41dc, jellyfin-kodi
da730bb6, jellyfin-apiclient-python b2ec0a9, finamp 34d696b0, Swiftfin 3944680c, findroid
b9faf8eb, jellyfin-androidtv 5fefe772, Emby.ApiClient.Javascript fdd0939 and
emby-webcomponents 3604ebd6^ (its last commit with cardbuilder/).
"""

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Recipe:
    """One URL a client builds. ``item``: catalog id of the object read (``user`` for a user);
    ``url(dto)``: the path and query from that object (``/Items/…`` or ``/Users/…``);
    ``fields``: the object fields the URL reads."""

    client: str
    source: str
    what: str
    device: str
    item: str
    url: Callable[[dict], str]
    fields: tuple[str, ...]
    user: bool = False

    @property
    def name(self) -> str:
        return f"{self.client}: {self.what} ({self.device})"


def dashed(guid: str) -> str:
    """A 32-hex id as a Kotlin/Java ``UUID.toString()`` writes it (8-4-4-4-12)."""
    return f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"


# --- jellyfin-web ------------------------------------------------------------------------------
# Card width: cardBuilder.js getImageWidth = round(screenWidth / postersPerRow) with
# builder.ts postersPerRowOverflowPortrait (landscape ≥ 1700: 100/11.6) → 223 at 1920;
# overflowBackdrop (landscape ≥ 1700: 100/18.5) → 355. url.ts: height = width / the item's
# PrimaryImageAspectRatio (else the shape's aspect: portrait 2/3, backdrop 16/9), then
# fillWidth = ceil(width × dpr), fillHeight = ceil(height × dpr), quality=96, tag.
WEB_CARD = "jellyfin/jellyfin-web src/components/cardbuilder/utils/url.ts getCardImageUrl"


def _web_card(item_id, image_type, tag, width, aspect, dpr):
    height = width / aspect
    return (f"/Items/{item_id}/Images/{image_type}?fillHeight={math.ceil(height * dpr)}"
            f"&fillWidth={math.ceil(width * dpr)}&quality=96&tag={tag}")


def _web_recipes(dpr: int, device: str) -> list[Recipe]:
    return [
        Recipe("jellyfin-web", WEB_CARD, "series poster card", device, "nature-series",
               lambda d: _web_card(d["Id"], "Primary", d["ImageTags"]["Primary"], 223,
                                   d["PrimaryImageAspectRatio"], dpr),
               ("Id", "ImageTags", "PrimaryImageAspectRatio")),
        Recipe("jellyfin-web", WEB_CARD, "season card without a poster (series poster)", device, "nature-s2",
               lambda d: _web_card(d["SeriesId"], "Primary", d["SeriesPrimaryImageTag"], 223, 2 / 3, dpr),
               ("SeriesId", "SeriesPrimaryImageTag")),
        Recipe("jellyfin-web", WEB_CARD, "next-up episode thumb (series thumb)", device, "nature-s1e1",
               lambda d: _web_card(d["SeriesId"], "Thumb", d["SeriesThumbImageTag"], 355, 16 / 9, dpr),
               ("SeriesId", "SeriesThumbImageTag")),
        # utils/jellyfin-apiclient/backdropImage.ts getItemBackdropImageUrl with
        # maxWidth = dom.getScreenWidth() (1920); jellyfin-apiclient normalizeImageOptions
        # multiplies by devicePixelRatio and adds getDefaultImageQuality (Backdrop 80).
        Recipe("jellyfin-web", "jellyfin/jellyfin-web src/utils/jellyfin-apiclient/backdropImage.ts",
               "detail page backdrop", device, "painting-movie",
               lambda d: f"/Items/{d['Id']}/Images/Backdrop/0?tag={d['BackdropImageTags'][0]}"
                         f"&maxWidth={1920 * dpr}&quality=80",
               ("Id", "BackdropImageTags")),
        Recipe("jellyfin-web", "jellyfin/jellyfin-web src/utils/jellyfin-apiclient/backdropImage.ts",
               "episode detail backdrop (parent's)", device, "nature-s1e1",
               lambda d: f"/Items/{d['ParentBackdropItemId']}/Images/Backdrop/0"
                         f"?tag={d['ParentBackdropImageTags'][0]}&maxWidth={1920 * dpr}&quality=80",
               ("ParentBackdropItemId", "ParentBackdropImageTags")),
        # itemDetails/index.js logoImageUrl: no size; normalizeImageOptions adds quality=90
        Recipe("jellyfin-web", "jellyfin/jellyfin-web src/apps/legacy/controllers/itemDetails/index.js logoImageUrl",
               "detail page logo (inherited)", device, "nature-s1e1",
               lambda d: f"/Items/{d['ParentLogoItemId']}/Images/Logo?tag={d['ParentLogoImageTag']}&quality=90",
               ("ParentLogoItemId", "ParentLogoImageTag")),
        # listview.js getImageUrl: fillWidth = fillHeight = 80 (× dpr), quality 90
        Recipe("jellyfin-web", "jellyfin/jellyfin-web src/components/listview/listview.js getImageUrl",
               "list view episode image", device, "nature-s1e1",
               lambda d: f"/Items/{d['Id']}/Images/Primary?fillWidth={80 * dpr}&fillHeight={80 * dpr}"
                         f"&tag={d['ImageTags']['Primary']}&quality=90",
               ("Id", "ImageTags")),
    ]


# --- jellyfin-vue: utils/images.ts getImageInfo → getItemImageUrl: no size, no tag,
# quality=90 and format=Webp (imageDefaultOptions) ------------------------------------------------
VUE = "jellyfin/jellyfin-vue packages/frontend/src/utils/images.ts getImageInfo"

VUE_RECIPES = [
    Recipe("jellyfin-vue", VUE, "series poster card", "desktop1", "nature-series",
           lambda d: f"/Items/{d['Id']}/Images/Primary?quality=90&format=Webp", ("Id", "ImageTags")),
    Recipe("jellyfin-vue", VUE, "season card without a poster (series poster)", "desktop1", "nature-s2",
           lambda d: f"/Items/{d['SeriesId']}/Images/Primary?quality=90&format=Webp",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("jellyfin-vue", VUE, "backdrop", "desktop1", "nature-series",
           lambda d: f"/Items/{d['Id']}/Images/Backdrop?quality=90&format=Webp", ("Id", "BackdropImageTags")),
]

# --- jellyfin-kodi: helper/api.py get_all_artwork/get_artwork with the default settings
# (compressArt false, enableCoverArt true, maxArtResolution 5 = no limit); obj_map.json ArtworkParent
KODI = "jellyfin/jellyfin-kodi jellyfin_kodi/helper/api.py get_all_artwork"

KODI_RECIPES = [
    Recipe("jellyfin-kodi", KODI, "tvshow.poster of an episode", "tv", "nature-s1e1",
           lambda d: f"/Items/{d['SeriesId']}/Images/Primary/0?Format=original&Tag={d['SeriesPrimaryImageTag']}",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("jellyfin-kodi", KODI, "fanart of an episode (parent backdrop)", "tv", "nature-s1e1",
           lambda d: f"/Items/{d['ParentBackdropItemId']}/Images/Backdrop/0?Format=original"
                     f"&Tag={d['ParentBackdropImageTags'][0]}",
           ("ParentBackdropItemId", "ParentBackdropImageTags")),
    Recipe("jellyfin-kodi", KODI, "clearlogo of a movie", "tv", "painting-movie",
           lambda d: f"/Items/{d['Id']}/Images/Logo/0?Format=original&Tag={d['ImageTags']['Logo']}",
           ("Id", "ImageTags")),
    Recipe("jellyfin-kodi", "jellyfin/jellyfin-kodi jellyfin_kodi/helper/api.py get_people_artwork",
           "cast member thumb", "tv", "jasper-roks",
           lambda d: f"/Items/{d['Id']}/Images/Primary/0?Format=original&Tag={d['ImageTags']['Primary']}"
                     f"&MaxWidth=400&MaxHeight=400&Index=0",
           ("Id", "ImageTags")),
    Recipe("jellyfin-kodi", "jellyfin/jellyfin-kodi jellyfin_kodi/helper/api.py get_user_artwork",
           "user picture", "tv", "alice",
           lambda d: f"/Users/{d['Id']}/Images/Primary?Format=original", ("Id",), user=True),
]

# --- jellyfin-apiclient-python: api.py artwork() and image_url() ------------------------------
PY = "jellyfin/jellyfin-apiclient-python jellyfin_apiclient_python/api.py"

PY_RECIPES = [
    Recipe("jellyfin-apiclient-python", PY + " artwork", "backdrop 1 as jpg", "desktop1", "nature-series",
           lambda d: f"/items/{d['Id']}/images/Backdrop/1?MaxWidth=700&format=jpg", ("Id",)),
    Recipe("jellyfin-apiclient-python", PY + " image_url", "primary image", "desktop1", "painting-movie",
           lambda d: f"/Items/{d['Id']}/Images/Primary?quality=90&maxWidth=300&tag={d['ImageTags']['Primary']}",
           ("Id", "ImageTags")),
]

# --- Finamp: jellyfin_api_helper.dart getImageUrl (format=jpg, quality=90, MaxWidth/MaxHeight =
# the layout box × devicePixelRatio, album_image.dart); the id is jellyfin_models.dart imageId:
# own Primary → Id, else ParentPrimaryImageItemId, else AlbumId (with AlbumPrimaryImageTag).
FINAMP = "jmshrv/finamp lib/services/jellyfin_api_helper.dart getImageUrl"


def _finamp_id(d: dict) -> str:
    if "Primary" in d.get("ImageTags", {}):
        return d["Id"]
    return d.get("ParentPrimaryImageItemId") or d["AlbumId"]


FINAMP_RECIPES = [
    Recipe("Finamp", FINAMP, "song list tile (album cover, 56 dp)", "phone3", "svefn",
           lambda d: f"/Items/{_finamp_id(d)}/Images/Primary?format=jpg&quality=90&MaxWidth=168&MaxHeight=168",
           ("ImageTags", "AlbumId", "AlbumPrimaryImageTag")),   # ParentPrimaryImageItemId: episodes only
    Recipe("Finamp", FINAMP, "album grid card (170 dp)", "phone3", "agaetis",
           lambda d: f"/Items/{_finamp_id(d)}/Images/Primary?format=jpg&quality=90&MaxWidth=510&MaxHeight=510",
           ("Id", "ImageTags")),
]

# --- Swiftfin: BaseItemDto+Images.swift imageURL (maxWidth × displayScale, quality, tag; Png for
# logos), BaseItemDto+Poster.swift (which id and tag), PosterDisplayType.swift (iOS portrait
# 200 pt, landscape 300 pt; tvOS 500) ---------------------------------------------------------------
SWIFT = "jellyfin/Swiftfin Shared/Extensions/JellyfinAPI/BaseItemDto/BaseItemDto+Images.swift"

SWIFTFIN_RECIPES = [
    Recipe("Swiftfin", SWIFT, "season poster", "phone3", "nature-s1",
           lambda d: f"/Items/{d['Id']}/Images/Primary?maxWidth=600&quality=90&tag={d['ImageTags']['Primary']}",
           ("Id", "ImageTags")),
    Recipe("Swiftfin", SWIFT, "season without a poster (series poster)", "phone3", "nature-s2",
           lambda d: f"/Items/{d['SeriesId']}/Images/Primary?maxWidth=600&quality=90&tag={d['SeriesPrimaryImageTag']}",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("Swiftfin", SWIFT, "episode landscape card", "phone3", "nature-s1e1",
           lambda d: f"/Items/{d['Id']}/Images/Primary?maxWidth=900&quality=90&tag={d['ImageTags']['Primary']}",
           ("Id", "ImageTags")),
    Recipe("Swiftfin", SWIFT, "logo (Png)", "phone3", "nature-series",
           lambda d: f"/Items/{d['Id']}/Images/Logo?quality=90&tag={d['ImageTags']['Logo']}&format=Png",
           ("Id", "ImageTags")),
    Recipe("Swiftfin", SWIFT, "tvOS movie poster", "tv", "painting-movie",
           lambda d: f"/Items/{d['Id']}/Images/Primary?maxWidth=500&quality=90&tag={d['ImageTags']['Primary']}",
           ("Id", "ImageTags")),
]

# --- Findroid: models/FindroidImages.kt toFindroidImages: lower-case "items", the UUID with
# dashes, tag only (no size); the show backdrop and logo use SeriesId with the series poster tag.
FINDROID = "jarnedemeulemeester/findroid data/src/main/java/dev/jdtech/jellyfin/models/FindroidImages.kt"

FINDROID_RECIPES = [
    Recipe("Findroid", FINDROID, "episode primary", "phone3", "nature-s1e1",
           lambda d: f"/items/{dashed(d['Id'])}/Images/Primary?tag={d['ImageTags']['Primary']}", ("Id", "ImageTags")),
    Recipe("Findroid", FINDROID, "episode's show primary", "phone3", "nature-s1e1",
           lambda d: f"/items/{dashed(d['SeriesId'])}/Images/Primary?tag={d['SeriesPrimaryImageTag']}",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("Findroid", FINDROID, "episode's show backdrop", "phone3", "nature-s1e1",
           lambda d: f"/items/{dashed(d['SeriesId'])}/Images/Backdrop/0?tag={d['SeriesPrimaryImageTag']}",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("Findroid", FINDROID, "episode's show logo", "phone3", "nature-s1e1",
           lambda d: f"/items/{dashed(d['SeriesId'])}/Images/Logo?tag={d['SeriesPrimaryImageTag']}",
           ("SeriesId", "SeriesPrimaryImageTag")),
    Recipe("Findroid", "jarnedemeulemeester/findroid app/tv/src/main/java/dev/jdtech/jellyfin/ui/components/ProfileButton.kt",
           "user avatar", "phone3", "alice",
           lambda d: f"/users/{dashed(d['Id'])}/Images/Primary", ("Id",), user=True),
]

# --- jellyfin-androidtv: util/apiclient/JellyfinImage.kt getUrl (the Kotlin SDK's
# getItemImageUrl: UUID path, tag, imageIndex, maxWidth/maxHeight/fillHeight); sizes in px at
# density 2: ui/presentation/CardPresenter.kt cards 150 dp high (portrait 100×150 dp, landscape
# 130 dp high × 16/9), ItemDetails poster fillHeight 200 dp, logo maxWidth 600 (ImageHelper.kt).
ATV = "jellyfin/jellyfin-androidtv app/src/main/java/org/jellyfin/androidtv/util/apiclient/JellyfinImage.kt"

ANDROIDTV_RECIPES = [
    Recipe("jellyfin-androidtv", ATV + " (CardPresenter.kt)", "portrait card", "tv", "nature-series",
           lambda d: f"/Items/{dashed(d['Id'])}/Images/Primary?tag={d['ImageTags']['Primary']}&maxWidth=200&maxHeight=300",
           ("Id", "ImageTags")),
    Recipe("jellyfin-androidtv", ATV + " (ImageHelper.kt getPrimaryImageUrl)", "season details poster (series')",
           "tv", "nature-s2",
           lambda d: f"/Items/{dashed(d['SeriesId'])}/Images/Primary?tag={d['SeriesPrimaryImageTag']}&fillHeight=400",
           ("Type", "SeriesId", "SeriesPrimaryImageTag")),
    Recipe("jellyfin-androidtv", ATV + " (CardPresenter.kt)", "backdrop card", "tv", "nature-series",
           lambda d: f"/Items/{dashed(d['Id'])}/Images/Backdrop?tag={d['BackdropImageTags'][0]}&imageIndex=0"
                     f"&maxWidth=462&maxHeight=260",
           ("Id", "BackdropImageTags")),
    Recipe("jellyfin-androidtv", ATV + " (ImageHelper.kt getLogoImageUrl)", "details logo (parent's)", "tv",
           "nature-s1e1",
           lambda d: f"/Items/{dashed(d['ParentLogoItemId'])}/Images/Logo?tag={d['ParentLogoImageTag']}&maxWidth=600",
           ("ParentLogoItemId", "ParentLogoImageTag")),
]

# --- Emby: apiclient.js getUrl (adds /emby), getImageUrl + normalizeImageOptions (× devicePixelRatio
# on width/height/maxWidth/maxHeight; default quality 90, Backdrop 70); emby-webcomponents
# cardbuilder/cardbuilder.js: maxWidth = card width (213 px at 1920), maxHeight = width / aspect.
EMBY = "MediaBrowser/Emby.ApiClient.Javascript apiclient.js getImageUrl (emby-webcomponents cardbuilder/cardbuilder.js)"


def _emby_recipes(dpr: int, device: str) -> list[Recipe]:
    return [
        Recipe("Emby apiclient.js", EMBY, "portrait card", device, "nature-series",
               lambda d: f"/emby/Items/{d['Id']}/Images/Primary?maxHeight="
                         f"{round(round(213 / d['PrimaryImageAspectRatio']) * dpr)}&maxWidth={213 * dpr}"
                         f"&tag={d['ImageTags']['Primary']}&quality=90",
               ("Id", "ImageTags", "PrimaryImageAspectRatio")),
        Recipe("Emby apiclient.js", EMBY, "backdrop", device, "painting-movie",
               lambda d: f"/emby/Items/{d['Id']}/Images/Backdrop/0?maxWidth={1920 * dpr}"
                         f"&tag={d['BackdropImageTags'][0]}&quality=70",
               ("Id", "BackdropImageTags")),
        Recipe("Emby apiclient.js", "MediaBrowser/Emby.ApiClient.Javascript apiclient.js getUserImageUrl",
               "user avatar", device, "alice",
               lambda d: f"/emby/Users/{d['Id']}/Images/Primary?maxHeight={100 * dpr}&maxWidth={100 * dpr}"
                         f"&tag={d['PrimaryImageTag']}&quality=90",
               ("Id", "PrimaryImageTag"), user=True),
    ]


RECIPES: list[Recipe] = [
    *_web_recipes(1, "desktop1"), *_web_recipes(2, "desktop2"), *VUE_RECIPES, *KODI_RECIPES,
    *PY_RECIPES, *FINAMP_RECIPES, *SWIFTFIN_RECIPES, *FINDROID_RECIPES, *ANDROIDTV_RECIPES,
    *_emby_recipes(1, "desktop1"), *_emby_recipes(2, "desktop2"),
]

CLIENTS = ("jellyfin-web", "jellyfin-vue", "jellyfin-kodi", "jellyfin-apiclient-python", "Finamp",
           "Swiftfin", "Findroid", "jellyfin-androidtv", "Emby apiclient.js")

"""The write half of the image API (seed 002): upload, delete and reorder item images, user
images, remote images; each write is a durable catalog edit plus a build.

Enabled by ``serve.py --catalog FILE --auth FILE``; without them serve.py is read-only and
answers these methods with 405. Routes (Jellyfin ``ImageController.cs`` and
``RemoteImageController.cs``; an ``/emby`` prefix is accepted):

| route | who | answer |
|---|---|---|
| ``POST /Items/{id}/Images/{type}[/{index}]`` | admin | 204; 400 content type / not an image of that type / bomb / index; 413 too large; 404 item; 422 saved but failed to render |
| ``DELETE /Items/{id}/Images/{type}[/{index}]`` (``?imageIndex=``) | admin | 204; 404 item or image |
| ``POST /Items/{id}/Images/{type}/{index}/Index?newIndex=N`` | admin | 204 (the two images swap, as Jellyfin's ``SwapImagesAsync``); 400 index out of range |
| ``POST``/``DELETE /UserImage[?userId=]``, ``/Users/{id}/Images/{type}[/{index}]`` | the user, or admin | 204; 403 another user; 404 user |
| ``GET /Items/{id}/RemoteImages`` (``type``, ``startIndex``, ``limit``, ``providerName``, ``includeAllLanguages``) | any token | ``RemoteImageResult`` |
| ``GET /Items/{id}/RemoteImages/Providers`` | any token | ``[ImageProviderInfo]`` |
| ``POST /Items/{id}/RemoteImages/Download?type=&imageUrl=`` | admin | 204; 404 when the item's ``remote_images`` does not list the URL; 400 slow, failing or not an image; 413 too large |

401 without a valid token (``auth``), 403 for a valid one without the right.

Upload bodies are what Jellyfin reads: the image **base64-encoded** (jellyfin-web and the
SDKs; whitespace ignored, as .NET's ``FromBase64Transform``), and here also the raw bytes,
with ``Content-Type: image/jpeg|png|gif|webp`` (parameters such as ``; charset=utf-8``
ignored). The bytes must decode (Pillow, fully) as that format, with at most
``Image.MAX_IMAGE_PIXELS`` pixels (``pipeline.imaging.decode``'s 100 MP).

What a write does: check → store the upload content-addressed and fsynced → edit the catalog
(``pipeline.catalog.edit``: round trip, validated, atomic, locked across processes) → wait for
the build that includes it (``builds.BuildCoordinator``) → 204. So after a 204 the catalog on
disk has the change and ``GET /Items/{id}`` shows the new tag.

A build that fails (exits non-zero) still publishes everything but the sources that failed
(``pipeline.tasks``), so a write is judged by what was published (``published``): 204 when the
manifest shows the written slot as the catalog has it (a corrupt source elsewhere in the catalog
fails the build, never the write); 422 when the written image itself is among the failed
sources (the edit stays saved; the slot is published without it: replace or delete it); 500,
saying the edit is saved, when the build published nothing that shows it, or failed otherwise
(a crash, a timeout, a failed ``doit publish``: ``builds.BuildFailed.partial``).

This module imports no Pillow and no ``pipeline.imaging``/``pipeline.catalog`` at module level:
``Writes`` imports them when writes are enabled.
"""

import base64
import binascii
import filecmp
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from werkzeug.wrappers import Request, Response

from pipeline.model.ids import canonical_guid
from pipeline.model.imagetypes import parse_image_type
from pipeline.serve.auth import Principal, authenticate, load_tokens, request_token
from pipeline.serve.builds import BuildCoordinator, BuildFailed

#: Accepted upload content types → (file extension, Pillow formats that match).
CONTENT_TYPES = {
    "image/jpeg": ("jpg", ("JPEG", "MPO")),
    "image/jpg": ("jpg", ("JPEG", "MPO")),
    "image/png": ("png", ("PNG",)),
    "image/gif": ("gif", ("GIF",)),
    "image/webp": ("webp", ("WEBP",)),
}
_BY_PILLOW = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
#: Jellyfin's default ``PreferredMetadataLanguage``: the language remote images are filtered by.
PREFERRED_LANGUAGE = "en"
_WHITESPACE = re.compile(rb"\s+")
_INTEGER = re.compile(r"[0-9]+")
JSON_TYPE = "application/json; charset=utf-8"
SAVED_BUT_FAILED = "the change is saved in the catalog, but the build that publishes it failed"


class HttpError(Exception):
    """An answer other than 2xx: ``status`` and a plain-text ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def decode_body(body: bytes) -> bytes:
    """The image bytes of an upload body: the body itself when it starts like a JPEG, PNG, GIF
    or WebP file, else its base64 decoding (whitespace ignored; a ``data:…;base64,`` prefix
    allowed). Raises ``HttpError(400)`` when it is neither."""
    if body[:3] == b"\xff\xd8\xff" or body[:8] == b"\x89PNG\r\n\x1a\n" or body[:6] in (b"GIF87a", b"GIF89a") \
            or (body[:4] == b"RIFF" and body[8:12] == b"WEBP"):
        return body
    text = _WHITESPACE.sub(b"", body)
    if text[:5].lower() == b"data:" and b"," in text:
        text = text.split(b",", 1)[1]
    if not text:
        raise HttpError(400, "the request body is empty: send the image, base64-encoded or raw")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, "the request body is neither an image nor base64 of one") from None


def check_image(data: bytes, formats: tuple[str, ...] | None) -> str:
    """Decode ``data`` fully with Pillow and return its file extension (jpg, png, gif, webp).
    ``formats``: the Pillow formats the content type allows (None: any of the four).
    Raises ``HttpError(400)`` for a body that is not such an image, is truncated or corrupt,
    or has more pixels than ``Image.MAX_IMAGE_PIXELS`` (a decompression bomb)."""
    import warnings
    from io import BytesIO
    from PIL import Image
    import pipeline.imaging.decode  # noqa: F401  (sets the project's MAX_IMAGE_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                found = image.format
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise HttpError(400, f"image refused as a decompression bomb: {exc}") from None
    except Exception as exc:  # Pillow raises many types for hostile input
        raise HttpError(400, f"not a decodable image: {exc}") from None
    extension = _BY_PILLOW.get(found or "")
    if extension is None:
        raise HttpError(400, f"{found} images are not accepted: send JPEG, PNG, GIF or WebP")
    if formats is not None and found not in formats:
        raise HttpError(400, f"the body is a {found} image, not what Content-Type says")
    return extension


def fetch_remote(url: str, timeout: float, limit: int) -> bytes:
    """GET ``url`` (no redirects, no retries) within ``timeout`` seconds in all and at most
    ``limit`` bytes. Raises ``HttpError`` 400 (unreachable, slow, not 200) or 413."""
    import urllib3
    deadline = time.monotonic() + timeout
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout))
    try:
        response = http.request("GET", url, preload_content=False, redirect=False)
        try:
            if response.status != 200:
                raise HttpError(400, f"the remote image answered {response.status}: {url}")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise HttpError(413, f"the remote image is larger than {limit} bytes: {url}")
            chunks, size = [], 0
            for chunk in response.stream(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise HttpError(413, f"the remote image is larger than {limit} bytes: {url}")
                if time.monotonic() > deadline:
                    raise HttpError(400, f"the remote image did not arrive within {timeout:g} s: {url}")
                chunks.append(chunk)
            if time.monotonic() > deadline:
                raise HttpError(400, f"the remote image did not arrive within {timeout:g} s: {url}")
            return b"".join(chunks)
        finally:
            response.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:   # (a subclass of the timeout error)
        raise HttpError(400, f"cannot fetch the remote image {url}: {exc}") from None
    except urllib3.exceptions.TimeoutError:
        raise HttpError(400, f"the remote image did not arrive within {timeout:g} s: {url}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise HttpError(400, f"cannot fetch the remote image {url}: {exc}") from None


@dataclass(frozen=True)
class Target:
    """An image slot a write names: owner ``kind`` (``Items``/``Users``), catalog ``owner_id``,
    ``image_type`` and ``index`` (None: not given)."""

    kind: str
    owner_id: str
    image_type: str
    index: int | None


class Writes:
    """The write routes (module doc) for one catalog and output folder.

    ``tokens``: the tokens file (``auth.load_tokens``); ``max_upload``: bytes of one image
    (413 above); ``remote_timeout``: seconds for a remote image download; ``publish``: run
    ``doit publish`` after each build; ``builds``: a ``BuildCoordinator`` (default: doit).
    Raises ``CatalogErrors`` for an invalid catalog and ``ValueError`` for a bad tokens file."""

    def __init__(self, catalog: str | Path, output: str | Path, tokens: str | Path,
                 max_upload: int = DEFAULT_MAX_UPLOAD, remote_timeout: float = 10.0,
                 publish: bool = False, builds: BuildCoordinator | None = None):
        from pipeline.catalog import edit
        from pipeline.catalog.loader import load_catalog
        self.edit, self._load_catalog = edit, load_catalog
        self.editor = edit.CatalogEditor(catalog)
        self.max_upload, self.remote_timeout = max_upload, remote_timeout
        self._cache_lock = threading.Lock()
        self._local = threading.local()
        self._cached: tuple | None = None
        library = self.library()
        self.principals = load_tokens(tokens, set(library.users))
        self.builds = builds or BuildCoordinator(self.editor.path, output, publish)

    # ----------------------------------------------------------------------------- routing

    def handle(self, request: Request, route) -> Response:
        """Answer a write or remote-image request; ``route``: the ``request.WriteRequest`` the
        route table (``routes.py``) parsed. Authentication (401) comes first."""
        query = route.query
        try:
            principal = authenticate(self.principals, request_token(request.headers, query))
            if principal is None:
                raise HttpError(401, "authentication required: send an access token (Authorization: "
                                     "MediaBrowser Token=\"…\", X-Emby-Token or api_key)")
            if request.method in ("GET", "HEAD"):
                if route.action == "remote_images":
                    return self.remote_list(route.owner_id, query)
                return self.remote_providers(route.owner_id)
            self._local.intent = self.builds.begin()      # holds back a build about to start
            try:
                return self._write(request, route, principal)
            finally:
                self.builds.end(self._local.intent)
                self._local.intent = None
        except HttpError as exc:
            return _text(exc.status, exc.message)

    def _write(self, request: Request, route, principal: Principal) -> Response:
        action, query = route.action, route.query
        if action == "user":
            user = route.owner_id if route.kind == "Users" and route.owner_id else query.get("userid") or None
            return self.user_image(request, principal, user, route.image_type or "Primary")
        if action == "remote_download":
            return self.remote_download(principal, route.owner_id, query)
        if action == "index":
            return self.reorder(principal, route.owner_id, route.image_type, route.index, query.get("newindex"))
        if request.method == "DELETE":
            index = route.index if route.index is not None else self._index(query.get("imageindex"), "imageIndex")
            return self.delete(principal, route.owner_id, route.image_type, index)
        return self.upload(request, principal, route.owner_id, route.image_type, route.index)

    # ----------------------------------------------------------------------------- helpers

    def library(self):
        """The catalog as the build loads it, cached until the file changes."""
        stat = self.editor.path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._cache_lock:
            if self._cached is None or self._cached[0] != key:
                self._cached = (key, self._load_catalog(self.editor.path))
            return self._cached[1]

    def _library(self):
        """``library()`` for a request: a catalog broken on disk (by hand) is a 500 that names
        its errors; no write is made until it is fixed."""
        from pipeline.errors import CatalogErrors
        try:
            return self.library()
        except CatalogErrors as exc:
            raise HttpError(500, f"the catalog on disk has errors; fix them first:\n{exc}") from None

    def owner_id(self, kind: str, owner_id: str) -> str:
        """The catalog id an URL id names: a published GUID (any spelling ``ids.canonical_guid``
        reads), else the catalog id (exact, else case-insensitive); 404 when none."""
        library = self._library()
        owners = library.items if kind == "Items" else library.users
        if owner_id in owners:
            return owner_id
        guid = canonical_guid(owner_id)
        if guid is not None:
            for owner in owners.values():
                if owner.guid == guid:
                    return owner.id
        lowered = {key.lower(): key for key in owners}
        if owner_id.lower() in lowered:
            return lowered[owner_id.lower()]
        raise HttpError(404, f"no such {'item' if kind == 'Items' else 'user'}: {owner_id}")

    @staticmethod
    def _type(text: str) -> str:
        image_type = parse_image_type(text)
        if image_type is None:
            raise HttpError(400, f"type: unknown ImageType {text!r}")
        return image_type

    @staticmethod
    def _index(text: str | None, name: str) -> int | None:
        if text is None or text == "":
            return None
        if not _INTEGER.fullmatch(text):
            raise HttpError(400, f"{name} must be an integer ≥ 0, got {text!r}")
        return int(text)

    @staticmethod
    def _require_admin(principal: Principal) -> None:
        if not principal.admin:
            raise HttpError(403, "this write requires an administrator's token")

    def _apply(self, change, slot: tuple[str, str, str], upload: tuple[bytes, str] | None = None) -> Response:
        """Edit the catalog, wait for the build that publishes it, answer 204. ``slot``: the
        (kind, owner id, ImageType) the edit changes, checked by ``published`` when the build
        fails."""
        try:
            written = self.editor.edit(change, upload=upload)
        except self.edit.EditError as exc:
            raise HttpError(exc.status, str(exc)) from None
        self.builds.end(getattr(self._local, "intent", None))   # on disk: the build may start
        self._local.intent = None
        try:
            self.builds.publish()
        except BuildFailed as exc:
            if not exc.partial:
                raise HttpError(500, f"{SAVED_BUT_FAILED}:\n{exc}") from None
            self.published(*slot, written if upload else None, exc)
        return Response(status=204)

    def published(self, kind: str, owner_id: str, image_type: str, relpath: str | None,
                  failure: BuildFailed) -> None:
        """After a build that failed only some sources (``BuildFailed.partial``): return when it
        published the written slot anyway (the failure is about other sources), else raise
        ``HttpError``. Reads ``manifest.json``:
        ``relpath`` (an upload's catalog path) among its ``failed`` sources → 422 with the
        reason; the slot's published sources (its tags' ``source``) not those the catalog now
        lists (less any failed ones) → 500 naming the build error: the edit is saved but not
        visible. A write the catalog changed again meanwhile may read as not published."""
        from pipeline.outputs import manifest as manifest_file
        try:
            built = manifest_file.read(self.builds.output)
        except (OSError, ValueError) as exc:
            raise HttpError(500, f"{SAVED_BUT_FAILED}:\n{failure}\n({exc})") from None
        failed = {f.source: f.error for f in built.failed}
        if relpath is not None and relpath in failed:
            raise HttpError(422, f"the image is saved in the catalog as {relpath}, but it could not be "
                                 f"rendered: {failed[relpath]}\nThe item is published without it; "
                                 f"replace or delete it.")
        owners = self._library().items if kind == "Items" else self._library().users
        owner = owners.get(owner_id)
        wanted = [s.relpath for s in owner.images.get(image_type, [])] if owner else []
        wanted = [p for p in wanted if p not in failed]
        tags = built.owners.get(kind, {}).get(owner_id, {}).get(image_type, [])
        sources = [built.images[t].source if t in built.images else None for t in tags]
        if len(sources) != len(wanted) or not all(map(self._same_source, sources, wanted)):
            raise HttpError(500, f"{SAVED_BUT_FAILED}:\n{failure}")

    def _same_source(self, published: str | None, wanted: str) -> bool:
        """Whether a published image's ``source`` is the catalog path ``wanted``: the same path,
        or a file of the same bytes (one tag per content: the manifest names one of its paths)."""
        if published is None or published == wanted:
            return published is not None
        root = self.editor.path.parent
        try:
            return filecmp.cmp(root / published, root / wanted, shallow=False)
        except OSError:
            return False

    def _store(self, target: Target, image: bytes, extension: str) -> Response:
        edit = self.edit

        def change(doc, relpath):
            edit.set_image(edit.find_owner(doc, target.kind, target.owner_id), target.image_type,
                           target.index, relpath)
            return relpath
        return self._apply(change, (target.kind, target.owner_id, target.image_type), upload=(image, extension))

    def _too_large(self) -> HttpError:
        return HttpError(413, f"the image is larger than {self.max_upload} bytes "
                              f"({self.max_upload / 1048576:g} MB, serve.py --max-upload-mb)")

    def _body(self, request: Request) -> bytes:
        """The request body, refused with 413 past what a base64 ``max_upload`` image takes,
        line breaks included (MIME base64 breaks every 76 characters: 4/3 × 78/76 < 3/2)."""
        limit = self.max_upload * 3 // 2 + 4096
        if request.content_length is not None and request.content_length > limit:
            raise self._too_large()
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise self._too_large()
        return data

    def _upload_bytes(self, request: Request) -> tuple[bytes, str]:
        mime = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if mime not in CONTENT_TYPES:
            raise HttpError(400, f"Incorrect ContentType: {mime or 'none'} (send image/jpeg, image/png, "
                                 f"image/gif or image/webp)")
        image = decode_body(self._body(request))
        if len(image) > self.max_upload:
            raise self._too_large()
        return image, check_image(image, CONTENT_TYPES[mime][1])

    # ----------------------------------------------------------------------------- handlers

    def upload(self, request: Request, principal: Principal, owner: str, image_type: str,
               index: int | None) -> Response:
        """``POST /Items/{id}/Images/{type}[/{index}]`` (see ``edit.set_image`` for indexes)."""
        self._require_admin(principal)
        target = Target("Items", self.owner_id("Items", owner), image_type, index)
        image, extension = self._upload_bytes(request)
        return self._store(target, image, extension)

    def delete(self, principal: Principal, owner: str, image_type: str, index: int | None) -> Response:
        """``DELETE /Items/{id}/Images/{type}[/{index}]`` (or ``?imageIndex=``; default 0); the
        later images of the list move down one index."""
        self._require_admin(principal)
        owner_id, index = self.owner_id("Items", owner), index or 0
        edit = self.edit
        return self._apply(lambda doc: edit.delete_image(edit.find_owner(doc, "Items", owner_id), image_type, index),
                           ("Items", owner_id, image_type))

    def reorder(self, principal: Principal, owner: str, image_type: str, index: int,
                new_index_text: str | None) -> Response:
        """``POST /Items/{id}/Images/{type}/{index}/Index?newIndex=N`` (Jellyfin swaps the two)."""
        self._require_admin(principal)
        owner_id = self.owner_id("Items", owner)
        new_index = self._index(new_index_text, "newIndex")
        if new_index is None:
            raise HttpError(400, "newIndex is required")
        edit = self.edit
        return self._apply(lambda doc: edit.swap_images(edit.find_owner(doc, "Items", owner_id),
                                                        image_type, index, new_index),
                           ("Items", owner_id, image_type))

    def user_image(self, request: Request, principal: Principal, user: str | None, image_type: str) -> Response:
        """``POST``/``DELETE /UserImage[?userId=]`` and ``/Users/{id}/Images/{type}[/{index}]``:
        without a user id, the caller's own; a non-admin may change only their own (403).
        Deleting an image the user does not have is a 204, as in Jellyfin."""
        if user is None:
            user = principal.user
            if user is None:
                raise HttpError(400, "userId is required for a token that belongs to no user")
        user_id = self.owner_id("Users", user)
        if not principal.admin and principal.user != user_id:
            raise HttpError(403, "User is not allowed to update the image.")
        if request.method == "DELETE":
            if not self._library().users[user_id].images.get(image_type):
                return Response(status=204)
            edit = self.edit
            return self._apply(lambda doc: edit.delete_image(edit.find_owner(doc, "Users", user_id), image_type, 0),
                               ("Users", user_id, image_type))
        image, extension = self._upload_bytes(request)
        return self._store(Target("Users", user_id, image_type, None), image, extension)

    def remote_list(self, owner: str, query: dict[str, str]) -> Response:
        """``GET /Items/{id}/RemoteImages``: Jellyfin's ``RemoteImageResult`` ``{Images,
        TotalRecordCount, Providers}``. Filters as ``ProviderManager.GetImages``: ``type``;
        ``providerName`` (case-insensitive); unless ``includeAllLanguages=true``, images in the
        preferred language (``en``, Jellyfin's default), in English or without a language.
        Each provider's images are ordered preferred language first, then English, then none,
        then by rating and votes (``OrderByLanguageDescending``); ``startIndex``/``limit``
        page after counting."""
        item = self._library().items[self.owner_id("Items", owner)]
        image_type = query.get("type")
        if image_type:
            image_type = parse_image_type(image_type)
            if image_type is None:
                raise HttpError(400, f"type: unknown ImageType {query['type']!r}")
        all_languages = query.get("includealllanguages", "false").lower()
        if all_languages not in ("true", "false"):
            raise HttpError(400, f"includeAllLanguages must be true or false, got {query['includealllanguages']!r}")
        provider = (query.get("providername") or "").lower()
        start = self._index(query.get("startindex"), "startIndex")
        limit = self._index(query.get("limit"), "limit")
        candidates = [r for r in item.remote_images if image_type is None or r.image_type == image_type]
        providers = _distinct(r.provider for r in candidates)
        chosen = [r for r in candidates if not provider or r.provider.lower() == provider]
        if all_languages == "false":
            chosen = [r for r in chosen if not r.language
                      or r.language.lower() in (PREFERRED_LANGUAGE, "en")]
        ordered = []
        for name in _distinct(r.provider for r in chosen):
            ordered += sorted((r for r in chosen if r.provider.lower() == name.lower()), key=_language_rank)
        total = len(ordered)
        if start:
            ordered = ordered[start:]
        if limit is not None:
            ordered = ordered[:limit]
        return _json({"Images": [_remote_info(r) for r in ordered], "TotalRecordCount": total,
                      "Providers": providers})

    def remote_providers(self, owner: str) -> Response:
        """``GET /Items/{id}/RemoteImages/Providers``: ``[{Name, SupportedImages}]`` of the
        providers the item's ``remote_images`` names."""
        item = self._library().items[self.owner_id("Items", owner)]
        out = []
        for name in _distinct(r.provider for r in item.remote_images):
            types = _distinct(r.image_type for r in item.remote_images if r.provider.lower() == name.lower())
            out.append({"Name": name, "SupportedImages": types})
        return _json(out)

    def remote_download(self, principal: Principal, owner: str, query: dict[str, str]) -> Response:
        """``POST /Items/{id}/RemoteImages/Download?type=&imageUrl=``: fetch a URL that the
        item's own ``remote_images`` lists (any other: 404, nothing fetched), check it like an
        upload, and save it as the item's ``type`` image (a new one for list types)."""
        self._require_admin(principal)
        owner_id = self.owner_id("Items", owner)
        if not query.get("type"):
            raise HttpError(400, "type is required")
        image_type = self._type(query["type"])
        url = query.get("imageurl")
        if not url:
            raise HttpError(400, "imageUrl is required")
        if url not in {r.url for r in self._library().items[owner_id].remote_images}:
            raise HttpError(404, f"{owner_id} lists no remote image with that URL")
        data = fetch_remote(url, self.remote_timeout, self.max_upload)
        extension = check_image(data, None)
        return self._store(Target("Items", owner_id, image_type, None), data, extension)


def _distinct(values) -> list[str]:
    seen, out = set(), []
    for value in values:
        if value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def _language_rank(image) -> tuple:
    language = (image.language or "").lower()
    rank = 4 if language == PREFERRED_LANGUAGE else 3 if language == "en" else 2 if not language else 0
    return (-rank, -round(image.rating or 0, 1), -(image.votes or 0))


def _remote_info(image) -> dict:
    """Jellyfin's ``RemoteImageInfo`` (null fields left out, as Jellyfin's JSON does)."""
    info = {"ProviderName": image.provider, "Url": image.url, "ThumbnailUrl": image.thumbnail,
            "Height": image.height, "Width": image.width, "CommunityRating": image.rating,
            "VoteCount": image.votes, "Language": image.language, "Type": image.image_type,
            "RatingType": "Score"}
    return {k: v for k, v in info.items() if v is not None}


def _json(document) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=200, mimetype="application/json",
                    headers={"Cache-Control": "no-cache"})


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def writes_from_environment() -> Writes | None:
    """The ``Writes`` serve.py's workers run, from ``PIPELINE_CATALOG``, ``PIPELINE_AUTH``,
    ``PIPELINE_OUTPUT``, ``PIPELINE_MAX_UPLOAD`` (bytes), ``PIPELINE_REMOTE_TIMEOUT``
    (seconds) and ``PIPELINE_PUBLISH`` ("1"); None when writes are not enabled."""
    catalog, tokens = os.environ.get("PIPELINE_CATALOG"), os.environ.get("PIPELINE_AUTH")
    if not catalog or not tokens:
        return None
    return Writes(catalog, os.environ["PIPELINE_OUTPUT"], tokens,
                  max_upload=int(os.environ.get("PIPELINE_MAX_UPLOAD") or DEFAULT_MAX_UPLOAD),
                  remote_timeout=float(os.environ.get("PIPELINE_REMOTE_TIMEOUT") or 10),
                  publish=os.environ.get("PIPELINE_PUBLISH") == "1")

"""Jellyfin-shaped ids: every published id is a GUID written as 32 lowercase hex digits.

Source: api-reference §4 "Ids" and Jellyfin's JSON (``Guid.ToString("N")``); Findroid,
jellyfin-androidtv and the Kotlin SDK parse ``Id``, ``ParentId``, ``SeriesId`` … as UUIDs and
fail on anything else. A catalog entry may give its ``guid``; otherwise it is derived from the
catalog id with UUID5 under ``NAMESPACE``, so it is the same on every machine and every build.

Requests may spell a GUID as ASP.NET's ``Guid`` binder reads it: 32 hex digits, or with dashes
(8-4-4-4-12), optionally in braces or parentheses, in any case (``canonical_guid``). The
catalog id stays an alias (serve.py and the nginx config resolve both).
"""

import hashlib
import re
import unicodedata
import uuid

#: Fixed namespace of derived GUIDs. Never change it: every published id depends on it.
NAMESPACE = uuid.UUID("8f2b4f1e-5a34-5c0e-9d8e-6f1b8a7c4d21")

#: ``ServerId`` of every object: one fixed server (a static build has no server identity).
SERVER_ID = uuid.uuid5(NAMESPACE, "server").hex

_GUID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def derived_guid(kind: str, catalog_id: str) -> str:
    """The GUID of a catalog entry without its own: UUID5(``NAMESPACE``, ``"{kind}/{id}"``) in
    32-hex form; ``kind`` is ``"Items"`` or ``"Users"`` (an item and a user never share one)."""
    return uuid.uuid5(NAMESPACE, f"{kind}/{catalog_id}").hex


def canonical_guid(text: str) -> str | None:
    """``text`` as 32 lowercase hex digits when it spells a GUID (``N``, ``D``, ``B`` or ``P``
    form of .NET's ``Guid``, any case), else None. ``canonical_guid("{6F9619FF-8B86-D011-B42D-
    00C04FC964FF}")`` → ``"6f9619ff8b86d011b42d00c04fc964ff"``."""
    if len(text) in (34, 38) and text[0] + text[-1] in ("{}", "()"):
        text = text[1:-1]
    if not _GUID.fullmatch(text):
        return None
    return text.replace("-", "").lower()


def dashed(guid: str) -> str:
    """A 32-hex GUID in the 8-4-4-4-12 form (``UUID.toString()`` of Java/Kotlin)."""
    return str(uuid.UUID(hex=guid))


# --- named items (seed 002 "Named Item Images"; Jellyfin's ImageController) -------------------

#: URL collection of named-item images → the catalog item type it names.
NAMED_COLLECTIONS = {"Artists": "MusicArtist", "Genres": "Genre", "MusicGenres": "MusicGenre",
                     "Persons": "Person", "Studios": "Studio"}

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_SAFE_MAX = 200    # bytes of a safe name before it is shortened (file names: 255 bytes)


def name_key(name: str) -> str:
    """How names are matched (case-insensitively, as Jellyfin's ``GetItemByName``): Unicode NFC,
    ``casefold``, NFC again, so ``Sigur Rós``, ``SIGUR RÓS`` and the decomposed spelling are one
    name. Idempotent."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def safe_name(name: str) -> str:
    """A file-name-safe, case-folded form of a name for static hosting: ``name_key``, then every
    UTF-8 byte outside ``a-z 0-9 _ -`` as ``%XX`` (so ``/``, ``.``, ``..``, ``%``, NUL, ``&``
    and spaces can never form a path), shortened past 200 bytes with ``~`` and 8 hex digits of
    its MD5. ``safe_name("AC/DC & Co.")`` → ``"ac%2Fdc%20%26%20co%2E"``. Never empty."""
    out = "".join(chr(b) if chr(b) in _SAFE else f"%{b:02X}" for b in name_key(name).encode())
    if len(out) > _SAFE_MAX or not out:
        out = out[:_SAFE_MAX] + "~" + hashlib.md5(out.encode()).hexdigest()[:8]
    return out

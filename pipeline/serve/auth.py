"""Who is asking: the access token of a request, read as Jellyfin reads it, checked against a
tokens file.

Where the token comes from (Jellyfin ``Jellyfin.Server.Implementations/Security/
AuthorizationContext.cs``, legacy authorization on), first found wins:

1. ``Authorization: MediaBrowser Client="…", Device="…", DeviceId="…", Version="…", Token="…"``
   (scheme ``MediaBrowser`` or ``Emby``, case-insensitive; values may be quoted and are
   URL-decoded), or the same in ``X-Emby-Authorization`` when ``Authorization`` is absent;
2. ``X-Emby-Token``, then ``X-MediaBrowser-Token``;
3. the query parameter ``ApiKey``, then ``api_key`` (names case-insensitive).

The tokens file (``serve.py --auth FILE``) is a YAML list::

    - {token: "a-long-random-secret", user: alice, admin: true}
    - {token: "another-secret", user: bob, admin: false}

``user`` is a catalog user id (optional for an admin token: an API key); ``admin`` defaults to
false. Tokens are compared in constant time (``hmac.compare_digest`` against every entry) and
never logged or shown: ``Principal`` keeps its token out of ``repr``.
"""

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus

_SCHEMES = ("mediabrowser", "emby")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: catalog ``user`` id (None for a bare API key) and ``admin``
    (Jellyfin's elevation policy: may change any item's and any user's images)."""

    user: str | None
    admin: bool
    token: str = field(repr=False, compare=False)


def parse_authorization(header: str | None) -> dict[str, str] | None:
    """The parameters of a ``MediaBrowser``/``Emby`` authorization header, as Jellyfin's
    ``AuthorizationContext.GetParts`` reads them (a comma inside quotes does not split;
    values are unquoted and URL-decoded); None for another scheme or no header."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in _SCHEMES or not rest:
        return None
    parts: dict[str, str] = {}
    quoted, start, key = False, 0, ""
    for i, char in enumerate(rest):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            if start < i:
                parts[key] = unquote_plus(rest[start:i].strip().strip('"'))
                key = ""
            start = i + 1
        elif char == "=" and not quoted:
            key = rest[start:i].strip()
            start = i + 1
    if start < len(rest):
        parts[key] = unquote_plus(rest[start:].strip().strip('"'))
    return parts


def request_token(headers, query: dict[str, str]) -> str | None:
    """The access token a request carries (see the module doc for the order), or None.
    ``headers``: a case-insensitive mapping (Werkzeug ``Headers``); ``query``: lowercased
    parameter names → first value."""
    header = headers.get("Authorization") or headers.get("X-Emby-Authorization")
    token = (parse_authorization(header) or {}).get("Token")
    for candidate in (token, headers.get("X-Emby-Token"), headers.get("X-MediaBrowser-Token"),
                      query.get("apikey"), query.get("api_key")):
        if candidate:
            return candidate
    return None


def authenticate(principals: list[Principal], token: str | None) -> Principal | None:
    """The principal whose token equals ``token``, compared in constant time with every entry
    (so timing says neither which entry nor how much matched); None when none does."""
    if not token:
        return None
    found = None
    given = token.encode("utf-8", "surrogateescape")
    for principal in principals:
        if hmac.compare_digest(given, principal.token.encode("utf-8", "surrogateescape")):
            found = principal
    return found


def load_tokens(path: str | Path, users: set[str] | None = None) -> list[Principal]:
    """Read a tokens file (module doc). ``users``: the catalog's user ids, to check each
    ``user``. Raises ``ValueError`` naming the file and entry (never the token itself)."""
    import yaml
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read tokens: {exc}") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: must be a non-empty list of {{token, user, admin}}")
    out, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path}: entry {i}"
        if not isinstance(entry, dict) or set(entry) - {"token", "user", "admin"}:
            raise ValueError(f"{where}: must be a mapping with token, user and admin (no other keys)")
        token, user, admin = entry.get("token"), entry.get("user"), entry.get("admin", False)
        if not isinstance(token, str) or len(token) < 8:
            raise ValueError(f"{where}: token must be a string of at least 8 characters")
        if token in seen:
            raise ValueError(f"{where}: the same token appears twice")
        seen.add(token)
        if not isinstance(admin, bool):
            raise ValueError(f"{where}: admin must be true or false")
        if user is not None:
            user = str(user)
            if users is not None and user not in users:
                raise ValueError(f"{where}: user {user!r} is not a user of the catalog")
        elif not admin:
            raise ValueError(f"{where}: a token that is not admin needs a user")
        out.append(Principal(user, admin, token))
    return out

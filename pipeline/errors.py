"""Errors that carry where they come from.

``CatalogError`` names the file, line and field (``catalog.yaml:17: items[3].images.Primary:
file not found``); ``SourceError`` names the source image and why it cannot be used.
"""


class CatalogError(Exception):
    """A catalog problem found before any pixel is touched.

    ``file`` is the catalog path, ``line`` 1-based (None when unknown), ``field`` a dotted path
    such as ``items[2].images.Backdrop[1]``.
    """

    def __init__(self, file, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.message = str(file), line, field, message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class CatalogErrors(Exception):
    """Every ``CatalogError`` of one catalog, reported together (one per line of the message)."""

    def __init__(self, errors: list[CatalogError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class SourceError(Exception):
    """A source image that cannot be read or decoded (missing, truncated, not an image)."""



def did_you_mean(value, known) -> str:
    """``"; did you mean 'formats'?"`` when ``value`` is close to one of ``known`` (difflib,
    case-insensitive), else ``""``. Appended to every "unknown key/name" message of the catalog
    and settings validation, so a misspelt key names its likely intent."""
    import difflib
    lowered = {str(k).lower(): str(k) for k in known}
    close = difflib.get_close_matches(str(value).lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]!r}?" if close and lowered[close[0]] != str(value) else ""

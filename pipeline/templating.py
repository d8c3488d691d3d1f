"""The one Jinja setup of the build's text outputs: the build report (HTML), the ART19 feed
artwork lines (XML) and the nginx configuration.

Undefined names are errors (``StrictUndefined``: a typo in a template fails the build instead of
writing an empty string), block tags leave no blank lines (``trim_blocks``, ``lstrip_blocks``)
and a template's final newline is kept.
"""

from pathlib import Path
from typing import Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined


def environment(folder: str | Path, *, escape: bool, filters: dict[str, Callable] | None = None) -> Environment:
    """A Jinja ``Environment`` loading templates from ``folder``. ``escape``: HTML/XML-escape
    every value (``& < > " '``; True for HTML and XML, False for nginx). ``filters``: extra
    filters by name."""
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=escape, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(filters or {})
    return env

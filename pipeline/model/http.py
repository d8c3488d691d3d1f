"""HTTP header values that serve.py, the generated nginx config and the bucket upload
(``outputs.publish``) must give identically.

Caching follows api-reference §1 "Caching": a content-named file or a request naming the
image's current ``tag`` never changes (``IMMUTABLE``, one year); everything else is revalidated
(``REVALIDATE``; serve.py and nginx answer 304 to a matching ``If-None-Match``).
"""

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
JSON_TYPE = "application/json; charset=utf-8"

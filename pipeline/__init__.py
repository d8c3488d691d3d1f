"""Static image derivative pipeline: catalog → plan → render → output tree → serve.

Modules, one concept each:

- ``imagetypes``: the media-server ``ImageType`` values and their aliases.
- ``formats``: output formats (``Jpg``, ``Png``, ``Webp``, …), extensions and MIME types.
- ``settings``: what to precompute (sizes per ImageType, formats, qualities), with defaults.
- ``catalog``: load and validate ``catalog.yaml`` into a typed ``Library``.
- ``sizing``: the output-size rule of Jellyfin (width/height/max/fill, never upscaled).
- ``probe``: read each source once (content hash, upright size, BlurHash), cached.
- ``layout``: the one place that maps derivatives, objects and URLs to paths under ``output/``.
- ``plan``: pure planning: which derivative files must exist for each source image.
- ``render``: decode a source once and write all its derivatives (Pillow).
- ``inheritance``: parent-image resolution (``ParentBackdropItemId`` …).
- ``objects``: the JSON objects (``BaseItemDto``, ``ImageInfo``) and the manifest.
- ``selection``: pick the precomputed derivative that best answers an image request.
- ``request``: parse an image request's path and query into a typed ``ImageRequest``.
- ``server``: the WSGI application behind ``serve.py``.
- ``build``: doit glue (tasks, progress reporter, prune).
- ``colors``: ``backgroundColor`` parsing (CSS forms and Jellyfin's ``#aarrggbb``).
- ``overlays``: Jellyfin's indicators and effects (``percentPlayed``, ``unplayedCount``, played
  mark, ``blur``, ``foregroundLayer``, ``backgroundColor``) as pure Image → Image functions.
- ``crop``: ART19 ``crop_data`` geometry and the media asset style sizes.
- ``metadata``: ``stripped-original``: remove metadata blocks without re-encoding pixels.
- ``podcast``: plan and render ART19 images' media assets.
- ``jsonapi``: ART19 Content API documents, ``ids[]`` parsing, errors, token auth.
- ``feeds``: Podcasting 2.0 ``<podcast:image>`` and ``<itunes:image>`` lines (jinja2).
- ``hosting``: the nginx server block answering serve.py's routes from the same tables.
- ``publish``: upload the output folder to an S3-compatible bucket (boto3).
- ``report``: ``output/index.html``, the build report.
"""

#: Version of the renderer. Bump it whenever a change in ``render`` (or in the libraries'
#: pinned versions) changes output bytes: it is part of every tag, so no stale file can hide
#: under a current name.
RENDERER_VERSION = "1"

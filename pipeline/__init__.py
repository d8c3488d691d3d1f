"""Static image derivative pipeline: catalog → plan → render → output tree → serve.

Packages by role (docs/design.md has the diagram and the import rules):

- ``model``: value types shared by build and serve: ``imagetypes``, ``formats``, ``sizing``
  (Jellyfin's output-size rule), ``colors``, ``decoration`` (``Decoration`` and the registry of decoration parameters), ``derivative``
  (``Derivative``), ``layout`` (the one place that maps files and URLs to paths under ``output/``),
  ``http`` (Cache-Control and media-type values serve.py, nginx and the bucket share), ``ids``
  (published GUIDs, their spellings, named-item name keys and safe file names).
- ``catalog``: load and validate ``catalog.yaml`` (``loader``) and its ``settings``; ``scan`` writes
  it from a media folder (``doit scan``); ``edit`` changes it durably for the write routes
  (round trip, validated, fsynced, locked across processes; content-addressed uploads).
- ``plan``: pure planning: ``probe`` (source facts, cached), ``planner`` (derivatives per source,
  tags, the ``BuildPlan``), ``inheritance`` (parent images), ``assemble`` (the one way a plan is
  put together, before rendering and again with the render records).
- ``imaging``: pixels (Pillow; libvips for resizing): ``decode``, ``resize``, ``render``, ``overlays`` (drawing only),
  ``metadata``.
- ``art19``: ART19 podcast images: ``crop``, ``podcast`` (plan and render), ``jsonapi``, ``feeds``,
  ``documents`` (the published JSON:API resources and feed files).
- ``outputs``: what the build publishes: ``manifest`` (typed schema; write, read, version check),
  ``sqlindex`` (``index.sqlite``, the manifest's facts keyed for serve.py; atomic write, read-only open),
  ``dto`` (BaseItemDto, ImageInfo, user objects), ``fields`` (the identity and hierarchy fields
  clients read: ``SeriesId``, ``AlbumId`` …), ``links`` (legacy path links), ``renders``
  (per-tag facts of the current renders), ``objects`` (the step that writes them all, index
  then manifest last), ``report`` (with
  ``charts``), ``publish`` (S3).
- ``hosting``: ``nginx``, the server block answering serve.py's routes from the same tables.
- ``serve``: the read side: ``routes`` (the route table), ``request`` (typed requests, their
  converters and builders), ``selection``, ``index`` (``ServeIndex``: queries of ``index.sqlite``; ``Index``:
  the manifest loaded into dicts, read by ``hosting``), ``app`` (WSGI), ``ops`` (``/health``,
  ``/metrics``, access log); the write half: ``auth`` (tokens as Jellyfin reads them),
  ``writes`` (upload, delete, reorder, user and remote images), ``builds`` (one coalesced build
  at a time across worker processes).
  It imports no ``imaging`` and no ``plan`` at module level (``writes`` imports ``catalog.edit``
  and Pillow only when writes are enabled).
- ``store``: where files go: the ``Store`` protocol, ``LocalStore`` (``local``), ``atomic`` writes.
- ``watch``: ``doit watch``, rebuild on every change of the catalog or a source.
- ``templating``: the one Jinja setup (report, feeds, nginx).
- ``tasks``: doit glue: every task dict, the doit ``VARIABLES``, ``RenderJob`` and the
  ``Executor`` seam (``EXECUTORS``), up-to-date decisions from disk, progress reporter, prune.
- ``dask_executor``: ``executor=dask``, render jobs on a Dask distributed cluster.
"""

#: Version of the renderer. Bump it whenever a change in ``render`` (or in the libraries'
#: pinned versions) changes output bytes: it is part of every tag, so no stale file can hide
#: under a current name.
RENDERER_VERSION = "4"   # 2: JPEG DCT scale 1/4 and 1/8 only with a real Lanczos step after (decode.dct_scale); 3: Lanczos with libvips (imaging.resize); 4: BlurHash from the smallest rendered size (render.BLURHASH_SIDE)

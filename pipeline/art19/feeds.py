"""Feed artwork tags for an ART19 series: Podcasting 2.0 ``<podcast:image>`` and ``<itunes:image>``.

``<podcast:image>`` (Podcasting 2.0 namespace, ``docs/tags/image.md``): ``href`` required; ``alt``,
``aspect-ratio``, ``width`` recommended; ``height``, ``type``, ``purpose`` optional; several per
channel. One tag is written per fixed-size square style the image has (``thumb``, ``square-400``,
``-640``, ``-888``, ``itunes``, ``square-3000``), smallest first, with ``aspect-ratio="1/1"``,
``width``/``height`` in pixels, the MIME ``type`` and ``purpose="artwork"``. ``regular`` (the crop
at its own, arbitrary size) and the originals (uncropped) are not feed artwork.

``<itunes:image>``: ``square-3000`` when it exists, else ``itunes`` (seed 003, "Preferred image
used in feeds"); Apple wants a 1400–3000 px square JPEG or PNG (api-reference §5).

The snippet uses the ``podcast:`` and ``itunes:`` prefixes; the feed's root element must declare
``xmlns:podcast="https://podcastindex.org/namespace/1.0"`` and
``xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"``.
"""

from pathlib import Path

from pipeline.art19.crop import SQUARE_SIZES, preferred_feed_style
from pipeline.templating import environment

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
FEED_STYLES = sorted(SQUARE_SIZES, key=SQUARE_SIZES.get)  # thumb … itunes, square-3000
APPLE_TYPES = ("image/jpeg", "image/png")

_ENV = environment(Path(__file__).parent / "templates", escape=True)  # & < > " ' in attribute values


def render_feed_images(bucket_type: str, bucket_id: str, assets: list[dict], alt: str | None = None) -> str:
    """The feed artwork XML lines of one series image.

    ``bucket_type``/``bucket_id``: the image's owner; only a ``"Series"`` has a feed (ART19
    ``Series.podcast_subscription_url``), any other bucket raises ``ValueError``. ``bucket_id`` is
    written in a leading XML comment. ``assets``: the image's media assets, each a
    ``jsonapi.media_asset_resource`` object or its flat ``attributes`` dict; used keys: ``style``,
    ``cdn_url``, ``size_width``, ``size_height`` (pixels), ``content_type``. Assets of other styles
    are ignored. ``alt``: optional accessibility text for every ``<podcast:image>``.

    Returns one ``<podcast:image …/>`` line per square style present, smallest first, then one
    ``<itunes:image href="…"/>`` line; attribute values are XML-escaped. Raises ``ValueError``
    when a square style appears twice, its asset is not square, neither ``square-3000`` nor
    ``itunes`` is present, or the chosen one is not JPEG or PNG.
    Source: Podcasting 2.0 ``podcast:image``, seed 003, api-reference §5.
    """
    if bucket_type != "Series":
        raise ValueError(f"only a Series has a feed, not a {bucket_type!r}")
    if "--" in bucket_id or bucket_id.endswith("-"):
        raise ValueError(f"bucket_id {bucket_id!r} cannot be written in an XML comment")
    by_style: dict[str, dict] = {}
    for asset in assets:
        attributes = asset.get("attributes", asset)
        style = attributes["style"]
        if style not in SQUARE_SIZES:
            continue
        if style in by_style:
            raise ValueError(f"style {style!r} appears twice")
        width, height = attributes["size_width"], attributes["size_height"]
        if width != height:
            raise ValueError(f"style {style!r} is not square: {width}×{height}")
        by_style[style] = attributes
    chosen = by_style[preferred_feed_style(by_style)]
    if chosen["content_type"] not in APPLE_TYPES:
        raise ValueError(f"itunes:image must be JPEG or PNG, not {chosen['content_type']!r}")
    images = [
        {"href": a["cdn_url"], "width": a["size_width"], "height": a["size_height"],
         "type": a["content_type"]}
        for a in (by_style[s] for s in FEED_STYLES if s in by_style)
    ]
    return _ENV.get_template("podcast_image.xml.j2").render(
        bucket_type=bucket_type, bucket_id=bucket_id, images=images, alt=alt, itunes_href=chosen["cdn_url"]
    )

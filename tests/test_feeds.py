"""Feed artwork tags (pipeline/art19/feeds.py): Podcasting 2.0 podcast:image and itunes:image."""

import xml.etree.ElementTree as ET

import pytest

from pipeline.art19.feeds import ITUNES_NS, PODCAST_NS, render_feed_images
from pipeline.art19.jsonapi import media_asset_resource

SERIES = "687282a1-faf7-4d37-8f4a-cbddedf6db8f"
SIZES = {"thumb": 100, "square-400": 400, "square-640": 640, "square-888": 888, "itunes": 1400,
         "square-3000": 3000}


def assets(styles, content_type="image/jpeg", base="https://cdn.example/img/"):
    """Media asset resources as the build makes them, in a shuffled order."""
    out = []
    for style in styles:
        side = SIZES.get(style, 4000)
        out.append(media_asset_resource(
            f"asset-{style}", style=style, cdn_url=f"{base}{style}.jpg", content_type=content_type,
            file_name=f"{style}.jpg", file_size=1000, size_width=side, size_height=side,
            attachment_id="img-1",
        ))
    return out


def parse(snippet):
    wrapper = f'<channel xmlns:podcast="{PODCAST_NS}" xmlns:itunes="{ITUNES_NS}">{snippet}</channel>'
    return ET.fromstring(wrapper)


def podcast_images(root):
    return [e.attrib for e in root.findall(f"{{{PODCAST_NS}}}image")]


def itunes_href(root):
    (element,) = root.findall(f"{{{ITUNES_NS}}}image")
    return element.attrib["href"]


ALL = ["original", "stripped-original", "regular", "square-3000", "itunes", "thumb", "square-888",
       "square-640", "square-400"]


def test_all_square_styles_smallest_first_and_square_3000_for_itunes():
    root = parse(render_feed_images("Series", SERIES, assets(ALL)))
    images = podcast_images(root)
    assert [int(i["width"]) for i in images] == [100, 400, 640, 888, 1400, 3000]
    assert images[0] == {
        "href": "https://cdn.example/img/thumb.jpg",
        "aspect-ratio": "1/1",
        "width": "100",
        "height": "100",
        "type": "image/jpeg",
        "purpose": "artwork",
    }
    assert all(i["width"] == i["height"] and i["aspect-ratio"] == "1/1" for i in images)
    assert not any("regular" in i["href"] or "original" in i["href"] for i in images)
    assert itunes_href(root) == "https://cdn.example/img/square-3000.jpg"


def test_without_square_3000_itunes_is_used():
    root = parse(render_feed_images("Series", SERIES, assets([s for s in ALL if s != "square-3000"])))
    assert [int(i["width"]) for i in podcast_images(root)] == [100, 400, 640, 888, 1400]
    assert itunes_href(root) == "https://cdn.example/img/itunes.jpg"


def test_flat_attribute_dicts_are_accepted():
    flat = [a["attributes"] for a in assets(["itunes", "thumb"])]
    root = parse(render_feed_images("Series", SERIES, flat))
    assert len(podcast_images(root)) == 2


def test_attributes_are_xml_escaped():
    base = 'https://cdn.example/img?a=1&b="2"&c=<3>/'
    alt = 'Cover: "Tom & Jerry" <live>'
    snippet = render_feed_images("Series", SERIES, assets(["itunes"], base=base), alt=alt)
    assert "&amp;" in snippet and "<3>" not in snippet
    root = parse(snippet)
    assert podcast_images(root)[0]["href"] == base + "itunes.jpg"
    assert podcast_images(root)[0]["alt"] == alt
    assert itunes_href(root) == base + "itunes.jpg"


def test_the_bucket_is_named_in_a_comment():
    snippet = render_feed_images("Series", SERIES, assets(["itunes"]))
    assert snippet.startswith(f"<!-- ART19 artwork of Series {SERIES} -->\n")
    assert snippet.endswith("/>\n")


@pytest.mark.parametrize(
    "bucket_type, bucket_id, asset_list, match",
    [
        ("Network", SERIES, assets(["itunes"]), "Series"),
        ("Series", "a--b", assets(["itunes"]), "comment"),
        ("Series", SERIES, assets(["thumb", "regular"]), "itunes"),
        ("Series", SERIES, assets(["itunes"], content_type="image/webp"), "JPEG or PNG"),
        ("Series", SERIES, assets(["itunes", "itunes"]), "twice"),
    ],
)
def test_errors(bucket_type, bucket_id, asset_list, match):
    with pytest.raises(ValueError, match=match):
        render_feed_images(bucket_type, bucket_id, asset_list)


def test_non_square_asset_is_an_error():
    bad = assets(["itunes"])
    bad[0]["attributes"]["size_height"] = 1399
    with pytest.raises(ValueError, match="not square"):
        render_feed_images("Series", SERIES, bad)

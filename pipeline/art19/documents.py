"""The ART19 documents the build publishes (api-reference §5): one JSON:API image resource per
podcast image, one media asset resource per rendered style, and a feed artwork file per series
(``feeds``). Pure functions of the plan and of the rendered files' sizes."""

from pathlib import Path

from pipeline.art19.feeds import render_feed_images
from pipeline.art19.jsonapi import image_resource, media_asset_resource
from pipeline.art19.podcast import asset_attributes
from pipeline.model import layout


def podcast_documents(plan, output: Path, size_of=None) -> dict:
    """The ART19 resources of every podcast image of ``plan`` (a ``BuildPlan``) whose files exist:
    ``{"images": {id: image resource}, "media_assets": {id: {"resource", "file"}},
    "feeds": {"Series/{id}": feed file}}``; feed texts are returned under ``"feed_texts"``.
    ``size_of(relpath) -> int | None`` gives file sizes (default: ``stat`` under ``output``)."""
    images, assets, feeds, texts = {}, {}, {}, {}
    for image_id, podcast in plan.podcast.items():
        resources = []
        for asset in podcast.assets:
            if size_of is not None:
                size = size_of(asset.file)
                if size is None:
                    continue
            else:
                try:
                    size = (output / asset.file).stat().st_size
                except OSError:
                    continue
            attributes = asset_attributes(podcast, asset, size, plan.base_url)
            resource = media_asset_resource(asset.id, attachment_id=image_id, **attributes)
            assets[asset.id] = {"resource": resource, "file": asset.file}
            resources.append(resource)
        image = podcast.image
        images[image_id] = image_resource(
            image_id, crop_data=image.crop, created_at=image.created_at, updated_at=image.updated_at,
            bucket_type=image.bucket_type, bucket_id=image.bucket_id,
            media_asset_ids=[r["id"] for r in resources])
        key = f"{image.bucket_type}/{image.bucket_id}"
        if image.bucket_type == "Series" and key not in feeds and any(
                r["attributes"]["style"] in ("itunes", "square-3000") for r in resources):
            feeds[key] = layout.feed_file(image.bucket_type, image.bucket_id)
            texts[feeds[key]] = render_feed_images(image.bucket_type, image.bucket_id, resources)
    return {"images": images, "media_assets": assets, "feeds": feeds, "feed_texts": texts}



def document_files(plan) -> list[str]:
    """Every file ``podcast_documents`` can produce for ``plan`` (doit targets): image and media
    asset documents, and the feed file of each series."""
    files = []
    for image_id, podcast in plan.podcast.items():
        files.append(layout.art19_file("images", image_id))
        files += [layout.art19_file("media_assets", a.id) for a in podcast.assets]
        if podcast.image.bucket_type == "Series":
            files.append(layout.feed_file("Series", podcast.image.bucket_id))
    return files

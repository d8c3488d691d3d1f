"""The JSON objects clients read about items and users (api-reference §2): ``BaseItemDto``
image fields (PascalCase, nulls omitted), ``ImageInfo`` lists, user objects with
``PrimaryImageTag`` and ``UserData``. Pure functions of a ``BuildPlan``; inherited fields come
from ``plan.inheritance``. ``outputs.objects`` writes them."""

from pipeline.catalog.loader import Owner
from pipeline.model.ids import SERVER_ID
from pipeline.outputs.fields import item_fields, published_ids
from pipeline.model.imagetypes import IMAGE_TYPES, MULTI_IMAGE_TYPES
from pipeline.plan.inheritance import inherited_fields
from pipeline.plan.planner import BuildPlan, SourcePlan


def _aspect_ratio(source: SourcePlan) -> float:
    return source.probe.width / source.probe.height


def item_dto(plan: BuildPlan, item: Owner) -> dict:
    """The image fields of a ``BaseItemDto`` for ``item`` (api-reference §2), with the identity
    and hierarchy fields clients read (``fields.item_fields``: GUID ids, ``SeriesId`` …).

    ``ImageTags`` holds single-image types; ``BackdropImageTags`` and ``ScreenshotImageTags``
    (both always present) the multi ones; chapter images are ``Chapters[].ImageTag``.
    ``ImageBlurHashes`` covers own and inherited images; ``PrimaryImageAspectRatio`` is the
    upright primary width / height.
    """
    dto: dict = {"Id": item.guid, "Name": item.name, "Type": item.type} | item_fields(plan.library, item)
    tags = {t: plan.tags_of("Items", item.id, t) for t in IMAGE_TYPES}
    dto["ImageTags"] = {t: v[0] for t, v in tags.items() if v and t not in MULTI_IMAGE_TYPES}
    dto["BackdropImageTags"] = tags["Backdrop"]
    dto["ScreenshotImageTags"] = tags["Screenshot"]
    if tags["Chapter"]:
        dto["Chapters"] = [{"Name": f"Chapter {i + 1}", "ImageTag": tag}
                           for i, tag in enumerate(tags["Chapter"])]
    inherited = inherited_fields(plan, item)
    blurhashes: dict[str, dict[str, str]] = {}
    for image_type, values in tags.items():
        for tag in values:
            blurhashes.setdefault(image_type, {})[tag] = plan.sources[tag].probe.blurhash
    for name, value in inherited.items():
        if name.endswith("ImageTag") or name.endswith("ImageTags"):
            image_type = _inherited_type(name)
            for tag in value if isinstance(value, list) else [value]:
                blurhashes.setdefault(image_type, {})[tag] = plan.sources[tag].probe.blurhash
    dto["ImageBlurHashes"] = blurhashes
    if tags["Primary"]:
        dto["PrimaryImageAspectRatio"] = _aspect_ratio(plan.sources[tags["Primary"][0]])
    dto.update(published_ids(plan.library, inherited))
    return dto


def _inherited_type(field: str) -> str:
    for image_type in ("Primary", "Thumb", "Backdrop", "Logo", "Art"):
        if image_type in field:
            return image_type
    raise ValueError(field)


def image_infos(plan: BuildPlan, owner: Owner) -> list[dict]:
    """The ``ImageInfo`` list of ``GET /Items/{id}/Images``: single types first (``ImageIndex``
    null), then each multi type by index. ``Width``/``Height`` upright pixels, ``Size`` bytes of
    the source file, ``Path`` the catalog path."""
    infos = []
    for multi in (False, True):
        for image_type in IMAGE_TYPES:
            if (image_type in MULTI_IMAGE_TYPES) != multi:
                continue
            for index, tag in enumerate(plan.tags_of(owner.kind, owner.id, image_type)):
                source = plan.sources[tag]
                infos.append({
                    "ImageType": image_type,
                    "ImageIndex": index if multi else None,
                    "ImageTag": tag,
                    "Path": plan.slot_paths.get((owner.kind, owner.id, image_type, index), source.relpath),
                    "BlurHash": source.probe.blurhash,
                    "Width": source.probe.width,
                    "Height": source.probe.height,
                    "Size": source.probe.size,
                })
    return infos


def user_dto(plan: BuildPlan, user: Owner) -> dict:
    """The image fields of a ``UserDto``: ``Id`` (GUID), ``Name``, ``ServerId``,
    ``PrimaryImageTag`` and ``PrimaryImageAspectRatio`` when the user has a primary image."""
    dto: dict = {"Id": user.guid, "Name": user.name, "ServerId": SERVER_ID}
    tag = plan.tag_of("Users", user.id, "Primary")
    if tag:
        dto["PrimaryImageTag"] = tag
        dto["PrimaryImageAspectRatio"] = _aspect_ratio(plan.sources[tag])
    return dto


def user_item_dto(plan: BuildPlan, user: Owner, item: Owner) -> dict:
    """``item_dto`` plus the user's ``UserData`` (Jellyfin's ``UserItemDataDto``: ``Played``,
    ``PlayedPercentage``, ``UnplayedItemCount``, ``Key``, ``ItemId``); defaults when the
    catalog has no entry for the pair."""
    dto = item_dto(plan, item)
    data = plan.library.user_data.get((user.id, item.id), {"played": False})
    user_data = {"Played": data["played"]}
    if "playedPercentage" in data:
        user_data["PlayedPercentage"] = data["playedPercentage"]
    if "unplayedItemCount" in data:
        user_data["UnplayedItemCount"] = data["unplayedItemCount"]
    dto["UserData"] = {**user_data, "Key": item.guid, "ItemId": item.guid}
    return dto

"""The media-server ``ImageType`` values.

Source: seeds 000 (Emby), 001/002 (Jellyfin) and api-reference §1. The order is Jellyfin's
enum order; ``ChapterImage`` (Emby's spelling) is accepted for ``Chapter``.
"""

IMAGE_TYPES: tuple[str, ...] = (
    "Primary", "Art", "Backdrop", "Banner", "Logo", "Thumb", "Disc", "Box",
    "Screenshot", "Menu", "Chapter", "BoxRear", "Profile",
)

#: Types that can hold several images, addressed by index (seed 000 "Index").
MULTI_IMAGE_TYPES: frozenset[str] = frozenset({"Backdrop", "Screenshot", "Chapter"})

#: Every accepted spelling (lowercase) → the ``ImageType`` (``parse_image_type``'s table; the
#: nginx generator emits it as a map).
TYPE_NAMES: dict[str, str] = {name.lower(): name for name in IMAGE_TYPES} | {"chapterimage": "Chapter"}


def parse_image_type(text: str) -> str | None:
    """Return the canonical ``ImageType`` for ``text`` (case-insensitive), or None.

    ``"backdrop"`` → ``"Backdrop"``; ``"ChapterImage"`` → ``"Chapter"``; unknown → None.
    """
    return TYPE_NAMES.get(text.lower())


def type_order(image_type: str) -> int:
    """Position of ``image_type`` in Jellyfin's enum (used to order ``ImageInfo`` lists)."""
    return IMAGE_TYPES.index(image_type)

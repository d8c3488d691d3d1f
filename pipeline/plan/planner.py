"""Pure planning: which derivative files must exist for every source image, and their names.

No pixels are touched here beyond the ``Probe`` of each source (its size and content hash).
Input: a validated ``Library`` and the probes; output: a ``BuildPlan`` with one
``SourcePlan`` per tag (one doit task each) and the tag of every image slot.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model import layout
from pipeline.catalog.loader import ImageSlot, Library
from pipeline.model.formats import FORMATS, ORIGINAL
from pipeline.model.decoration import Decoration
from pipeline.model.derivative import Derivative
from pipeline.plan.probe import Probe
from pipeline.catalog.settings import Profile
from pipeline.model.sizing import SizeRequest, output_size


@dataclass(frozen=True)
class SourcePlan:
    """Everything one render task needs: the source, its tag and its derivatives.

    ``tag``: 32 lowercase hex (api-reference §2 "Tags"); ``path``: absolute source path;
    ``relpath``: as written in the catalog.
    """

    tag: str
    image_type: str
    path: Path
    relpath: str
    probe: Probe
    profile: Profile
    derivatives: tuple[Derivative, ...]

    @property
    def rendered(self) -> tuple[Derivative, ...]:
        """The derivatives that need pixels (everything but the original copy)."""
        return tuple(d for d in self.derivatives if not d.original)


@dataclass
class BuildPlan:
    """The whole build: ``sources`` by tag, ``slot_tags`` by (kind, owner id, ImageType, index),
    ``failed`` source paths with the reason (their slots are left out of every object), and the
    ART19 ``podcast`` images with the ``base_url`` of their ``cdn_url``s."""

    library: Library
    sources: dict[str, SourcePlan] = field(default_factory=dict)
    slot_tags: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    slot_paths: dict[tuple[str, str, str, int], str] = field(default_factory=dict)  # catalog relpath
    failed: dict[str, str] = field(default_factory=dict)
    podcast: dict = field(default_factory=dict)   # image id -> podcast.PodcastPlan
    probes: dict = field(default_factory=dict)    # absolute source path -> Probe
    base_url: str = ""                            # prefix of ART19 cdn_url values

    def tag_of(self, kind: str, owner_id: str, image_type: str, index: int = 0) -> str | None:
        """The tag of an image slot, or None when the slot is empty or its source failed."""
        return self.slot_tags.get((kind, owner_id, image_type, index))

    def tags_of(self, kind: str, owner_id: str, image_type: str) -> list[str]:
        """Tags of every image of a type, by index (stops at the first missing index)."""
        tags = self.slot_tags     # called for every ImageType of every owner: plain lookups
        out, index = [], 0
        while (tag := tags.get((kind, owner_id, image_type, index))) is not None:
            out.append(tag)
            index += 1
        return out


def image_tag(probe: Probe, profile: Profile, fingerprint: str | None = None) -> str:
    """The cache tag: MD5 of the source content and of everything that changes published bytes
    (the profile: sizes, formats, qualities, default quality, background, renderer version).
    ``fingerprint``: ``profile.fingerprint()`` when the caller has it already.

    Same inputs → same tag on every machine; a changed source or setting → a new tag and so new
    URLs (seed 000 "Tag": the tag doubles as a caching value).
    """
    if fingerprint is None:
        fingerprint = profile.fingerprint()
    return hashlib.md5(f"{probe.md5}\n{fingerprint}".encode()).hexdigest()


def plan_derivatives(tag: str, probe: Probe, profile: Profile) -> tuple[Derivative, ...]:
    """Every file of one source: the original copy (for a source in a format browsers do not
    all read, such as TIFF, a full-size rendering instead), then each distinct (size, format,
    quality, decoration) of the profile's base and variants.

    ``Original`` in a format list means the source's own format. Sizes follow
    ``sizing.output_size`` (never larger than the source); requests that give the same pixel
    size share one file. Lossless formats get one file per size, lossy ones one per quality.
    """
    files: dict[str, Derivative] = {}
    if probe.native:
        original = Derivative(layout.original_file(tag, probe.format), probe.width, probe.height,
                              probe.format, None, original=True)
    else:  # e.g. TIFF: publish a full-size rendering in the format it is published as
        quality = profile.quality if FORMATS[probe.format].lossy else None
        original = Derivative(layout.derivative_file(tag, probe.width, probe.height, probe.format, quality),
                              probe.width, probe.height, probe.format, quality, requests=(SizeRequest(),))
    files[original.file] = original
    for variant in profile.all_variants():
        formats = list(dict.fromkeys(probe.format if f == ORIGINAL else f for f in variant.formats))
        for request in variant.sizes:
            width, height = output_size(probe.width, probe.height, request)
            for fmt in formats:
                for quality in (variant.qualities if FORMATS[fmt].lossy else (None,)):
                    for decoration in variant.decorations:
                        path = layout.derivative_file(tag, width, height, fmt, quality, decoration.key())
                        known = files.get(path)
                        if known is None:
                            files[path] = Derivative(path, width, height, fmt, quality,
                                                     keeps_aspect=request.keeps_aspect(),
                                                     requests=(request,), decoration=decoration)
                        elif request not in known.requests:
                            files[path] = Derivative(known.file, width, height, fmt, quality, False,
                                                     known.keeps_aspect or request.keeps_aspect(),
                                                     known.requests + (request,), decoration)
    return tuple(files.values())


def make_plan(library: Library, probes: dict[Path, Probe]) -> BuildPlan:
    """Plan the build of ``library`` from the ``probes`` of its source files (by absolute path).

    A slot whose source failed to probe gets no tag; its path and reason go to ``failed``, and
    the remaining images of a multi-image type keep consecutive indexes (0, 1, …).
    """
    plan = BuildPlan(library, probes=probes)
    fingerprints: dict[str, str] = {}    # ImageType → its profile's fingerprint, made once (not per slot)
    for owner in library.owners():
        for image_type, slots in owner.images.items():
            index = 0  # published indexes stay consecutive when a source fails
            for slot in slots:
                probe = probes[slot.path]
                if probe.error:
                    plan.failed[slot.relpath] = probe.error
                    continue
                profile = library.settings.profile(image_type)
                if image_type not in fingerprints:
                    fingerprints[image_type] = profile.fingerprint()
                source = _source_plan(plan, slot, probe, profile, fingerprints[image_type])
                key = (owner.kind, owner.id, image_type, index)    # one tuple for both maps
                plan.slot_tags[key] = source.tag
                plan.slot_paths[key] = slot.relpath
                index += 1
    return plan


def _source_plan(plan: BuildPlan, slot: ImageSlot, probe: Probe, profile: Profile, fingerprint: str) -> SourcePlan:
    tag = image_tag(probe, profile, fingerprint)
    known = plan.sources.get(tag)
    if known is None:
        known = SourcePlan(tag, slot.image_type, slot.path, slot.relpath, probe, profile,
                           plan_derivatives(tag, probe, profile))
        plan.sources[tag] = known
    return known

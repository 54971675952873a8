"""The media checks of one post: registry look-alikes, someone else's copyright, GPS, unattributed reposts."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from govern.policy.engine.findings import Detection
from govern.policy.images.decoding import pixel_count
from govern.policy.images.fingerprints import HASH_BITS, ImageFingerprint, RegistrySnapshot, fingerprint
from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from govern.policy.images.metadata import name_key, names_company, third_party_claims
from govern.policy.models import RightsStatus

IMAGE_PROTECTED = "IMAGE_PROTECTED"
IMAGE_EXIF_COPYRIGHT = "IMAGE_EXIF_COPYRIGHT"
IMAGE_GPS = "IMAGE_GPS"
REPOST_UNATTRIBUTED = "REPOST_UNATTRIBUTED"


# --- reposts ----------------------------------------------------------------------------------------

# The post says it is someone else's content ...
_REPOST_MARKER = re.compile(
    r"(?<!\w)(?:#?re-?post(?:ed|ing)?|#?regram(?:med)?|RT(?=\s|:|$)|إعادة نشر|#?ريبوست|#?ריפוסט|שיתוף מחדש|פורסם מחדש)(?!\w)",
    re.IGNORECASE,
)
# ... and names where it came from.
_SOURCE_NAMED = re.compile(r"@\w|https?://|www\.", re.IGNORECASE)
_CREDIT_MARKER = re.compile(
    r"©|\(c\)|(?<!\w)(?:credits?|photo(?:graph)?\s+by|image\s+by|pic\s+by|via|h/t|hat\s+tip|source|courtesy(?:\s+of)?)(?!\w)"
    r"|📷|📸|المصدر|تصوير|بعدسة|بإذن|بإذن من|حقوق الصورة|קרדיט|צילום|באדיבות|מקור",
    re.IGNORECASE,
)


def text_repost_detections(text: str) -> list[Detection]:
    """A repost marker ("repost", "#regram", "RT", إعادة نشر, ריפוסט) in a post that names no source.

    The heuristic: a post that calls itself a repost but carries no @handle, no link and no credit
    marker (©, credit, photo by, via, source, צילום, تصوير, ...) republishes someone's content without
    saying whose. "RT @someone ..." is attributed and passes.
    """
    if not text or _SOURCE_NAMED.search(text) or _CREDIT_MARKER.search(text):
        return []
    detections = []
    for match in _REPOST_MARKER.finditer(text):
        if match.group(0).lower() == "rt" and match.group(0) != "RT":
            continue  # "RT" is a marker only in capitals
        detections.append(Detection(
            REPOST_UNATTRIBUTED, match.start(), match.end(), kind="repost_marker",
            detail=f"the post calls itself a repost ('{match.group(0)}') but names no source (@handle, link or credit)",
        ))
    return detections


def credits_source(text: str, names: Sequence[str]) -> bool:
    """Does the post credit anybody: a credit marker, an @handle or link, or one of these names?"""
    if _CREDIT_MARKER.search(text) or _SOURCE_NAMED.search(text):
        return True
    text_key = name_key(text)
    return any(
        (key := name_key(name)) and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", text_key) for name in names
    )


# --- the checks -------------------------------------------------------------------------------------

def scan_media(
    images: Sequence[bytes],
    registry: RegistrySnapshot,
    *,
    company_names: Sequence[str] = (),
    text: str = "",
    limits: ImageLimits = DEFAULT_LIMITS,
) -> list[Detection]:
    """All media detections of one post; raises ImageRejected (with media_index) for an unusable attachment.

    Per attachment (media_index = its position, start = end = 0):
    - IMAGE_PROTECTED: within MATCH_DISTANCE pHash bits of a *protected* registry image in any of the
      eight orientations. A *licensed* registry match is allowed and produces no IMAGE_PROTECTED.
    - IMAGE_EXIF_COPYRIGHT: EXIF Copyright/Artist or XMP dc:rights/dc:creator names someone other
      than the company and the image matches no licensed registry entry (the license record).
    - IMAGE_GPS: the metadata carries a position; offer strip_metadata()'s copy instead.
    - REPOST_UNATTRIBUTED (kind "licensed_without_credit"): a licensed third-party image while the text
      credits nobody (no credit marker, @handle, link, licensor or metadata name).
    Plus the text-only REPOST_UNATTRIBUTED of text_repost_detections(), which points into the text
    (media_index None).
    """
    _check_request_pixels(images, limits)
    detections: list[Detection] = []
    started = time.monotonic()
    for media_index, data in enumerate(images):
        if media_index and time.monotonic() - started > limits.max_decode_seconds:
            raise ImageRejected(
                "too_slow", f"decoding the attachments before it took more than the {limits.max_decode_seconds:g} seconds "
                "accepted per post", media_index, limit="max_decode_seconds", limit_value=limits.max_decode_seconds,
            )
        try:
            facts = fingerprint(data, limits)
        except ImageRejected as exc:
            raise exc.at(media_index) from None
        detections.extend(_image_detections(media_index, facts, registry, company_names, text))
    detections.extend(text_repost_detections(text))
    return detections


def _check_request_pixels(images: Sequence[bytes], limits: ImageLimits) -> None:
    """Refuse the whole post from the headers' dimensions, before a single image is decoded."""
    total = 0
    for media_index, data in enumerate(images):
        try:
            total += pixel_count(data, limits)
        except ImageRejected as exc:
            raise exc.at(media_index) from None
    if total > limits.max_pixels_per_request:
        raise ImageRejected(
            "too_many_pixels", f"the attachments hold {total:,} pixels together; at most {limits.max_pixels_per_request:,} "
            "are accepted per post", limit="max_pixels_per_request", limit_value=limits.max_pixels_per_request,
        )


def _image_detections(
    media_index: int, facts: ImageFingerprint, registry: RegistrySnapshot, company_names: Sequence[str], text: str
) -> list[Detection]:
    found: list[Detection] = []
    match = registry.nearest(facts)
    licensed = match is not None and match.image.status == RightsStatus.LICENSED
    if match is not None and match.image.status == RightsStatus.PROTECTED:
        owner = f", owned by {match.image.licensor}" if match.image.licensor else ""
        found.append(_on_medium(
            IMAGE_PROTECTED, media_index, "protected",
            f"looks like the protected image '{match.image.label}' (registry #{match.image.id}{owner}): "
            f"{match.distance} of {HASH_BITS} pHash bits differ, {match.orientation}",
        ))
    others = third_party_claims(facts.rights_claims, company_names)
    if others and not licensed:
        claim = others[0]
        found.append(_on_medium(
            IMAGE_EXIF_COPYRIGHT, media_index, claim.source,
            f"the image metadata ({claim.source.replace('_', ' ')}) names '{claim.holder}', not the company, "
            "and no license for this image is registered",
        ))
    if facts.gps_source:
        found.append(_on_medium(
            IMAGE_GPS, media_index, facts.gps_source,
            "the image metadata holds GPS coordinates of where it was taken; publish the stripped copy instead",
        ))
    if licensed and match.image.licensor and not names_company(match.image.licensor, company_names):
        names = [match.image.licensor, *(claim.holder for claim in facts.rights_claims)]
        if not credits_source(text, names):
            found.append(_on_medium(
                REPOST_UNATTRIBUTED, media_index, "licensed_without_credit",
                f"licensed from {match.image.licensor} (registry #{match.image.id}) but the post credits nobody",
            ))
    return found


def _on_medium(entity: str, media_index: int, kind: str, detail: str) -> Detection:
    return Detection(entity, 0, 0, kind=kind, media_index=media_index, detail=detail)

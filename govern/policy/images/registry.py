"""The image registry: registering protected and licensed images, and the snapshot the media checks read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor

from govern.audit.service import record
from govern.errors import Conflict, InvalidOperation
from govern.policy.images.fingerprints import KnownImage, RegistrySnapshot, fingerprint
from govern.policy.images.limits import DEFAULT_LIMITS, ImageLimits, ImageRejected
from govern.policy.models import RegisteredImage, RightsStatus


def register_image(
    session: Session,
    actor: Actor,
    image_bytes: bytes,
    label: str,
    status: RightsStatus | str,
    licensor: str | None = None,
    license_ref: str | None = None,
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> RegisteredImage:
    """Fingerprint the image and add it to the registry, with its audit event; flushes, never commits.

    Refused: an unreadable image, a licensed image with neither licensor nor license reference, the
    same bytes twice, and a look-alike of an entry with the other status (the checks could not tell
    which of the two applies).
    """
    label = (label or "").strip()
    if not label:
        raise InvalidOperation("a registered image needs a label")
    try:
        status = RightsStatus(status)
    except ValueError:
        raise InvalidOperation("status must be one of %(value)s, not %(status)s", value=', '.join(s.value for s in RightsStatus), status=f"{status!r}") from None
    licensor = (licensor or "").strip() or None
    license_ref = (license_ref or "").strip() or None
    if status is RightsStatus.LICENSED and not (licensor or license_ref):
        raise InvalidOperation("a licensed image needs the licensor or the license reference")
    try:
        facts = fingerprint(image_bytes, limits)
    except ImageRejected as exc:
        raise InvalidOperation("the image was not registered: %(message)s", message=exc.message) from None

    existing = session.scalar(select(RegisteredImage).where(RegisteredImage.sha256 == facts.sha256))
    if existing is not None:
        raise Conflict("this image is already registered as #%(id)s '%(label)s' (%(value)s)", id=existing.id, label=existing.label, value=existing.status.value)
    lookalike = registry_snapshot(session).nearest(facts)
    if lookalike is not None and lookalike.image.status is not status:
        raise Conflict(
            "this image looks like #%(id)s '%(label)s', registered as %(value)s; remove that entry first", id=lookalike.image.id, label=lookalike.image.label, value=lookalike.image.status.value
        )

    image = RegisteredImage(
        label=label, status=status, licensor=licensor, license_ref=license_ref, phash=facts.phash,
        sha256=facts.sha256, width=facts.width, height=facts.height, image_format=facts.format,
        registered_by=actor.id,
    )
    session.add(image)
    session.flush()
    record(session, actor, "policy:image:register", "registered_image", image.id, after=_audit_view(image))
    return image


def registry_snapshot(session: Session) -> RegistrySnapshot:
    """Every registered image as plain data, for govern.policy.images.checks.scan_media."""
    rows = session.scalars(select(RegisteredImage).order_by(RegisteredImage.id))
    return RegistrySnapshot(tuple(
        KnownImage(
            id=row.id, label=row.label, status=RightsStatus(row.status), phash=row.phash, sha256=row.sha256,
            licensor=row.licensor, license_ref=row.license_ref,
        )
        for row in rows
    ))


def _audit_view(image: RegisteredImage) -> dict[str, object]:
    return {
        "label": image.label, "status": image.status.value, "licensor": image.licensor,
        "license_ref": image.license_ref, "phash": image.phash, "sha256": image.sha256,
        "size": f"{image.width}x{image.height}", "format": image.image_format,
    }

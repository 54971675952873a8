"""The image registry on the real migrated database: registering with an audit event, refusals, the snapshot, the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from govern import app_services
from govern.audit.models import AuditEvent
from govern.audit.trail import verify_chain
from govern.errors import Conflict, InvalidOperation
from govern.policy.images.checks import IMAGE_PROTECTED, scan_media
from govern.policy.images.cli import register_image_command
from govern.policy.images.registry import register_image, registry_snapshot
from govern.policy.models import RegisteredImage, RightsStatus
from tests.support.images import encode, picture


def png(seed: int) -> bytes:
    return encode(picture(seed), "PNG")


def test_registering_stores_the_fingerprint_and_an_audit_event(session, actor):
    image = register_image(session, actor, png(1), "  Rival launch photo ", "protected", licensor="Rival Co")

    stored = session.get(RegisteredImage, image.id)
    assert (stored.label, stored.status, stored.licensor, stored.width, stored.height, stored.image_format) == (
        "Rival launch photo", RightsStatus.PROTECTED, "Rival Co", 320, 240, "PNG")
    assert len(stored.phash) == 16 and len(stored.sha256) == 64 and stored.registered_by == actor.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy:image:register")).one()
    assert event.target_id == str(image.id) and event.summary["after"]["sha256"] == stored.sha256
    assert verify_chain(session).ok


def test_the_snapshot_feeds_the_media_checks(session, actor):
    register_image(session, actor, png(1), "protected one", RightsStatus.PROTECTED)
    register_image(session, actor, png(2), "licensed one", RightsStatus.LICENSED, licensor="ACME Ltd.", license_ref="PO-7")

    snapshot = registry_snapshot(session)

    assert [(i.label, i.status, i.license_ref) for i in snapshot.images] == [
        ("protected one", RightsStatus.PROTECTED, None), ("licensed one", RightsStatus.LICENSED, "PO-7")]
    mirrored = encode(picture(1).transpose(Image.Transpose.FLIP_LEFT_RIGHT), quality=60)
    found = scan_media([encode(picture(2)), mirrored], snapshot, company_names=["ACME"])
    assert [(d.entity, d.media_index) for d in found] == [(IMAGE_PROTECTED, 1)]


@pytest.mark.parametrize("data, label, status, licensor, error", [
    (b"not an image", "x", "protected", None, InvalidOperation),
    (png(3), "   ", "protected", None, InvalidOperation),
    (png(3), "x", "stolen", None, InvalidOperation),
    (png(3), "x", "licensed", None, InvalidOperation),  # a license names its licensor or reference
])
def test_refusals_change_nothing(session, actor, data, label, status, licensor, error):
    before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    with pytest.raises(error):
        register_image(session, actor, data, label, status, licensor=licensor)
    assert session.scalars(select(RegisteredImage)).all() == []
    assert session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before


def test_the_same_image_twice_or_a_lookalike_with_the_other_status_is_a_conflict(session, actor):
    register_image(session, actor, png(4), "original", "protected")
    with pytest.raises(Conflict, match="already registered"):
        register_image(session, actor, png(4), "again", "protected")
    with pytest.raises(Conflict, match="looks like"):
        register_image(session, actor, encode(picture(4), quality=70), "now licensed?", "licensed", licensor="Someone")
    register_image(session, actor, encode(picture(4), quality=70), "a second copy", "protected")  # same status: fine
    assert len(registry_snapshot(session).images) == 2


@pytest.fixture
def cli_app(app, monkeypatch):
    """with_app builds the app from the environment; here it gets the test app (and its per-test transaction)."""
    import govern

    monkeypatch.setattr(govern, "create_app", lambda *args, **kwargs: app)
    monkeypatch.setenv("GOVERN_DATABASE_URL", app_services.settings(app).effective_database_url)  # checked first
    monkeypatch.setenv("GOVERN_SECRET_KEY", app.config["SECRET_KEY"])
    return app


def test_the_register_image_command(cli_app, session, tmp_path):
    path = tmp_path / "agency.png"
    path.write_bytes(png(5))

    result = CliRunner().invoke(register_image_command, [str(path), "--label", "Agency shot", "--status", "licensed",
                                                          "--licensor", "Agency", "--license-ref", "L-42"])

    assert result.exit_code == 0, result.output
    assert "registered image #" in result.output and "licensed" in result.output
    registered = [(i.label, i.licensor, i.license_ref) for i in registry_snapshot(session).images]
    assert registered == [("Agency shot", "Agency", "L-42")]
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"plain text")
    refused = CliRunner().invoke(register_image_command, [str(bad), "--label", "x", "--status", "protected"])
    assert refused.exit_code == 1 and "not an image" in refused.output

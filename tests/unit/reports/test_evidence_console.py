"""The console's evidence bundles: asked for as a background job, progress shown, a download when ready that an
auditor verifies offline; only roles that read the audit trail see them."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

from sqlalchemy import select

from govern.evidence.bundle import verify_bundle
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.actor import Actor
from govern.outbox.models import JobState, OutboxJob
from govern.evidence.models import EvidenceExport, ExportState
from tests.support.console import csrf_token_of, signed_in_client


def _client(app, session, role):
    user = ensure_console_user(session, Actor.system("tests"), f"{role.value}@evidence.test", role.value, role)
    session.commit()
    return signed_in_client(app, user.id)


def test_a_bundle_is_prepared_in_the_background_then_downloaded(app, session):
    from govern.jobs import relay

    client = _client(app, session, Role.AUDITOR)
    page = client.get("/evidence")
    assert page.status_code == 200 and "Evidence bundles" in page.get_data(as_text=True)
    asked = client.post("/evidence", data={"from": "2020-01-01", "to": "2099-12-31", "csrf_token": csrf_token_of(page)})
    assert asked.status_code == 302
    export = session.scalars(select(EvidenceExport).order_by(EvidenceExport.id.desc())).first()
    assert export.state is ExportState.QUEUED and export.requested_by.startswith("console_user:")
    job = session.scalar(select(OutboxJob).where(OutboxJob.job_id == export.job_id))
    assert job.task == "govern.audit.export_evidence" and job.state is JobState.PENDING  # embedded: left to the relay
    assert "Waiting for the job queue" in client.get("/evidence").get_data(as_text=True)

    assert relay(app).delivered >= 1  # what the schedule's relay does within a minute
    session.expire_all()
    export = session.get(EvidenceExport, export.id)
    assert export.state is ExportState.DONE, export.error
    assert export.progress_total > 0 and export.progress_done == export.progress_total and export.size_bytes > 0
    listing = client.get("/evidence").get_data(as_text=True)
    assert f"/evidence/{export.id}/download" in listing and "Ready" in listing

    download = client.get(f"/evidence/{export.id}/download")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/zip"
    data = download.get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "reports/access.pdf" in archive.namelist() and "audit/events.jsonl" in archive.namelist()
    assert verify_bundle(data).ok
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.target_type.in_(("evidence_export", "evidence_bundle")))))
    assert {"audit:evidence_export:request", "audit:evidence:export", "audit:evidence_export:download"} <= actions


def test_a_bad_period_is_shown_next_to_its_field(app, session):
    client = _client(app, session, Role.AUDITOR)
    token = csrf_token_of(client.get("/evidence"))
    refused = client.post("/evidence", data={"from": "2026-02-01", "to": "2026-01-01", "csrf_token": token})
    assert refused.status_code == 422 and "The period must start before it ends." in refused.get_data(as_text=True)
    bad = client.post("/evidence", data={"from": "yesterday", "to": "2026-01-01", "csrf_token": token})
    assert bad.status_code == 422 and 'id="evidence-from"' in bad.get_data(as_text=True)


def test_a_bundle_not_ready_is_not_downloaded(app, session):
    client = _client(app, session, Role.AUDITOR)
    export = EvidenceExport(requested_by="tests", period_from=datetime(2026, 1, 1, tzinfo=timezone.utc),
                            period_to=datetime(2026, 2, 1, tzinfo=timezone.utc),
                            state=ExportState.RUNNING, stage="audit events", progress_done=5, progress_total=10)
    session.add(export)
    session.commit()
    assert "50%" in client.get("/evidence").get_data(as_text=True)
    assert client.get(f"/evidence/{export.id}/download").status_code == 409


def test_roles_that_do_not_read_the_audit_trail_do_not_see_evidence(app, session):
    client = _client(app, session, Role.REVIEWER)
    assert client.get("/evidence").status_code == 403


def test_the_api_queues_a_bundle_shows_its_progress_and_serves_it(app, client, session, auth_headers):
    from govern.jobs import relay

    headers = auth_headers(Role.AUDITOR)
    asked = client.post("/api/v1/audit/evidence-exports", json={"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
                        headers=headers)
    assert asked.status_code == 202, asked.get_json()
    export = asked.get_json()
    assert export["state"] == "queued" and export["job_id"]
    assert client.get(f"/api/v1/audit/evidence-exports/{export['id']}/bundle", headers=headers).status_code == 409
    relay(app)
    state = client.get(f"/api/v1/audit/evidence-exports/{export['id']}", headers=headers).get_json()
    assert state["state"] == "done" and state["percent"] == 100 and state["progress_total"] > 0
    bundle = client.get(f"/api/v1/audit/evidence-exports/{export['id']}/bundle", headers=headers)
    assert bundle.status_code == 200 and verify_bundle(bundle.get_data()).ok
    backwards = client.post("/api/v1/audit/evidence-exports", json={"from": "2030-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"},
                            headers=headers)
    assert backwards.status_code == 422 and backwards.headers["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/audit/evidence-exports", headers=auth_headers(Role.IT)).status_code == 403


def test_a_running_export_without_progress_for_long_is_shown_stalled(app, session):
    from datetime import timedelta

    from govern.db import utcnow

    client = _client(app, session, Role.AUDITOR)
    long_ago = utcnow() - timedelta(hours=1)
    export = EvidenceExport(requested_by="tests", period_from=datetime(2026, 1, 1, tzinfo=timezone.utc),
                            period_to=datetime(2026, 2, 1, tzinfo=timezone.utc), state=ExportState.RUNNING, stage="audit events",
                            progress_done=5, progress_total=10, progress_at=long_ago, created_at=long_ago)
    session.add(export)
    session.commit()
    page = client.get("/evidence").get_data(as_text=True)
    assert "Stalled" in page and 'http-equiv="refresh"' not in page

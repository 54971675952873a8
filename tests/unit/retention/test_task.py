"""The daily job: scheduled once a day, and it purges through the same service as the CLI and the API."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.retention.conftest import audit_events, exists


def test_the_purge_is_scheduled_daily(app):
    schedule = {entry["task"]: entry["schedule"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert schedule["govern.retention.purge"] == 24 * 3600.0


def test_the_job_purges_and_audits_as_the_retention_system_actor(app, session, rows):
    old = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    kept = rows.notification(rows.cutoff("notifications") + timedelta(days=1)).id
    session.commit()

    result = app.extensions["celery"].tasks["govern.retention.purge"].apply().get()

    notifications = {item["kind"]: item for item in result}["notifications"]
    assert (notifications["outcome"], notifications["count"]) == ("deleted", 1)
    assert not exists(session, "notifications", old) and exists(session, "notifications", kept)
    [event] = audit_events(session, "retention:data:purge")
    assert event.actor == "system:retention" and event.summary["count"] == 1

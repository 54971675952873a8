"""The console's "sync now": the sync is a job in the outbox, and the runs page lists syncs that have not run yet."""

from __future__ import annotations

import html
import uuid

import pytest

from govern import app_services
from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.jobs import relay
from tests.support.console import signed_in_client


@pytest.fixture
def it_console(app, monkeypatch):
    """Signed in as IT, outside any app context of the test's own (each request then chooses its language)."""
    from govern.extensions import db

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    settings = app_services.settings(app)
    monkeypatch.setitem(app.extensions, "govern.settings",
                        settings.model_copy(update={"ldap_url": "ldap://127.0.0.1:1", "ldap_base_dn": "dc=example,dc=com"}))
    monkeypatch.setattr(app.extensions["govern.jobs.fast_path"], "paused_until", float("inf"))  # the queue did not answer
    with app.app_context():
        user_id = ensure_console_user(db.session, Actor.system("tests"), f"it-{uuid.uuid4().hex[:8]}@console.test", "IT",
                                      Role.IT).id
        db.session.commit()
    return signed_in_client(app, user_id)


def test_a_sync_asked_for_while_the_queue_is_down_is_listed_until_it_runs(app, it_console):
    asked = it_console.post("/directory/runs/sync", data={"mode": "full"})
    assert asked.status_code == 302
    page = html.unescape(it_console.get("/directory/runs").get_data(as_text=True))
    assert "The sync is queued and runs in the background as soon as the job queue takes it" in page
    assert "Syncs waiting to start" in page and 'data-state="pending"' in page
    assert "Not yet handed to the job queue, which did not answer." in page

    arabic = html.unescape(it_console.get("/directory/runs", headers={"Accept-Language": "ar"}).get_data(as_text=True))
    assert "مزامنات تنتظر البدء" in arabic and "لم تُسلَّم بعد إلى قائمة المهام" in arabic
    hebrew = html.unescape(it_console.get("/directory/runs", headers={"Accept-Language": "he"}).get_data(as_text=True))
    assert "סנכרונים שממתינים להתחיל" in hebrew

    assert relay(app).delivered == 1  # the queue is back: the sync runs (and, with no directory answering, fails)
    assert "Syncs waiting to start" not in it_console.get("/directory/runs").get_data(as_text=True)

"""Pause All without a network: scopes, validation, who may resume, auto-resume, the API and the console banner."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation
from govern.pauses import service
from govern.pauses.models import PauseScope, PublishingPause
from tests import factories
from tests.support.console import signed_in_with_role
from tests.support.console import csrf_token_of as _csrf_token_of


def token_for(client, path: str) -> str:
    """A client's own form token: the test's app context is shared by every client, so flask-wtf's cached one goes."""
    from flask import g

    g.pop("csrf_token", None)
    return _csrf_token_of(client.get(path))

LEAD = Actor("console_user:901", "Crisis Lead")
SECOND = Actor("console_user:902", "Second Person")


@pytest.fixture
def accounts(session, actor):
    made = {
        "retail_x": factories.account(session, actor, network="x", business_unit="Retail"),
        "retail_fb": factories.account(session, actor, network="facebook", business_unit="Retail"),
        "news_x": factories.account(session, actor, network="x", business_unit="News"),
        "plain_li": factories.account(session, actor, network="linkedin"),
    }
    session.flush()
    return made


def covered(session, accounts) -> set[str]:
    return {name for name, account in accounts.items() if service.covering_pause(session, account) is not None}


@pytest.mark.parametrize("scope, value, expected", [
    (PauseScope.ALL, None, {"retail_x", "retail_fb", "news_x", "plain_li"}),
    (PauseScope.BUSINESS_UNIT, "Retail", {"retail_x", "retail_fb"}),
    (PauseScope.NETWORK, "x", {"retail_x", "news_x"}),
])
def test_a_pause_covers_exactly_its_scope(session, accounts, scope, value, expected):
    assert covered(session, accounts) == set()
    service.pause(session, LEAD, None, scope, value, "crisis in progress")
    assert covered(session, accounts) == expected


def test_an_account_pause_covers_that_account_only(session, accounts):
    service.pause(session, LEAD, None, PauseScope.ACCOUNT, accounts["news_x"].id, "compromised")
    assert covered(session, accounts) == {"news_x"}


@pytest.mark.parametrize("scope, value", [
    (PauseScope.BUSINESS_UNIT, "Nobody's unit"), (PauseScope.NETWORK, "myspace"), (PauseScope.ACCOUNT, "99999999"),
    (PauseScope.ACCOUNT, "not-a-number"), (PauseScope.NETWORK, ""), (PauseScope.ALL, "x"),
])
def test_an_unknown_scope_is_refused(session, accounts, scope, value):
    with pytest.raises(InvalidOperation):
        service.pause(session, LEAD, None, scope, value, "crisis in progress")


def test_a_reason_is_required_and_resume_time_must_be_ahead(session, accounts):
    with pytest.raises(InvalidOperation):
        service.pause(session, LEAD, None, PauseScope.ALL, None, "  ")
    with pytest.raises(InvalidOperation):
        service.pause(session, LEAD, None, PauseScope.ALL, None, "crisis", utcnow() - timedelta(minutes=1))


def test_the_person_who_paused_cannot_resume_alone(session, accounts):
    paused = service.pause(session, LEAD, None, PauseScope.ALL, None, "crisis in progress")
    with pytest.raises(Conflict) as refused:
        service.resume(session, LEAD, None, paused.id)
    assert refused.value.code == "second-person-required"
    assert covered(session, accounts) == set(accounts)
    service.resume(session, SECOND, None, paused.id, "all clear")
    assert covered(session, accounts) == set()
    with pytest.raises(Conflict):
        service.resume(session, SECOND, None, paused.id)
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_type == "publishing_pause",
                                                                AuditEvent.target_id == str(paused.id))).all()
    assert actions == ["pauses:pause:create", "pauses:pause:resume"]


def test_the_same_person_through_another_credential_is_still_the_same_person(session, accounts, actor):
    person = factories.person(session, actor)
    paused = service.pause(session, LEAD, person.id, PauseScope.ALL, None, "crisis in progress")
    with pytest.raises(Conflict):
        service.resume(session, Actor("api_client:55", "their API token"), person.id, paused.id)


def test_a_pause_past_its_resume_time_covers_nothing_and_the_job_writes_it_down(session, accounts):
    paused = service.pause(session, LEAD, None, PauseScope.ALL, None, "overnight hold", utcnow() + timedelta(hours=1))
    assert covered(session, accounts) == set(accounts)
    paused.resume_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert covered(session, accounts) == set()  # lazily: no job has run yet
    assert service.auto_resume_due(session, Actor.system("pause-auto-resume")) == 1
    session.refresh(paused)
    assert paused.auto_resumed and paused.resumed_at == paused.resume_at
    assert service.auto_resume_due(session, Actor.system("pause-auto-resume")) == 0
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "pauses:pause:auto_resume",
                                                       AuditEvent.target_id == str(paused.id)))
    assert event is not None


# --- the API ---------------------------------------------------------------------------------------
def test_api_pause_list_read_and_resume_by_a_second_person(client, auth_headers, accounts):
    admin, governance = auth_headers(Role.ADMIN), auth_headers(Role.GOVERNANCE)
    made = client.post("/api/v1/pauses", json={"scope": {"type": "network", "value": "x"}, "reason": "crisis"},
                       headers=admin)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["scope"] == {"type": "network", "value": "x"} and body["active"] is True
    assert [p["id"] for p in client.get("/api/v1/pauses?active=true", headers=governance).get_json()] == [body["id"]]
    assert client.get(f"/api/v1/pauses/{body['id']}", headers=governance).get_json()["reason"] == "crisis"
    alone = client.post(f"/api/v1/pauses/{body['id']}/resume", json={}, headers=admin)
    assert alone.status_code == 409 and alone.mimetype == "application/problem+json"
    assert alone.get_json()["code"] == "second-person-required"
    resumed = client.post(f"/api/v1/pauses/{body['id']}/resume", json={"note": "clear"}, headers=governance)
    assert resumed.status_code == 200 and resumed.get_json()["active"] is False
    assert [p["id"] for p in client.get("/api/v1/pauses?active=false", headers=governance).get_json()] == [body["id"]]


@pytest.mark.parametrize("body", [
    {"scope": {"type": "network", "value": "myspace"}, "reason": "crisis"},
    {"scope": {"type": "business_unit", "value": "Nowhere"}, "reason": "crisis"},
    {"scope": {"type": "account", "value": 2147483000}, "reason": "crisis"},
    {"scope": {"type": "galaxy"}, "reason": "crisis"},
    {"scope": {"type": "all"}},
    {"scope": {"type": "all"}, "reason": "crisis", "resume_at": "2020-01-01T00:00:00Z"},
    {"scope": {"type": "all", "value": True}, "reason": "crisis"},
    {"reason": "crisis"},
])
def test_api_bad_pauses_are_problems(client, auth_headers, accounts, body):
    refused = client.post("/api/v1/pauses", json=body, headers=auth_headers(Role.ADMIN))
    assert 400 <= refused.status_code < 500 and refused.mimetype == "application/problem+json", refused.get_json()


def test_api_unknown_pause_is_404(client, auth_headers):
    assert client.get("/api/v1/pauses/987654", headers=auth_headers(Role.AUDITOR)).status_code == 404


# --- the console ---------------------------------------------------------------------------------------
def test_every_console_page_shows_the_banner_while_paused(app, session, accounts):
    auditor = signed_in_with_role(app, session, Role.AUDITOR)
    assert "pause-banner" not in auditor.get("/accounts").get_data(as_text=True)
    paused = service.pause(session, LEAD, None, PauseScope.BUSINESS_UNIT, "Retail", "crisis in progress")
    session.commit()
    for path in ("/accounts", "/people", "/"):
        page = auditor.get(path).get_data(as_text=True)
        assert "pause-banner" in page and "/pauses" in page and "Retail" in page, path
    auditor.post("/locale", data={"locale": "ar", "csrf_token": token_for(auditor, "/accounts")})
    arabic = auditor.get("/accounts").get_data(as_text=True)
    assert "pause-banner" in arabic and 'dir="rtl"' in arabic
    service.resume(session, SECOND, None, paused.id)
    session.commit()
    assert "pause-banner" not in auditor.get("/accounts").get_data(as_text=True)


def test_console_pause_asks_first_and_resume_needs_a_second_person(app, session, accounts):
    lead = signed_in_with_role(app, session, Role.GOVERNANCE)
    page = lead.get("/pauses")
    assert page.status_code == 200
    token = token_for(lead, "/pauses")
    form = {"csrf_token": token, "scope_type": "network", "scope_value": "x", "reason": "brand crisis", "resume_at": ""}
    asked = lead.post("/pauses", data=form)
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(PublishingPause)) == 0
    done = lead.post("/pauses", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    paused = session.scalar(sa.select(PublishingPause))
    assert paused.scope_value == "x" and paused.paused_by == lead.actor_id
    alone = lead.post(f"/pauses/{paused.id}/resume", data={"csrf_token": token, "confirmed": "1"})
    assert alone.status_code == 409 and "second person" in alone.get_data(as_text=True)
    second = signed_in_with_role(app, session, Role.IT)
    resumed = second.post(f"/pauses/{paused.id}/resume", data={"csrf_token": token_for(second, "/pauses"),
                                                               "confirmed": "1"})
    assert resumed.status_code == 302, resumed.get_data(as_text=True)[-3000:]
    session.refresh(paused)
    assert paused.resumed_by == second.actor_id


def test_console_bad_scope_is_a_readable_refusal(app, session, accounts):
    lead = signed_in_with_role(app, session, Role.ADMIN)
    token = token_for(lead, "/pauses")
    refused = lead.post("/pauses", data={"csrf_token": token, "scope_type": "network", "scope_value": "myspace",
                                         "reason": "crisis", "confirmed": "1"})
    assert refused.status_code == 422 and "myspace" in refused.get_data(as_text=True)


def test_the_auto_resume_job_is_scheduled_and_writes_the_end_down(app, session, accounts):
    schedule = {entry["task"]: entry["schedule"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert schedule["govern.pauses.auto_resume"] <= 60
    paused = service.pause(session, LEAD, None, PauseScope.ALL, None, "overnight hold", utcnow() + timedelta(hours=1))
    paused.resume_at = utcnow() - timedelta(seconds=5)
    session.commit()
    assert app.extensions["celery"].tasks["govern.pauses.auto_resume"].apply().get() == 1
    session.refresh(paused)
    assert paused.auto_resumed and paused.resumed_by == "system:pause-auto-resume"


def test_a_new_pause_waits_for_a_guarded_action_under_way(committed_database):
    """The pause takes the advisory lock that guarded actions hold shared: it commits after them, so nothing that
    passed the check is still going out when the pause's commit returns."""
    import threading
    import time

    engine = sa.create_engine(committed_database.replace("postgresql://", "postgresql+psycopg://", 1)
                              if committed_database.startswith("postgresql://") else committed_database)
    try:
        with sa.orm.Session(engine) as acting, sa.orm.Session(engine) as pausing:
            acting.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": service._PAUSE_LOCK_KEY})
            finished: list[float] = []

            def pause_now() -> None:
                started = time.monotonic()
                assert service._drain_actions_under_way(pausing) is True
                finished.append(time.monotonic() - started)
                pausing.rollback()

            thread = threading.Thread(target=pause_now)
            thread.start()
            time.sleep(0.3)
            assert finished == []  # still waiting for the action under way
            acting.commit()
            thread.join(timeout=5)
            assert finished and finished[0] >= 0.3
    finally:
        engine.dispose()

"""The alerts API and console page: list with filters and pages, one alert, acknowledge (audited, 409 the second time,
the Alert row alone locked), problem+json for bad input; the scan feeds the counters through its signal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from govern.actor import Actor
from govern.alerts.models import Alert, AlertKind, AlertStatus
from govern.alerts.service import AlertRules, InboundItem, acknowledge, record_inbound
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from tests import factories
from tests.support.console import signed_in_with_role
from tests.unit.alerts.test_rules import LEXICON


@pytest.fixture
def two_alerts(session, actor):
    account = factories.account(session, actor, handle="acme_alerts")
    now = utcnow()
    rules = AlertRules(lexicon=LEXICON)
    items = [InboundItem("comment", f"api{n}", "boycott them" if n == 0 else "nice", now) for n in range(25)]
    alerts = record_inbound(session, rules, account.id, items, now=now).alerts
    session.commit()
    return account, sorted(alerts, key=lambda alert: alert.kind.value)  # keyword, spike


def test_list_filter_and_page(client, auth_headers, two_alerts):
    account, (keyword, spike) = two_alerts
    headers = auth_headers(Role.AUDITOR)
    page = client.get(f"/api/v1/alerts?account_id={account.id}", headers=headers).get_json()
    assert {item["id"] for item in page["items"]} == {keyword.id, spike.id}
    assert page["items"][0]["account_handle"] == "acme_alerts"
    only = client.get(f"/api/v1/alerts?account_id={account.id}&kind=keyword", headers=headers).get_json()["items"]
    assert [(item["id"], item["keyword"], item["status"]) for item in only] == [(keyword.id, "boycott", "open")]
    first = client.get(f"/api/v1/alerts?account_id={account.id}&limit=1", headers=headers).get_json()
    second = client.get(f"/api/v1/alerts?account_id={account.id}&limit=1&cursor={first['next_cursor']}", headers=headers).get_json()
    assert len(first["items"]) == len(second["items"]) == 1 and first["items"][0]["id"] != second["items"][0]["id"]
    one = client.get(f"/api/v1/alerts/{spike.id}", headers=headers).get_json()
    assert one["details"]["items_this_hour"] == 25 and one["kind"] == "spike"


@pytest.mark.parametrize("query, status", [("kind=flood", 422), ("status=closed", 422), ("account_id=0", 422),
                                           ("limit=500", 422), ("cursor=%25%25", 400)])
def test_bad_filters_are_problems(client, auth_headers, query, status):
    response = client.get(f"/api/v1/alerts?{query}", headers=auth_headers(Role.IT))
    assert response.status_code == status and response.content_type == "application/problem+json"


def test_an_unknown_alert_is_404(client, auth_headers):
    response = client.get("/api/v1/alerts/99999999", headers=auth_headers(Role.GOVERNANCE))
    assert response.status_code == 404 and response.content_type == "application/problem+json"
    response = client.post("/api/v1/alerts/99999999/acknowledge", json={}, headers=auth_headers(Role.GOVERNANCE))
    assert response.status_code == 404


def test_acknowledge_once_audited_then_409(app, client, auth_headers, two_alerts, session):
    _, (keyword, _spike) = two_alerts
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    from govern.extensions import db

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.post(f"/api/v1/alerts/{keyword.id}/acknowledge", json={"note": "Looked at it, PR is on it"},
                               headers=auth_headers(Role.GOVERNANCE))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "acknowledged" and body["acknowledge_note"] == "Looked at it, PR is on it"
    [locking] = [sql for sql in statements if "FOR UPDATE" in sql and "alerts" in sql]
    assert "FOR UPDATE OF alerts" in locking and "JOIN" not in locking  # only the Alert row, never joined rows
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "alerts:alert:acknowledge")).one()
    assert audit.target_id == str(keyword.id) and audit.summary["note"] == "Looked at it, PR is on it"
    again = client.post(f"/api/v1/alerts/{keyword.id}/acknowledge", json={}, headers=auth_headers(Role.ADMIN))
    assert again.status_code == 409 and again.content_type == "application/problem+json"


def test_acknowledge_refuses_a_long_note_and_an_unknown_field(client, auth_headers, two_alerts):
    _, (keyword, _) = two_alerts
    for body in ({"note": "x" * 2001}, {"note": "ok", "extra": 1}):
        response = client.post(f"/api/v1/alerts/{keyword.id}/acknowledge", json=body, headers=auth_headers(Role.GOVERNANCE))
        assert response.status_code == 422 and response.content_type == "application/problem+json"


def test_it_and_auditors_read_but_do_not_acknowledge(client, auth_headers, two_alerts):
    _, (keyword, _) = two_alerts
    for role in (Role.IT, Role.AUDITOR):
        assert client.get("/api/v1/alerts", headers=auth_headers(role)).status_code == 200
        assert client.post(f"/api/v1/alerts/{keyword.id}/acknowledge", json={}, headers=auth_headers(role)).status_code == 403


def test_the_openapi_document_describes_the_alerts_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/alerts", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/acknowledge"} <= set(paths)
    parameters = {parameter["name"] for parameter in paths["/api/v1/alerts"]["get"]["parameters"]}
    assert {"account_id", "kind", "status", "limit", "cursor"} <= parameters


# --- the console ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("locale, heading, kind", [("en", "Alerts", "Crisis keyword"), ("ar", "التنبيهات", "كلمة أزمة"),
                                                   ("he", "התראות", "מילת משבר")])
def test_the_console_page_lists_alerts_in_three_languages(app, session, two_alerts, locale, heading, kind):
    client = signed_in_with_role(app, session, Role.IT)
    with client.session_transaction() as cookie:
        cookie["locale"] = locale
    page = client.get("/alerts?kind=keyword")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and heading in text and kind in text
    assert "acme_alerts" in text and "boycott them" in text
    assert "/acknowledge" not in text  # IT reads; governance acknowledges


def test_the_console_page_refuses_bad_filters_readably(app, session):
    client = signed_in_with_role(app, session, Role.AUDITOR)
    page = client.get("/alerts?kind=flood&status=closed")
    assert page.status_code == 400 and "choose a kind from the list." in page.get_data(as_text=True)


def test_acknowledge_in_the_console_asks_first(app, session, two_alerts, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    _, (_, spike) = two_alerts
    client = signed_in_with_role(app, session, Role.GOVERNANCE)
    asked = client.post(f"/alerts/{spike.id}/acknowledge?status=open")
    assert asked.status_code == 200 and "Acknowledge the alert" in asked.get_data(as_text=True)
    assert session.get(Alert, spike.id).status is AlertStatus.OPEN
    done = client.post(f"/alerts/{spike.id}/acknowledge?status=open", data={"confirmed": "1", "reason": "Handled"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/alerts?status=open")
    session.expire_all()
    alert = session.get(Alert, spike.id)
    assert alert.status is AlertStatus.ACKNOWLEDGED and alert.acknowledge_note == "Handled"
    assert alert.acknowledged_by == client.actor_id
    repeated = client.post(f"/alerts/{spike.id}/acknowledge", data={"confirmed": "1"})
    assert repeated.status_code == 302  # already done: said so on the list, nothing more happens
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "alerts:alert:acknowledge")).all().__len__() == 1


def test_service_acknowledge_records_who(session, two_alerts):
    _, (keyword, _) = two_alerts
    alert = acknowledge(session, Actor.system("pytest"), keyword.id, "  ")
    assert alert.acknowledged_by == "system:pytest" and alert.acknowledge_note is None


# --- the scan feeds the counters through its signal ----------------------------------------------------------
def test_a_scan_counts_the_comments_it_reads_and_raises_keyword_alerts(app, session, actor, monkeypatch):
    from govern import app_services
    from govern.publishing import scans

    owner = factories.person(session, actor)
    account = factories.account(session, actor, owner_id=owner.id)
    session.flush()
    now = utcnow()
    posts = {"data": [{"id": "p1", "text": "Our autumn range is here"}]}
    replies = {"data": [{"id": f"r{n}", "text": "لقد تم اختراق حسابي" if n == 3 else "Lovely", "created_at": now.isoformat()}
                        for n in range(8)] + [{"id": "r-hidden", "text": "hidden one", "hidden": True}]}

    def fake_action(_session, _context, _actor, _person, account_id, action, params, **_kw):
        assert account_id == account.id
        return posts if action == "list_recent_posts" else replies

    monkeypatch.setattr(scans, "perform_action", fake_action)
    publisher = app_services.publisher(app)
    for _ in range(2):  # the next scan reads the same comments: counted once
        scans.scan_account(session, publisher, Actor.system("policy-scan"), account.id, scans.ScanReport())
    from govern.alerts.service import hourly_volume

    assert hourly_volume(session, account.id, now)[0] == 9  # every comment, the hidden one too; posts are not inbound
    [alert] = session.scalars(select(Alert).where(Alert.account_id == account.id)).all()
    assert (alert.kind, alert.keyword, alert.details["external_id"]) == (AlertKind.KEYWORD, "data_breach", "r3")

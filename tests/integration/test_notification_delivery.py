"""Notifications reach people: e-mail through a real SMTP server on loopback (aiosmtpd), in the reader's language,
and webhooks to a real HTTP receiver, signed; retried with backoff when either is down, and never a secret leaked."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import astuple
from datetime import timedelta

import pytest
import sqlalchemy as sa
from celery.signals import before_task_publish

from govern import app_services
from govern.actor import Actor
from govern.adapters import mail
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.notifications import delivery, endpoints, service
from govern.notifications.models import Delivery, DeliveryState, WebhookKind
from govern.notifications.tasks import deliver_due
from govern.outbox.models import OutboxJob
from govern.secret_value import SecretValue
from tests import factories
from tests.support.canary import haystacks
from tests.support.mail_and_hooks import HookReceiver, SmtpServer, free_port, self_signed

pytestmark = pytest.mark.integration
ACTOR = Actor.system("notification-tests")
SMTP_PASSWORD = "canary-smtp-pässword-7f3a9c"


def transports(app, port: int, **overrides) -> delivery.Transports:
    smtp = mail.SmtpSettings("127.0.0.1", port, overrides.pop("starttls", False), overrides.pop("username", ""), 5.0,
                             overrides.pop("ca_file", ""))
    return delivery.Transports(store=app_services.broker(app).store, smtp=smtp, sender="govern@example.test",
                               base_url="https://govern.example.test",
                               **{"webhook_timeout_seconds": 5.0, "max_attempts": 4, "retry_base_seconds": 30,
                                  "retry_cap_seconds": 600, **overrides})


@pytest.fixture
def with_email(monkeypatch):
    monkeypatch.setattr(delivery, "email_enabled", lambda: True)


def _person(session, locale: str | None):
    person = factories.person(session, ACTOR, display_name="Rana")
    person.locale = locale
    session.flush()
    return person


def _deliveries(session, **where) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(sa.select(Delivery).filter_by(**where).order_by(Delivery.id)))


def _make_due(session) -> None:
    """Time passes: every waiting delivery's next try is now."""
    session.execute(sa.update(Delivery).where(Delivery.state == DeliveryState.PENDING)
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.flush()


@pytest.mark.parametrize("locale, direction, expected", [
    ("ar", "rtl", "يجب إعادة ربط حساب تملكه"),
    ("he", "rtl", "יש לחבר מחדש חשבון שבבעלותך"),
    (None, "ltr", "An account you own must be reconnected"),
])
def test_the_email_is_in_the_readers_language_with_its_direction(app, session, with_email, locale, direction, expected):
    person = _person(session, locale)
    service.notify(session, person.id, "connection_needs_reconnect", "account", 7, service.RECONNECT_MESSAGE, reason="revoked")
    with SmtpServer() as smtp:
        assert deliver_due(None, transports(app, smtp.port)) == {"delivered": 1}
    [message] = smtp.messages
    assert smtp.inbox.envelopes == [("govern@example.test", [person.email])]
    assert expected in message["Subject"] and message["Subject"].startswith("[govern]")
    assert message["Content-Language"] == (locale or "en")
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert expected in text and "https://govern.example.test" in text
    assert f'<html lang="{locale or "en"}" dir="{direction}">' in html
    if locale:
        assert "An account you own" not in text  # the body too is in their language, not only the headline
    [row] = _deliveries(session, person_id=person.id)
    assert row.state is DeliveryState.DELIVERED and row.attempts == 1 and row.locale == (locale or "en")


def test_a_console_users_chosen_language_is_used_when_the_person_has_none(app, session, with_email):
    from govern.auth.service import ensure_console_user

    person = _person(session, None)
    user = ensure_console_user(session, ACTOR, "rana.console@example.test", "Rana", Role.GOVERNANCE)
    user.person_id, user.locale = person.id, "he"
    session.flush()
    service.notify(session, person.id, "policy_violation", "policy_violation", 3, "A post broke the brand policy.")
    assert [row.locale for row in _deliveries(session, person_id=person.id)] == ["he"]


def test_smtp_down_then_up_delivers_after_the_retry_and_loses_nothing(app, session, with_email):
    person = _person(session, "ar")
    service.notify(session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
    port = free_port()  # nothing listens here yet
    before = utcnow()
    assert deliver_due(None, transports(app, port)) == {"pending": 1}
    [row] = _deliveries(session, person_id=person.id)
    assert row.state is DeliveryState.PENDING and row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError")
    assert timedelta(seconds=29) <= row.next_attempt_at - before <= timedelta(seconds=35)  # backoff: 30 s first
    assert deliver_due(None, transports(app, port)) == {}  # not due yet: the sweep leaves it alone
    _make_due(session)
    assert deliver_due(None, transports(app, port)) == {"pending": 1}
    [row] = _deliveries(session, person_id=person.id)
    assert row.attempts == 2 and row.next_attempt_at - utcnow() > timedelta(seconds=55)  # doubled: 60 s
    with SmtpServer(port=port) as smtp:
        _make_due(session)
        assert deliver_due(None, transports(app, port)) == {"delivered": 1}
        assert deliver_due(None, transports(app, port)) == {}  # a second run sends nothing again
    assert len(smtp.messages) == 1
    [row] = _deliveries(session, person_id=person.id)
    assert row.state is DeliveryState.DELIVERED and row.attempts == 3 and row.last_error is None


def test_a_delivery_that_keeps_failing_ends_failed_and_audited_and_an_admin_can_retry_it(app, session, with_email):
    person = _person(session, None)
    service.notify(session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
    port = free_port()
    for _ in range(4):
        _make_due(session)
        deliver_due(None, transports(app, port, max_attempts=4))
    [row] = _deliveries(session, person_id=person.id)
    assert row.state is DeliveryState.FAILED and row.attempts == 4 and row.failed_at is not None
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications:delivery:fail",
                                                        AuditEvent.target_id == str(row.id))).one()
    assert event.summary["channel"] == "email" and event.summary["attempts"] == 4
    delivery.retry(session, ACTOR, row.id)
    with SmtpServer(port=port) as smtp:
        assert deliver_due(None, transports(app, port)) == {"delivered": 1}
    assert len(smtp.messages) == 1


def test_the_backoff_doubles_up_to_the_cap(app):
    t = transports(app, 1, retry_base_seconds=30, retry_cap_seconds=600)
    assert [t.backoff(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_starttls_with_a_verified_self_signed_certificate_and_the_password_from_the_secret_store(app, session, with_email, tmp_path):
    cert = self_signed(tmp_path)
    endpoints.set_smtp_password(session, app_services.broker(app).store, ACTOR, SecretValue(SMTP_PASSWORD))
    person = _person(session, "he")
    service.notify(session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
    with SmtpServer(cert=cert, username="govern", password=SMTP_PASSWORD) as smtp:
        untrusted = transports(app, smtp.port, starttls=True, username="govern")  # the system CAs do not know it
        assert deliver_due(None, untrusted) == {"pending": 1}
        assert _deliveries(session, person_id=person.id)[0].last_error.startswith("SSLCertVerificationError")
        _make_due(session)
        trusted = transports(app, smtp.port, starttls=True, username="govern", ca_file=str(cert[0]))
        assert deliver_due(None, trusted) == {"delivered": 1}
    assert smtp.inbox.logins == [("PLAIN", "govern")] or smtp.inbox.logins == [("LOGIN", "govern")]
    assert len(smtp.messages) == 1


def test_without_starttls_a_server_that_requires_it_refuses_and_the_row_waits(app, session, with_email, tmp_path):
    cert = self_signed(tmp_path)
    person = _person(session, None)
    service.notify(session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
    with SmtpServer(cert=cert) as smtp:
        assert deliver_due(None, transports(app, smtp.port)) == {"pending": 1}
    assert smtp.messages == []


def _add_endpoint(client, admin, name, url, kind, locale="en"):
    response = client.post("/api/v1/notifications/webhooks", json={"name": name, "url": url, "kind": kind, "locale": locale},
                           headers=admin)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response


def test_webhooks_are_signed_and_shaped_for_slack_and_teams(app, client, session, auth_headers):
    admin = auth_headers(Role.ADMIN)
    with HookReceiver() as receiver:
        generic = _add_endpoint(client, admin, "siem", receiver.url("/generic/T0KEN"), "generic")
        _add_endpoint(client, admin, "slack", receiver.url("/slack/T0KEN"), "slack", "ar")
        _add_endpoint(client, admin, "teams", receiver.url("/teams/T0KEN"), "teams", "he")
        secret = generic.get_json()["signing_secret"]
        listed = client.get("/api/v1/notifications/webhooks", headers=admin).get_json()
        assert {e["url_origin"] for e in listed} == {f"http://127.0.0.1:{receiver.port}"}
        assert "T0KEN" not in json.dumps(listed) and "signing_secret" not in json.dumps(listed)
        person = _person(session, None)
        service.notify(session, person.id, "connection_needs_reconnect", "account", 9, service.RECONNECT_MESSAGE, reason="x")
        session.commit()  # the delivery job queued with the notification runs once this commits (in process here)
        assert deliver_due(None, transports(app, free_port())) == {}  # nothing left for the sweep
        assert {row.state for row in _deliveries(session)} == {DeliveryState.DELIVERED}
    by_path = {path.split("/")[1]: (headers, body) for path, headers, body in receiver.requests}
    headers, body = by_path["generic"]
    timestamp = headers["X-Govern-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Govern-Signature"] == f"sha256={expected}"
    assert abs(int(timestamp) - int(utcnow().timestamp())) < 60
    document = json.loads(body)
    assert document["kind"] == "connection_needs_reconnect" and document["subject"] == {"type": "account", "id": "9"}
    slack = json.loads(by_path["slack"][1])
    assert set(slack) == {"text", "blocks"} and "يجب إعادة ربط حساب تملكه" in slack["text"]
    assert [block["type"] for block in slack["blocks"]] == ["header", "section", "context"]
    teams = json.loads(by_path["teams"][1])
    [attachment] = teams["attachments"]
    assert teams["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4" and card["rtl"] is True
    assert "יש לחבר מחדש חשבון שבבעלותך" in card["body"][0]["text"]


def test_a_webhook_answering_500_is_retried_and_delivered(app, client, session, auth_headers):
    admin = auth_headers(Role.ADMIN)
    with HookReceiver(statuses=[500, 503]) as receiver:
        _add_endpoint(client, admin, "flaky", receiver.url("/hook"), "generic")
        person = _person(session, None)
        service.notify(session, person.id, "policy_violation", "policy_violation", 2, "A post broke the brand policy.")
        t = transports(app, free_port())
        assert deliver_due(None, t) == {"pending": 1}
        _make_due(session)
        assert deliver_due(None, t) == {"pending": 1}
        [row] = [r for r in _deliveries(session) if r.webhook_id]
        assert row.last_error == "HTTP 503" and row.attempts == 2
        _make_due(session)
        assert deliver_due(None, t) == {"delivered": 1}
    assert len(receiver.requests) == 3
    assert len({headers["X-Govern-Delivery"] for _, headers, _ in receiver.requests}) == 1  # the same delivery, three times


def test_a_webhook_that_does_not_answer_times_out_instead_of_holding_the_worker(app, client, session, auth_headers):
    import socket
    import time

    admin = auth_headers(Role.ADMIN)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        _add_endpoint(client, admin, "silent", f"http://127.0.0.1:{silent.getsockname()[1]}/hook", "generic")
        person = _person(session, None)
        service.notify(session, person.id, "policy_violation", "policy_violation", 2, "A post broke the brand policy.")
        started = time.monotonic()
        assert deliver_due(None, transports(app, free_port(), webhook_timeout_seconds=1.0)) == {"pending": 1}
        assert time.monotonic() - started < 5
    [row] = [r for r in _deliveries(session) if r.webhook_id]
    assert row.last_error in ("ReadTimeout", "ConnectionError")


def test_bad_webhook_input_is_a_problem_document(client, auth_headers):
    admin = auth_headers(Role.ADMIN)
    for payload in ({"name": "x", "url": "ftp://example.test/hook", "kind": "generic"},
                    {"name": "x", "url": "http://example.test/hook", "kind": "generic"},
                    {"name": "x", "url": "https://example.test/hook", "kind": "carrier-pigeon"},
                    {"name": "", "url": "https://example.test/hook", "kind": "slack"}):
        response = client.post("/api/v1/notifications/webhooks", json=payload, headers=admin)
        assert response.status_code in (400, 422) and response.mimetype == "application/problem+json", payload
    assert client.get("/api/v1/notifications/deliveries?state=lost", headers=admin).status_code == 422
    assert client.post("/api/v1/notifications/deliveries/999999/retry", headers=admin).status_code == 404
    assert client.get("/api/v1/notifications/webhooks", headers=auth_headers(Role.GOVERNANCE)).status_code == 403


def test_notify_contacts_tells_people_roles_and_addresses_once_each(app, session, with_email):
    from govern.auth.service import ensure_console_user

    person = _person(session, "ar")
    lead = ensure_console_user(session, ACTOR, "lead@example.test", "Lead", Role.GOVERNANCE)
    lead.locale = "he"
    session.flush()
    outcome = service.notify_contacts(session, [
        service.Contact("person", str(person.id)), service.Contact("role", "governance"),
        service.Contact("email", "press@example.test"), service.Contact("email", "PRESS@example.test"),
    ], "crisis_stage", "incident", 5, "Crisis: stage %(stage)s started.", locale="ar", stage=1)
    assert len(outcome.notifications) == 1
    rows = {row.address: row.locale for row in _deliveries(session) if row.id in outcome.deliveries}
    assert rows[person.email] == "ar" and rows["lead@example.test"] == "he" and rows["press@example.test"] == "ar"
    assert len(rows) == len(outcome.deliveries)  # every address once
    jobs = session.scalars(sa.select(OutboxJob).where(OutboxJob.task == delivery.DELIVER_TASK)).all()
    assert jobs and all(all(isinstance(i, int) for i in job.args[0]) for job in jobs)  # the task message: ids only
    with pytest.raises(Exception) as refused:
        service.notify_contacts(session, [service.Contact("role", "overlord")], "crisis_stage", "incident", 5, "x")
    assert "overlord" in str(refused.value)


def test_two_workers_never_send_the_same_delivery(make_committed_app, monkeypatch):
    """Claims are SELECT ... FOR UPDATE SKIP LOCKED on real PostgreSQL: a second worker skips a row being sent."""
    from govern.extensions import db

    app = make_committed_app()
    monkeypatch.setattr(delivery, "email_enabled", lambda: True)
    with app.app_context():
        person = factories.person(db.session, ACTOR)
        service.notify(db.session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
        db.session.commit()  # its job found no mail server in these settings: the row waits for its next try
        db.session.execute(sa.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        with SmtpServer() as smtp:
            t = transports(app, smtp.port)
            with db.sessionmaker() as first, db.sessionmaker() as second:
                held = delivery.claim_next(first, utcnow())
                assert held is not None
                assert delivery.claim_next(second, utcnow()) is None  # locked by the first worker: skipped
                delivery.attempt(first, t, held)
                first.commit()
                assert delivery.claim_next(second, utcnow()) is None  # delivered now
            assert deliver_due(None, t) == {}
        assert len(smtp.messages) == 1


def test_a_committed_notification_is_mailed_by_the_job_queued_after_commit(make_committed_app):
    """The whole path on its settings: notify -> commit -> the outbox job -> SMTP, with nothing called by hand."""
    from govern.extensions import db

    with SmtpServer() as smtp:
        app = make_committed_app(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
                                 smtp_from="govern@example.test")
        with app.app_context():
            person = factories.person(db.session, ACTOR)
            person.locale = "ar"
            service.notify(db.session, person.id, "connection_needs_reconnect", "account", 4, service.RECONNECT_MESSAGE)
            db.session.commit()
            with smtp.inbox.arrived:
                smtp.inbox.arrived.wait_for(lambda: smtp.messages, timeout=10)
            assert len(smtp.messages) == 1 and smtp.messages[0]["Content-Language"] == "ar"
            db.session.expire_all()
            assert db.session.scalars(sa.select(Delivery.state)).all() == [DeliveryState.DELIVERED]


def test_the_smtp_password_and_webhook_secrets_never_reach_database_logs_responses_audit_or_task_messages(
        app, client, session, auth_headers, caplog, with_email, tmp_path):
    from govern.extensions import celery

    caplog.set_level(logging.DEBUG)
    admin = auth_headers(Role.ADMIN)
    messages: list[str] = []

    def capture(sender=None, body=None, headers=None, **_):
        messages.append(repr(body) + repr(headers))

    before_task_publish.connect(capture)
    celery.conf.update(task_always_eager=False, broker_url="memory://")
    url_token = "hook-url-canary-b81c"
    cert = self_signed(tmp_path)
    responses = []
    try:
        endpoints.set_smtp_password(session, app_services.broker(app).store, ACTOR, SecretValue(SMTP_PASSWORD))
        session.commit()
        with HookReceiver(statuses=[500]) as receiver, SmtpServer(cert=cert, username="govern",
                                                                  password=SMTP_PASSWORD) as smtp:
            created = _add_endpoint(client, admin, "canary", receiver.url(f"/{url_token}"), "generic")
            signing_secret = created.get_json()["signing_secret"]
            responses.append(client.get("/api/v1/notifications/webhooks", headers=admin))
            person = _person(session, None)
            service.notify(session, person.id, "policy_violation", "policy_violation", 1, "A post broke the brand policy.")
            session.commit()
            t = transports(app, smtp.port, starttls=True, username="govern", ca_file=str(cert[0]))
            deliver_due(None, t)
            _make_due(session)
            deliver_due(None, t)
            responses.append(client.get("/api/v1/notifications/deliveries", headers=admin))
        endpoint_id = created.get_json()["id"]
        responses.append(client.delete(f"/api/v1/notifications/webhooks/{endpoint_id}", headers=admin))
    finally:
        celery.conf.update(task_always_eager=True, broker_url="memory://")
        before_task_publish.disconnect(capture)
    assert smtp.inbox.logins, "the test must have logged in with the password"
    assert receiver.requests, "the test must have posted to the webhook"
    database, audit, bodies = astuple(haystacks(session, responses))
    for secret in (SMTP_PASSWORD, signing_secret, url_token):
        assert secret not in database, "a secret reached the database"
        assert secret not in caplog.text, "a secret reached the logs"
        assert secret not in bodies, "a secret reached an HTTP response"
        assert secret not in audit, "a secret reached an audit event"
        assert not any(secret in message for message in messages), "a secret reached a task message"
    assert signing_secret in created.get_data(as_text=True)  # shown once, on creation, and nowhere else

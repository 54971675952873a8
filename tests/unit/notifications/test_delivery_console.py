"""The notification delivery page: webhook endpoints added with their secret shown once, deliveries and their state,
a failed delivery tried again; in the reader's language."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import g
from flask_babel import refresh

from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.notifications.models import Channel, Delivery, DeliveryState, WebhookEndpoint
from tests.support.canary import haystacks
from tests.support.console import csrf_token_of, signed_in_with_role

SHOWN_ONCE = re.compile(r'id="shown-once">([^<]+)<')
URL = "https://hooks.slack.example/services/T000/B000/url-canary-5d1e"


@pytest.fixture
def admin(app, session):
    return signed_in_with_role(app, session, Role.ADMIN)


def _post(client, path, **form):
    g.pop("csrf_token", None)
    refresh()
    page = client.get("/admin/notifications")
    return client.post(path, data={"csrf_token": csrf_token_of(page), **form})


def test_an_endpoint_is_added_with_its_secret_shown_once_and_its_address_never_shown(app, session, admin):
    answer = _post(admin, "/admin/notifications/webhooks", name="press-room", url=URL, kind="slack", locale="ar")
    assert answer.status_code == 200
    secret = SHOWN_ONCE.search(answer.get_data(as_text=True)).group(1)
    assert len(secret) >= 40 and answer.get_data(as_text=True).count(secret) == 1
    later = [admin.get("/admin/notifications"), admin.get("/audit")]
    assert all(response.status_code == 200 for response in later)
    assert "https://hooks.slack.example" in later[0].get_data(as_text=True)
    found = haystacks(session, later)
    for value in (secret, "url-canary-5d1e"):
        assert value not in found.database and value not in found.audit and value not in found.bodies
    endpoint = session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.name == "press-room"))
    assert endpoint.url_origin == "https://hooks.slack.example" and endpoint.locale == "ar"
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications:webhook:create")
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.actor == admin.actor_id and event.summary["name"] == "press-room"

    removed = _post(admin, f"/admin/notifications/webhooks/{endpoint.id}/remove")
    assert removed.status_code == 302
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint.id).disabled_at is not None


def test_a_bad_form_is_answered_422_in_words_and_the_address_is_not_echoed(admin):
    answer = _post(admin, "/admin/notifications/webhooks", name="", url="ftp://x/url-canary-77", kind="pigeon", locale="fr")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Enter a name of 1 to 128 characters." in body and "Choose a kind from the list." in body
    assert "url-canary-77" not in body


def test_a_plain_http_address_off_loopback_is_refused_by_the_service(admin):
    answer = _post(admin, "/admin/notifications/webhooks", name="plain", url="http://example.test/hook", kind="generic",
                   locale="en")
    assert answer.status_code == 422 and "https://" in answer.get_data(as_text=True)


def test_a_failed_delivery_can_be_tried_again_from_the_page(session, admin):
    row = Delivery(channel=Channel.EMAIL, address="rana@example.test", locale="he", kind="policy_violation",
                   subject_type="policy_violation", subject_id="1", message="x", details={}, state=DeliveryState.FAILED,
                   attempts=8, next_attempt_at=utcnow(), failed_at=utcnow(), last_error="ConnectionRefusedError: x")
    session.add(row)
    session.commit()
    page = admin.get("/admin/notifications?state=failed")
    assert "rana@example.test" in page.get_data(as_text=True) and "ConnectionRefusedError" in page.get_data(as_text=True)
    answer = _post(admin, f"/admin/notifications/deliveries/{row.id}/retry")
    assert answer.status_code == 302
    session.expire_all()
    assert session.get(Delivery, row.id).state is DeliveryState.PENDING
    again = _post(admin, f"/admin/notifications/deliveries/{row.id}/retry")
    assert again.status_code == 422


@pytest.mark.parametrize("locale, heading", [("ar", "تسليم الإشعارات"), ("he", "מסירת התראות")])
def test_the_page_speaks_the_readers_language_and_the_choice_is_kept_for_email(session, admin, locale, heading):
    from govern.auth.models import ConsoleUser

    assert _post(admin, "/locale", locale=locale).status_code == 302
    refresh()
    body = admin.get("/admin/notifications").get_data(as_text=True)
    assert heading in body and 'dir="rtl"' in body
    session.expire_all()
    user_id = int(admin.actor_id.split(":")[1])
    assert session.get(ConsoleUser, user_id).locale == locale
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth:console_user:language")
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.summary["after"] == locale

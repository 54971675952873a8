"""Anonymous noise is refused cheaply: garbage hand-off tokens and sign-in links are counted, not audited, and an address
over its limit gets 429 (problem+json with Retry-After in the API, a translated page in the console)."""

from __future__ import annotations

import html
import secrets

import pytest
import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.extensions import db
from tests.support.console import redeem_link

UNWRAP = "/api/v1/handoffs/unwrap"


@pytest.fixture
def session(app):
    """A session outside any app context: each request gets its own `g` (and CSRF token), as in production."""
    with app.app_context():
        maker = db.sessionmaker
    with maker() as own:
        yield own


def _events(session) -> int:
    """The last sequence number of the audit trail."""
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.seq), 0)))


def _counted(caplog, counter: str) -> int:
    return sum(1 for r in caplog.records if r.name == "govern.metrics" and f"'counter': '{counter}'" in r.getMessage())


def test_a_thousand_garbage_unwraps_add_no_audit_event(client, session, caplog):
    before = _events(session)
    statuses = []
    for n in range(1000):
        address = f"198.51.100.{n % 100}"  # ten each from a hundred addresses: the global limit is what stops them
        response = client.post(UNWRAP, json={"wrapping_token": f"hvs.{secrets.token_urlsafe(24)}"},
                               environ_base={"REMOTE_ADDR": address})
        statuses.append(response.status_code)
        assert response.mimetype == "application/problem+json"
    assert set(statuses) == {410, 429}
    # the global default: 100 refusals a minute, then 429 for everyone (more only if this took over a minute)
    assert statuses[:100] == [410] * 100 and statuses[100] == 429
    assert _events(session) == before
    assert _counted(caplog, "handoff_unwrap_unknown") == statuses.count(410)
    assert _counted(caplog, "handoff_unwrap_rate_limited") == statuses.count(429)
    assert not any(r.levelname == "ERROR" for r in caplog.records), "a garbage token is no alert"


def test_an_address_over_the_unwrap_limit_gets_429_with_retry_after(client):
    for _ in range(10):
        assert client.post(UNWRAP, json={"wrapping_token": "s.garbage"}).status_code == 410
    limited = client.post(UNWRAP, json={"wrapping_token": "s.garbage"})
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert limited.get_json()["type"].endswith("/ratelimited") and "this address" in limited.get_json()["detail"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    elsewhere = client.post(UNWRAP, json={"wrapping_token": "s.garbage"}, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert elsewhere.status_code == 410


def test_garbage_sign_in_links_are_counted_not_audited_then_limited_with_a_translated_page(app, session, caplog):
    before = _events(session)
    browser = app.test_client()
    for _ in range(20):  # GOVERN_SIGN_IN_MAX_FAILURES_PER_ADDRESS
        assert redeem_link(browser, secrets.token_urlsafe(32)).status_code == 400
    assert _events(session) == before and _counted(caplog, "sign_in_refused") == 20

    limited = redeem_link(browser, secrets.token_urlsafe(32), headers={"Accept-Language": "en"})
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 900
    assert "Too many failed sign-ins from your address" in html.unescape(limited.get_data(as_text=True))
    for locale in ("ar", "he"):
        page = redeem_link(app.test_client(), secrets.token_urlsafe(32), headers={"Accept-Language": locale})
        assert page.status_code == 429 and f'lang="{locale}" dir="rtl"' in page.get_data(as_text=True)
        assert "Too many failed sign-ins" not in page.get_data(as_text=True)
    # one aggregated event for the address and window, however many attempts follow
    events = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > before)))
    assert [(e.action, e.target_type, e.target_id) for e in events] == [
        ("auth:session:sign_in_refused", "sign_in_limit", "127.0.0.1")]
    assert events[0].summary["refused_in_window"] == 20 and events[0].summary["method"] == "login_link"

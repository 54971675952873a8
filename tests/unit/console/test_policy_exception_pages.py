"""The console's false-positive form with its exception scopes, and the exceptions page (list, history, remove)."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from govern import app_services
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.policy import service
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyException, ViolationStatus
from tests import factories
from tests.support.console import signed_in_with_role

POST = "Write to dana@example.com today"


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def console(app, session):
    def sign_in(role: Role):
        return signed_in_with_role(app, session, role)

    return sign_in


@pytest.fixture
def runtime(app):
    return app_services.policy(app)


@pytest.fixture
def scanned(session, actor, runtime):
    account = factories.account(session, actor, handle="alnoor_news")
    decision = service.evaluate(session, runtime, POST, account_id=account.id)
    violation = service.record_scanned_item(session, actor, account.id, ContentKind.POST, "p-1", POST, decision,
                                            value_key=runtime.exception_key)
    session.commit()
    return violation


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_false_positive_form_offers_the_scopes(console, scanned):
    page = text_of(console(Role.GOVERNANCE).get("/policy/violations"))
    for label in ("Nothing: only mark it", "This value, on every account", "This value, on this account",
                  "This rule, on this account"):
        assert label in page
    assert 'name="exception_scope" value="value_account"' in page


def test_a_false_positive_with_a_scope_adds_an_exception_honoured_next_time(console, scanned, session, runtime):
    client = console(Role.GOVERNANCE)
    done = client.post(f"/policy/violations/{scanned.id}/false-positive",
                       data={"note": "our support address", "exception_scope": "value_account"}, follow_redirects=True)
    assert done.status_code == 200
    assert f"Violation {scanned.id} marked as a false positive; 1 exception added: This value, on this account." in text_of(done)
    session.refresh(scanned)
    assert scanned.status is ViolationStatus.FALSE_POSITIVE
    assert service.evaluate(session, runtime, POST, account_id=scanned.account_id).decision is Action.ALLOW
    exception = session.scalar(sa.select(PolicyException).where(PolicyException.violation_id == scanned.id))
    page = text_of(client.get("/policy/exceptions"))
    assert "privacy.email" in page and "d***@example.com" in page and "our support address" in page
    assert f"target_id={exception.id}" in page and client.actor_id in page  # who, and a link to its audit events

    removed = client.post(f"/policy/exceptions/{exception.id}/remove", data={"reason": "retired", "confirmed": "1"},
                          follow_redirects=True)
    assert f"Exception {exception.id} removed" in text_of(removed)
    assert service.evaluate(session, runtime, POST, account_id=scanned.account_id).decision is Action.REQUIRE_APPROVAL
    assert "No exception" in text_of(client.get("/policy/exceptions"))
    history = text_of(client.get("/policy/exceptions?include_removed=1"))
    assert "Removed" in history and "retired" in history
    actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_type == "policy_exception",
                                                                     AuditEvent.target_id == str(exception.id))))
    assert actions == {"policy:exception:create", "policy:exception:remove"}


def test_without_a_scope_it_is_only_marked_and_a_missing_note_is_refused(console, scanned, session):
    client = console(Role.GOVERNANCE)
    refused = client.post(f"/policy/violations/{scanned.id}/false-positive", data={"note": " ", "exception_scope": "value"})
    assert refused.status_code == 422 and "Write a note" in text_of(refused)
    assert client.post(f"/policy/violations/{scanned.id}/false-positive", data={"note": "fine"}).status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(PolicyException)) == 0


def test_the_arabic_and_hebrew_consoles_show_the_scopes_and_the_page_in_their_language(console, scanned):
    page = text_of(console(Role.GOVERNANCE).get("/policy/violations", headers={"Accept-Language": "ar"}))
    assert "هذه القيمة، على هذا الحساب" in page and "This value, on this account" not in page
    refresh()  # the test's app context outlives the request, and Flask-Babel caches the locale on it
    page = text_of(console(Role.GOVERNANCE).get("/policy/exceptions", headers={"Accept-Language": "he"}))
    assert "חריגות במדיניות" in page and "אין חריגות" in page


@pytest.mark.parametrize("role", [Role.IT, Role.AUDITOR])
def test_only_governance_makes_or_removes_exceptions(console, scanned, session, actor, runtime, role):
    [exception] = service.add_exceptions(session, actor, runtime.version, scanned.id, service.ExceptionScope.VALUE, "x")
    session.commit()
    client = console(role)
    assert client.post(f"/policy/exceptions/{exception.id}/remove").status_code == 403
    page = text_of(client.get("/policy/exceptions"))
    assert "Governance makes and removes exceptions." in page and "/remove" not in page


def test_a_false_positive_marked_earlier_can_still_be_excepted(console, scanned, session, runtime):
    client = console(Role.GOVERNANCE)
    assert client.post(f"/policy/violations/{scanned.id}/false-positive", data={"note": "fine"}).status_code == 302
    page = text_of(client.get("/policy/violations?status=false_positive"))
    assert "Except it now" in page and "Add the exception" in page
    done = client.post(f"/policy/violations/{scanned.id}/false-positive",
                       data={"note": "a shared inbox", "exception_scope": "value"}, follow_redirects=True)
    assert "1 exception added: This value, on every account." in text_of(done)
    assert service.evaluate(session, runtime, POST).decision is Action.ALLOW


def test_the_links_of_an_exception_open_its_violation_and_its_audit_events(console, scanned, session, actor, runtime):
    [made] = service.add_exceptions(session, actor, runtime.version, scanned.id, service.ExceptionScope.VALUE, "inbox")
    session.commit()
    client = console(Role.GOVERNANCE)
    page = client.get("/policy/exceptions").get_data(as_text=True)
    links = {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)}
    violation_link = next(link for link in links if link.endswith(f"#violation-{scanned.id}"))
    assert f'id="violation-{scanned.id}"' in client.get(violation_link.split("#")[0]).get_data(as_text=True)
    audit_link = f"/audit?target_type=policy_exception&target_id={made.id}"
    assert audit_link in links
    audit = text_of(client.get(audit_link))
    assert "policy:exception:create" in audit


@pytest.mark.parametrize("locale, words", [("en", "You are about to remove the exception to"), ("ar", "أنت على وشك إزالة الاستثناء")])
def test_removing_an_exception_asks_first_and_a_second_removal_says_who_did_it(console, scanned, session, actor, runtime,
                                                                             locale, words):
    [exception] = service.add_exceptions(session, actor, runtime.version, scanned.id, service.ExceptionScope.VALUE_ON_ACCOUNT, "x")
    session.commit()
    client = console(Role.GOVERNANCE)
    client.post("/locale", data={"locale": locale})
    refresh()
    asked = client.post(f"/policy/exceptions/{exception.id}/remove", data={"reason": "retired"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page and "\u2068privacy.email\u2069" in page and "\u2068@alnoor_news\u2069" in page
    assert 'name="confirmed" value="1"' in page and 'value="retired"' in page
    session.expire_all()
    assert session.get(PolicyException, exception.id).removed_at is None, "asking changes nothing"
    client.post(f"/policy/exceptions/{exception.id}/remove", data={"confirmed": "1"})
    again = client.post(f"/policy/exceptions/{exception.id}/remove", data={"confirmed": "1"}, follow_redirects=True)
    assert again.status_code == 200 and "\u2068governance tester\u2069" in text_of(again)
    if locale == "en":
        assert "This exception was already removed on" in text_of(again)

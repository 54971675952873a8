"""The console's policy pages: who may open them, the test bench's highlighting, the violations queue and approvals."""

from __future__ import annotations

import html
import io
import re

import pytest

from govern.auth.roles import Role
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from tests import factories
from tests.support.console import signed_in_with_role

PAGES = ["/policy/test", "/policy/violations", "/policy/approvals", "/policy/impostors"]
ARABIC_POST = "للتواصل مع فريق المبيعات راسلوا ahmed@example.com اليوم"
EMAIL = "ahmed@example.com"


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def console(app, session):
    """A test client signed in to the console as a new user of a role; .actor_id is how the audit trail names them."""

    def sign_in(role: Role):
        return signed_in_with_role(app, session, role)

    return sign_in


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def violation(session, actor):
    account = factories.account(session, actor, handle="alnoor_news")
    row = PolicyViolation(
        account_id=account.id, content_kind=ContentKind.COMMENT, external_id="c-1", decision=Action.REQUIRE_APPROVAL,
        findings=[{"entity": "EMAIL_ADDRESS", "rule": "privacy.email", "category": "privacy", "start": 11, "end": 28,
                   "action": "require_approval", "severity": "medium", "explanation": "an email address",
                   "preview": "a***@example.com"}],
        masked_text="راسلوا على a***@example.com", pack_version="sha256:test",
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def approval_by(session, actor):
    def make(requested_by: str) -> PublishApproval:
        person = factories.person(session, actor, display_name="سارة الحسيني")
        account = factories.account(session, actor)
        row = PublishApproval(
            account_id=account.id, person_id=person.id, requested_by=requested_by, network_action="publish",
            params={"text": "إطلاق المنتج غداً"}, findings=[], pack_version="sha256:test",
        )
        session.add(row)
        session.commit()
        return row

    return make


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.GOVERNANCE, Role.IT, Role.AUDITOR], ids=lambda r: r.value)
def test_every_console_role_opens_the_policy_pages(console, role, path):
    response = console(role).get(path)
    assert response.status_code == 200, path
    assert 'href="/static/console/policy.css"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_a_role_without_the_permissions_is_refused(console, path):
    assert console(Role.SCIM).get(path).status_code == 403


@pytest.mark.parametrize("role", [Role.IT, Role.AUDITOR], ids=lambda r: r.value)
def test_only_governance_decides(console, violation, approval_by, role):
    client = console(role)
    approval = approval_by("console_user:0")
    assert client.post(f"/policy/violations/{violation.id}/resolve", data={"note": "done"}).status_code == 403
    assert client.post(f"/policy/approvals/{approval.id}/approve").status_code == 403
    assert client.post(f"/policy/approvals/{approval.id}/reject", data={"note": "no"}).status_code == 403
    page = text_of(client.get("/policy/violations"))
    assert "Governance assigns and closes violations." in page and "/resolve" not in page


def test_the_test_bench_highlights_a_finding_in_arabic_text(console):
    response = console(Role.AUDITOR).post("/policy/test", data={"text": ARABIC_POST, "account_id": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = ARABIC_POST.index(EMAIL)
    before, after = ARABIC_POST[:start], ARABIC_POST[start + len(EMAIL):]
    highlighted = re.search(
        r'<div class="policy-text" dir="auto">(?P<before>[^<]*)<bdi><mark class="finding finding-(?P<action>[a-z_]+)"'
        r' title="(?P<title>[^"]*)" aria-describedby="finding-1">(?P<marked>[^<]*)</mark><sup class="finding-ref">'
        r'<a href="#finding-1">1</a></sup></bdi>(?P<after>[^<]*)</div>', page)
    assert highlighted, page
    assert highlighted["before"] == before and highlighted["marked"] == EMAIL and highlighted["after"] == after
    assert "EMAIL_ADDRESS" in highlighted["title"] and "privacy." in highlighted["title"]
    findings = page[page.index('<table class="data findings">'):]
    assert EMAIL not in findings, "the findings table shows only the masked preview"
    assert "@example.com" in findings and 'id="finding-1"' in findings
    assert 'class="pack-version">sha256:' in page


def test_the_test_bench_explains_bad_input_instead_of_failing(console):
    client = console(Role.IT)
    empty = client.post("/policy/test", data={"text": "  "})
    assert empty.status_code == 422 and "Write the text of a post, or attach an image" in text_of(empty)
    not_an_image = client.post("/policy/test", data={"text": "hello", "images": [(io.BytesIO(b"not a picture"), "a.png")]},
                               content_type="multipart/form-data")
    assert not_an_image.status_code == 422
    assert "An attachment is not an image govern can read" in text_of(not_an_image)
    eleven = [(io.BytesIO(b"x"), f"{n}.png") for n in range(11)]
    too_many = client.post("/policy/test", data={"text": "hello", "images": eleven}, content_type="multipart/form-data")
    assert too_many.status_code == 422 and "Attach at most 10 images to one check." in text_of(too_many)
    unknown_account = client.post("/policy/test", data={"text": "hello", "account_id": "999999"})
    assert unknown_account.status_code == 404 and "Account: this is not a valid account." in text_of(unknown_account)
    assert 'class="alert alert-error"' in unknown_account.get_data(as_text=True)


def test_the_violations_queue_filters_and_shows_masked_text(console, violation):
    client = console(Role.AUDITOR)
    page = text_of(client.get(f"/policy/violations?status=open&account_id={violation.account_id}"))
    assert "a***@example.com" in page and "alnoor_news" in page and "privacy.email" in page
    assert 'class="masked-text" dir="auto"' in page
    assert violation.masked_text not in text_of(client.get("/policy/violations?status=resolved"))
    bad_filter = client.get("/policy/violations?status=everything")
    assert bad_filter.status_code == 400 and "Status: choose a status from the list." in text_of(bad_filter)


def test_resolving_a_violation_without_a_note_is_refused_readably(console, violation, session):
    client = console(Role.GOVERNANCE)
    refused = client.post(f"/policy/violations/{violation.id}/resolve", data={"note": "  "})
    assert refused.status_code == 422
    assert "Write a note: what was done about it, or why it is not a violation." in text_of(refused)
    session.refresh(violation)
    assert violation.status is ViolationStatus.OPEN

    assigned = client.post(f"/policy/violations/{violation.id}/assign", data={"assignee": "ليلى"})
    assert assigned.status_code == 302
    resolved = client.post(f"/policy/violations/{violation.id}/resolve?status=assigned", data={"note": "حُذف التعليق"},
                           follow_redirects=True)
    assert resolved.status_code == 200 and f"Violation {violation.id} resolved." in text_of(resolved)
    session.refresh(violation)
    assert violation.status is ViolationStatus.RESOLVED and violation.resolution_note == "حُذف التعليق"
    again = client.post(f"/policy/violations/{violation.id}/false-positive", data={"note": "late"})
    assert again.status_code == 422 and "already closed" in text_of(again)


def test_the_requester_cannot_approve_their_own_post(console, approval_by, session):
    client = console(Role.GOVERNANCE)
    approval = approval_by(client.actor_id)
    page = text_of(client.get("/policy/approvals"))
    assert "إطلاق المنتج غداً" in page and "سارة الحسيني" in page
    refused = client.post(f"/policy/approvals/{approval.id}/approve", data={"note": ""})
    assert refused.status_code == 422
    assert "The post was not published:" in text_of(refused)
    assert "cannot approve their own post" in text_of(refused)
    session.refresh(approval)
    assert approval.status is ApprovalStatus.PENDING


def test_rejecting_needs_a_reason_and_then_closes_the_approval(console, approval_by, session):
    client = console(Role.GOVERNANCE)
    approval = approval_by("console_user:0")
    refused = client.post(f"/policy/approvals/{approval.id}/reject", data={"note": ""})
    assert refused.status_code == 422 and "Write why the post is rejected" in text_of(refused)
    rejected = client.post(f"/policy/approvals/{approval.id}/reject", data={"note": "يكشف موعد الإطلاق"}, follow_redirects=True)
    assert f"Approval {approval.id} rejected" in text_of(rejected)
    session.refresh(approval)
    assert approval.status is ApprovalStatus.REJECTED and approval.decision_note == "يكشف موعد الإطلاق"


def test_the_impostor_watch_flags_lookalikes_of_own_handles(console, session, actor):
    factories.account(session, actor, handle="acme_support", network="instagram")
    session.commit()
    client = console(Role.IT)
    response = client.post("/policy/impostors", data={"candidates": "instagram:acme_support\nacme_supp0rt\nx:unrelated_bakery\n"})
    page = text_of(response)
    assert response.status_code == 200
    assert "@acme_supp0rt" in page and "instagram:@acme_support" in page
    assert "unrelated_bakery" not in page.split('<table class="data impostors">')[1]
    empty = client.post("/policy/impostors", data={"candidates": "\n  \n"})
    assert empty.status_code == 422 and "Write at least one handle to check" in text_of(empty)


def test_a_decision_form_without_its_csrf_token_is_refused(app, console, violation, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = console(Role.GOVERNANCE).post(f"/policy/violations/{violation.id}/resolve", data={"note": "done"})
    assert response.status_code == 400

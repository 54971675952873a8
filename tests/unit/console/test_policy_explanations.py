"""Explanations in the reader's language: the test bench, the violations queue and approvals show each rule's
description in the console's locale (looked up by rule id at render time), and why a finding is only likely."""

from __future__ import annotations

import html
import uuid

import pytest

from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation
from govern.publishing.models import PublishApproval
from tests import factories
from tests.support.console import signed_in_client

EMAIL_RULE = {
    "en": "A personal e-mail address needs approval before it is published; the company's own addresses are fine.",
    "ar": "يحتاج نشر بريد إلكتروني شخصي إلى موافقة؛ عناوين الشركة مسموح بها.",
    "he": 'פרסום כתובת דוא"ל אישית דורש אישור; כתובות החברה מותרות.',
}
MARKER_RULE = {"en": "The text is marked internal or confidential.", "ar": "النص مُعلَّم بأنه داخلي أو سري.",
               "he": "הטקסט מסומן כפנימי או סודי."}
BRAND_RULE = {"en": "The brand name is misspelt.", "ar": "اسم العلامة التجارية مكتوب بشكل خاطئ.",
              "he": "שם המותג מאוית לא נכון."}
REASON = {"en": "no context word near it says what it is", "ar": "لا توجد بقربه كلمة سياق تدل على ماهيته",
          "he": "אין לידו מילת הקשר שאומרת מה הוא"}
WRITE = {"en": ' (write "Acme")', "ar": ' (اكتب "Acme")', "he": ' (כתבו "Acme")'}
STORED_EN = EMAIL_RULE["en"]  # violations store the text of the language the engine used


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def reader(app, session):
    """A governance user's client whose console is in `locale`."""

    def sign_in(locale: str):
        user = ensure_console_user(session, Actor.system("tests"), f"reader-{uuid.uuid4().hex[:8]}@console.test",
                                   "reader", Role.GOVERNANCE)
        session.commit()
        client = signed_in_client(app, user.id)
        with client.session_transaction() as cookie:
            cookie["locale"] = locale
        return client

    return sign_in


def _stored(rule: str, explanation: str, **extra) -> dict:
    return {"entity": "EMAIL_ADDRESS", "rule": rule, "category": "privacy", "start": 0, "end": 5,
            "action": "require_approval", "severity": "medium", "explanation": explanation, "preview": "a***@x",
            **extra}


@pytest.fixture
def stored(session, actor):
    """One violation and one pending approval whose findings were stored with English explanations."""
    account = factories.account(session, actor, handle=f"store_{uuid.uuid4().hex[:6]}")
    person = factories.person(session, actor, display_name="Dana")
    findings = [
        _stored("privacy.email", STORED_EN + " (" + REASON["en"] + ")", certainty="likely", reason="no_context"),
        _stored("brand.misspelling", BRAND_RULE["en"] + ' (write "Acme")'),
        _stored("retired.rule", "A rule that is no longer in force."),
        _stored("confidentiality.marker", MARKER_RULE["he"]),  # evaluated for a Hebrew account
    ]
    violation = PolicyViolation(account_id=account.id, content_kind=ContentKind.POST, external_id="p-1",
                                decision=Action.REQUIRE_APPROVAL, findings=findings, masked_text="a***@x Acmee",
                                pack_version="sha256:old")
    approval = PublishApproval(account_id=account.id, person_id=person.id, requested_by="console_user:0",
                               network_action="publish", params={"text": "dana@example.com Acmee"}, findings=findings,
                               pack_version="sha256:old")
    session.add_all([violation, approval])
    session.commit()
    return violation, approval


def _page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("locale", ["ar", "he", "en"])
def test_the_test_bench_explains_in_the_readers_language(reader, locale):
    page = _page(reader(locale).post("/policy/test", data={"text": "Q3 deck, do not share outside the company",
                                                           "account_id": ""}))
    assert MARKER_RULE[locale] in page
    for other in {"ar", "he", "en"} - {locale}:
        assert MARKER_RULE[other] not in page


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_stored_violations_and_approvals_explain_in_the_readers_language(reader, stored, locale):
    client = reader(locale)
    for path in ("/policy/violations", "/policy/approvals"):
        page = _page(client.get(path))
        assert EMAIL_RULE[locale] in page and STORED_EN not in page, path
        assert BRAND_RULE[locale] + WRITE[locale] in page, path
        assert REASON[locale] in page and REASON["en"] not in page, path
        assert "A rule that is no longer in force." in page, path  # its rule is gone: the stored text stands
        assert MARKER_RULE[locale] in page, path


def test_an_english_reader_sees_the_english_description_and_reason(reader, stored):
    page = _page(reader("en").get("/policy/approvals"))
    assert STORED_EN in page and BRAND_RULE["en"] + WRITE["en"] in page
    assert MARKER_RULE["en"] in page and MARKER_RULE["he"] not in page
    assert "Likely, not certain: " + REASON["en"] in page


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_the_test_bench_says_why_a_finding_is_only_likely_in_the_readers_language(reader, locale):
    page = _page(reader(locale).post("/policy/test", data={"text": "Our confidential hotline is open 24/7",
                                                           "account_id": ""}))
    assert MARKER_RULE[locale] in page and REASON[locale] in page and REASON["en"] not in page

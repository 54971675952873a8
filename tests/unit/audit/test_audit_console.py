"""The console's audit log: filters with readable refusals, names instead of ids with links, "verify the trail now",
the auditor's way to evidence bundles and reports; and an account's and a person's history with every event about
them, grants, revocations and review decisions included."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from govern.actor import Actor
from govern.audit.models import AuditEvent, AuditVerification
from govern.audit.names import name_events
from govern.audit.service import EventFilter, events_query, history_of, record
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.grants.models import GrantRole
from govern.grants.service import create_grant, revoke_grant
from govern.reviews import service as reviews
from govern.reviews.models import ReviewItem, ScopeKind
from tests import factories
from tests.support.console import csrf_token_of, signed_in_client


def _console(app, session, role: Role, email: str, name: str, person_id: int | None = None):
    user = ensure_console_user(session, Actor.system("tests"), email, name, role, person_id=person_id)
    session.commit()
    client = signed_in_client(app, user.id)
    client.user = user
    return client


@pytest.fixture
def auditor(app, session):
    return _console(app, session, Role.AUDITOR, "ines.auditor@audit.test", "Inès Auditor")


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _rows(page: str) -> list[str]:
    table = page.split('id="events-title"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<tr id="event-\d+">(.*?)</tr>', table, re.S)


@pytest.fixture
def granted(session, actor):
    """An account with a grant given and revoked by a named console user, and an unrelated account's event."""
    granter = ensure_console_user(session, Actor.system("tests"), "gil.it@audit.test", "Gil IT", Role.IT)
    as_granter = Actor(f"console_user:{granter.id}", granter.email)
    account = factories.account(session, actor, handle="@newsroom_audit")
    other = factories.account(session, actor, handle="@elsewhere_audit")
    person = factories.person(session, actor, display_name="Dana Levi-Audit")
    grant = create_grant(session, as_granter, person.id, account.id, GrantRole.PUBLISHER, "covers the night desk")
    revoke_grant(session, as_granter, grant.id, "moved to another team")
    record(session, actor, "accounts:account:update", "account", other.id, reason="unrelated change")
    session.commit()
    return {"account": account, "other": other, "person": person, "grant": grant, "granter": granter}


# --- an account's and a person's whole history -------------------------------------------------------------
def test_an_accounts_history_includes_its_grants_revocations_and_review_decisions(session, actor, granted):
    account, person = granted["account"], granted["person"]
    kept_grant = create_grant(session, actor, person.id, account.id, GrantRole.ANALYST, "reads the analytics")
    session.commit()
    campaign = reviews.open_campaign(session, actor, reviews.ReviewSettings(), name="Q4 audit review",
                                     scope_kind=ScopeKind.ALL, deadline=datetime.now(timezone.utc) + timedelta(days=7))
    item = session.scalar(select(ReviewItem).where(ReviewItem.campaign_id == campaign.id, ReviewItem.grant_id == kept_grant.id))
    reviews.decide_item(session, actor, reviews.Decider(None, manages=True), item.id, "certify", "still needed")
    session.commit()

    events, more = history_of(session, "account", account.id, 50)
    actions = [event.action for event in events]
    assert {"grants:grant:create", "grants:grant:revoke", "reviews:item:certify"} <= set(actions)
    assert not more and all(event.summary.get("reason") != "unrelated change" for event in events)
    assert [event.seq for event in events] == sorted((event.seq for event in events), reverse=True)
    person_events, _ = history_of(session, "person", person.id, 50)
    assert {"grants:grant:create", "grants:grant:revoke", "reviews:item:certify"} <= {e.action for e in person_events}
    other_events, _ = history_of(session, "account", granted["other"].id, 50)
    assert [event.summary.get("reason") for event in other_events if event.action == "accounts:account:update"] == ["unrelated change"]


def test_the_account_page_shows_grant_and_revoke_events_with_names(app, session, granted):
    admin = _console(app, session, Role.ADMIN, "ada.admin@audit.test", "Ada Admin")
    page = _page(admin.get(f"/accounts/{granted['account'].id}"))
    history = page.split('id="history-title"', 1)[1].split("</section>", 1)[0]
    assert "moved to another team" in history
    assert history.count("Gil IT") >= 2  # the granter's name, not console_user:N
    assert f"console_user:{granted['granter'].id}</code>" not in history
    assert f'href="/people/{granted["person"].id}"' in history  # the grant's person links to their page
    person_page = _page(admin.get(f"/people/{granted['person'].id}"))
    person_history = person_page.split('id="history-title"', 1)[1].split("</section>", 1)[0]
    assert "moved to another team" in person_history
    assert f'href="/accounts/{granted["account"].id}"' in person_history


def test_the_whole_history_link_shows_the_grant_events_too(app, session, actor, granted):
    admin = _console(app, session, Role.ADMIN, "ada2.admin@audit.test", "Ada Admin")
    account = granted["account"]
    for n in range(25):
        record(session, actor, "accounts:account:update", "account", account.id, reason=f"change {n:02d}")
    session.commit()
    page = _page(admin.get(f"/accounts/{account.id}"))
    link = re.search(r'href="(/audit\?[^"]+)"', page.split('id="history-title"', 1)[1])
    log = _page(admin.get(html.unescape(link.group(1))))
    assert "change 00" in log and "change 24" in log
    assert "moved to another team" in log and "unrelated change" not in log
    assert f'href="/accounts/{account.id}">Back to the account</a>' in log


# --- names and links --------------------------------------------------------------------------------------
def test_names_for_a_page_are_read_in_a_few_queries_whatever_its_size(app, session, actor, granted):
    from sqlalchemy import event as sa_event

    for n in range(40):
        extra = factories.account(session, actor, handle=f"@many_{n}")
        record(session, Actor(f"console_user:{granted['granter'].id}", "x"), "accounts:account:update", "account", extra.id)
    session.commit()
    events = list(session.scalars(events_query(EventFilter()).limit(50)))
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa_event.listen(session.get_bind(), "before_cursor_execute", listener)
    try:
        named = name_events(session, events)
    finally:
        sa_event.remove(session.get_bind(), "before_cursor_execute", listener)
    assert len(statements) <= 7, statements
    by_seq = {row.event.seq: row for row in named}
    newest = by_seq[events[0].seq]
    assert newest.actor.name == "Gil IT" and newest.actor.email == "gil.it@audit.test"
    assert newest.target.account.name == "@many_39"


def test_the_log_shows_names_and_links_to_what_each_event_touched(auditor, session, actor, granted):
    page = _page(auditor.get("/audit", query_string={"actor": "gil.it@audit.test"}))
    rows = _rows(page)
    assert len(rows) == 2 and all("Gil IT" in row and "gil.it@audit.test" in row for row in rows)
    assert all(f'href="/accounts/{granted["account"].id}"' in row and "@newsroom_audit" in row for row in rows)
    assert all(f'href="/people/{granted["person"].id}"' in row and "Dana Levi-Audit" in row for row in rows)
    assert "moved to another team" in rows[0]


# --- filters ----------------------------------------------------------------------------------------------
def test_filters_by_action_prefix_target_and_period(auditor, session, actor, granted):
    grants_only = _rows(_page(auditor.get("/audit", query_string={"action": "grants:"})))
    assert len(grants_only) >= 2 and all("@newsroom_audit" in row for row in grants_only[:2])
    revoked = _rows(_page(auditor.get("/audit", query_string={"action": "grants:grant:revoke"})))
    assert revoked and all("moved to another team" in row for row in revoked)
    about = _rows(_page(auditor.get("/audit", query_string={"target_type": "account",
                                                             "target_id": granted["other"].id})))
    assert [row for row in about if "unrelated change" in row] and all("@elsewhere_audit" in row for row in about)
    assert not any("@newsroom_audit" in row for row in about)
    today = datetime.now(timezone.utc).date()
    inclusive = _rows(_page(auditor.get("/audit", query_string={"action": "grants:", "from": today.isoformat(),
                                                                 "to": today.isoformat()})))
    assert len(inclusive) >= 2  # "to" includes the whole day
    before = _rows(_page(auditor.get("/audit", query_string={"action": "grants:",
                                                              "to": (today - timedelta(days=1)).isoformat()})))
    assert before == []


def test_an_accounts_period_is_served_by_seq_bounds(session, actor, granted):
    account = granted["account"]
    today = datetime.now(timezone.utc)
    found = list(session.scalars(events_query(EventFilter(
        target_type="account", target_id=str(account.id), related=True, since=today - timedelta(days=1),
        until=today + timedelta(days=1))).limit(10)))
    assert {"grants:grant:create", "grants:grant:revoke"} <= {event.action for event in found}
    none = list(session.scalars(events_query(EventFilter(
        target_type="account", target_id=str(account.id), related=True, until=today - timedelta(days=1))).limit(10)))
    assert none == []


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"from": "yesterday"}, "from", "Pick a day between 1970-01-01 and 2199-12-31."),
    ({"to": "2026-02-30"}, "to", "Pick a day between 1970-01-01 and 2199-12-31."),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "The last day comes before the first day."),
    ({"action": "Grants; DROP"}, "action", "Type an action or the start of one"),
    ({"actor": "nobody@nowhere.test"}, "actor", "No console user has this email address."),
    ({"actor": "just words"}, "actor", "Type a console user's email address"),
    ({"target_id": "12"}, "target_type", "Choose what kind of record the number belongs to."),
    ({"target_type": "account", "target_id": "@newsroom"}, "target_id", "Type the record's number"),
    ({"before_seq": "x"}, "before_seq", "This page link is no longer valid"),
])
def test_bad_filters_are_refused_readably_next_to_the_field(auditor, args, field, message):
    response = auditor.get("/audit", query_string=args)
    page = _page(response)
    assert response.status_code == 400
    assert message in page
    if field != "before_seq":
        field_id = {"target_type": "audit-target-type", "target_id": "audit-target-id"}.get(field, f"audit-{field}")
        assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', page)
        assert f'id="{field_id}-error">{message}' in page


# --- verifying the trail ----------------------------------------------------------------------------------
def test_an_auditor_verifies_the_trail_and_the_verification_is_audited(auditor, session, granted):
    page = auditor.get("/audit")
    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token_of(page)})
    assert answer.status_code == 303 and "#verification" in answer.headers["Location"]
    kept = session.scalars(select(AuditVerification).order_by(AuditVerification.id.desc())).first()
    assert kept.ok and kept.verified_by == f"console_user:{auditor.user.id}" and kept.events_checked > 0
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit:trail:verify")
                              .order_by(AuditEvent.seq.desc())).first()
    assert audited.actor == f"console_user:{auditor.user.id}" and audited.target_id == str(kept.id)
    shown = _page(auditor.get(answer.headers["Location"]))
    card = shown.split('id="verification"', 1)[1].split("</section>", 1)[0]
    assert "Intact." in card and f"{kept.events_checked:,} events" in card and "Inès Auditor" in card


def test_a_broken_verification_names_the_event_where_it_breaks(auditor, session):
    session.add(AuditVerification(verified_at=datetime.now(timezone.utc), verified_by="system:verify-audit-chain", ok=False,
                                  events_checked=41, checkpoints_checked=0, last_seq=41, last_hash="0" * 64,
                                  first_failure="event 42: content does not match its hash (the event was edited)"))
    session.commit()
    card = _page(auditor.get("/audit")).split('id="verification"', 1)[1].split("</section>", 1)[0]
    assert "Broken." in card and "The trail breaks at event 42." in card and "41 events were verified before it." in card


def test_verifying_needs_the_csrf_token_and_the_audit_permission(app, session, auditor):
    assert auditor.post("/audit/verify").status_code in (400, 403)
    it = _console(app, session, Role.IT, "ivo.it@audit.test", "Ivo IT")
    page = auditor.get("/audit")
    assert it.post("/audit/verify", data={"csrf_token": csrf_token_of(page)}).status_code in (400, 403)
    assert it.get("/audit").status_code == 403


def test_a_long_trail_is_verified_since_the_last_whole_run_or_queued(app, session, actor, auditor, monkeypatch):
    from govern.audit import verifications
    from govern.outbox.models import OutboxJob

    monkeypatch.setattr(verifications, "WALK_IN_REQUEST", 0)  # every trail counts as long
    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token_of(auditor.get("/audit"))})
    assert answer.status_code == 200 and "runs in the background" in _page(answer)
    job = session.scalars(select(OutboxJob).order_by(OutboxJob.created_at.desc())).first()
    assert job.task == "govern.audit.verify_chain" and job.args[0] == f"console_user:{auditor.user.id}"

    from govern.audit import trail
    from govern.audit.signing import current_signer

    report = trail.verify_stored_trail(session, trail.trusted_keys_from_signer(session, current_signer()), workers=1)
    verifications.keep(session, actor, report)
    session.commit()
    for n in range(3):
        record(session, actor, "accounts:account:update", "account", 1, reason=f"after the whole run {n}")
    session.commit()
    head = trail.chain_head(session, fresh=True).last_seq
    monkeypatch.setattr(verifications, "WALK_IN_REQUEST", head - 1)  # too long to walk whole, the tail is short
    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token_of(auditor.get("/audit"))})
    assert answer.status_code == 200
    assert "Intact:" in _page(answer) and "since the latest whole verification" in _page(answer)


# --- the auditor's downloads ------------------------------------------------------------------------------
def test_an_auditor_reaches_evidence_bundles_and_reports_from_the_audit_log(auditor):
    page = _page(auditor.get("/audit"))
    assert 'href="/evidence"' in page and 'href="/reports"' in page
    assert 'href="/audit"' in _page(auditor.get("/reports"))  # the navigation leads to the log
    assert auditor.get("/evidence").status_code == 200 and auditor.get("/reports").status_code == 200
    export = auditor.post("/evidence", data={"from": "2020-01-01", "to": "2099-12-31",
                                             "csrf_token": csrf_token_of(auditor.get("/evidence"))})
    assert export.status_code == 302
    report = auditor.get("/reports/access/download", query_string={"format": "csv"})
    assert report.status_code == 200


# --- in the reader's language -----------------------------------------------------------------------------
@pytest.mark.parametrize("locale", ["ar", "he"])
def test_the_audit_log_and_a_history_speak_arabic_and_hebrew(app, session, granted, locale):
    from flask_babel import refresh

    reader = _console(app, session, Role.AUDITOR, f"reader-{locale}@audit.test", "Reader")
    with reader.session_transaction() as cookie:
        cookie["locale"] = locale
    refresh()
    page = _page(reader.get("/audit", query_string={"action": "grants:"}))
    for english in ("Is the trail intact?", "Verify the trail now", "Access of", "Filter the events", "Any record",
                    "Every recorded event", "The whole trail has not been verified yet."):
        assert english not in page, f"{english!r} is shown in English to a {locale} reader"
    assert ("سجل التدقيق" if locale == "ar" else "יומן הביקורת") in page
    refused = _page(reader.get("/audit", query_string={"to": "never"}))
    assert "Pick a day" not in refused
    history = _page(reader.get(f"/accounts/{granted['account'].id}")).split('id="history-title"', 1)[1]
    assert "most recent events" not in history and "Access of" not in history
    refresh()


def test_the_api_answers_an_accounts_related_events_when_asked(client, auth_headers, granted):
    account_id = granted["account"].id
    query = {"target_type": "account", "target_id": account_id}
    exact = client.get("/api/v1/audit/events", query_string=query, headers=auth_headers(Role.AUDITOR)).get_json()
    related = client.get("/api/v1/audit/events", query_string={**query, "related": "true"},
                         headers=auth_headers(Role.AUDITOR)).get_json()
    assert "grants:grant:revoke" not in {item["action"] for item in exact["items"]}
    assert {"grants:grant:create", "grants:grant:revoke"} <= {item["action"] for item in related["items"]}


def test_every_action_the_code_records_has_a_label_in_three_languages(app):
    """Each action written by record()/EventSpec in govern/ reads as words on the audit log, in en, ar and he."""
    import pathlib

    from flask_babel import force_locale

    from govern.audit.labels import event_action_label

    root = pathlib.Path(__file__).parents[3] / "govern"
    written = set()
    for path in root.rglob("*.py"):
        written |= set(re.findall(r'"([a-z_]+:[a-z_]+:[a-z_]+)"', path.read_text()))
    with app.test_request_context():
        for action in sorted(written):
            english = event_action_label(action)
            assert english != action, f"{action} has no label"
            for locale in ("ar", "he"):
                with force_locale(locale):
                    assert event_action_label(action) != english, f"{action} is not translated to {locale}"


def test_unreachable_signing_keys_are_said_not_a_500(auditor, monkeypatch):
    from govern.audit import trail
    from govern.audit.signing import SigningUnavailable

    def unreachable(*_args):
        raise SigningUnavailable("the Transit engine does not answer")

    monkeypatch.setattr(trail, "trusted_keys_from_signer", unreachable)
    answer = auditor.post("/audit/verify", data={"csrf_token": csrf_token_of(auditor.get("/audit"))})
    assert answer.status_code == 503
    assert "the trail cannot be verified: the Transit engine does not answer" in _page(answer)

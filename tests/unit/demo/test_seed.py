"""`govern demo seed`: a realistic, deterministic, idempotent organisation on a freshly migrated database."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command as alembic_command
from flask import Flask
from sqlalchemy import func, select

from govern import app_services, create_app
from govern.actor import Actor
from govern.accounts.models import AccountStatus, SocialAccount
from govern.audit.models import AuditChainHead, AuditEvent
from govern.audit.trail import verify_chain
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.cli import alembic_config
from govern.directory.models import Departure
from govern.demo.seed import seed_demo_data
from govern.extensions import db
from govern.grants.models import Grant
from govern.grants.service import GrantFilter, grants_of
from govern.people.models import Person, PersonSource, PersonStatus
from govern.people.service import PersonFilter, list_people
from tests.support.standin import free_port

ARABIC = re.compile("[\u0600-\u06ff]")
HEBREW = re.compile("[\u0590-\u05ff]")
LATIN = re.compile("[A-Za-z]")
BUILT_IN_NETWORKS = {"facebook", "instagram", "x", "linkedin", "tiktok", "youtube", "threads", "mastodon", "generic_oauth2"}


def seeded_app(directory: Path, random_seed: int, demo_network: bool = True) -> tuple[Flask, str]:
    """A migrated SQLite file under `directory`, seeded and committed; returns the app and the summary."""
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / 'govern.sqlite'}"
    alembic_command.upgrade(alembic_config(url), "head")
    app = create_app({"database_url": url, "secret_key": "x" * 40, "instance_path": str(directory / "instance"),
                      "demo_network": demo_network, "base_url": f"http://127.0.0.1:{free_port()}"})
    with app.app_context():
        summary = seed_demo_data(db.session, random_seed)
        db.session.commit()
    return app, summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[Flask, str]]:
    app, summary = seeded_app(tmp_path_factory.mktemp("demo-seed"), 7)
    yield app, summary
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(demo):
    """Overrides the suite's `session`: this module runs on its own seeded SQLite file."""
    app, _ = demo
    with app.app_context():
        yield db.session
        db.session.rollback()


def demo_people(session) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.source == PersonSource.DEMO)).unique())


def table_counts(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Person, SocialAccount, Grant, ConsoleUser, AuditEvent)}


def test_summary_reports_what_was_made(demo):
    _, summary = demo
    assert summary.startswith("demo data created (seed 7): 300 people (10 leavers), 42 accounts")


def test_about_three_hundred_people_in_three_scripts(session):
    people = demo_people(session)
    assert 280 <= len(people) <= 320
    names = [p.display_name for p in people]
    for script in (ARABIC, HEBREW, LATIN):
        assert sum(bool(script.search(n)) for n in names) >= 30, script.pattern
    assert {"ليلى حداد", "عمر الخطيب", "נועה כהן", "אורי לוי"} <= set(names)


def test_usernames_and_emails_are_ascii_and_unique(session):
    people = demo_people(session)
    assert all(p.username.isascii() and p.email.isascii() for p in people)
    assert all(re.fullmatch(r"[a-z0-9.]+", p.username) for p in people)
    assert len({p.username for p in people}) == len(people)
    assert len({p.email for p in people}) == len(people)


def test_every_person_but_the_ceo_has_a_manager_and_the_chain_reaches_the_top(session):
    people = {p.id: p for p in demo_people(session)}
    roots = [p for p in people.values() if p.manager_id is None]
    assert len(roots) == 1
    for person in people.values():
        seen = set()
        while person.manager_id is not None:
            assert person.id not in seen, "manager cycle"
            seen.add(person.id)
            person = people[person.manager_id]
        assert person is roots[0]
    departments = Counter(p.department for p in people.values())
    assert {"Communications", "Marketing", "Customer Care", "HR", "Investor Relations", "Regional Office Riyadh",
            "Regional Office Tel Aviv"} <= set(departments)


def test_leavers_left_in_the_past_and_hold_nothing(session):
    leavers = [p for p in demo_people(session) if p.status == PersonStatus.LEAVER]
    assert 5 <= len(leavers) <= 15
    now = datetime.now(timezone.utc)
    for leaver in leavers:
        assert leaver.left_at is not None and leaver.left_at < now
        assert grants_of(session, GrantFilter(person_id=leaver.id, state="active")) == []
        assert session.scalar(select(func.count()).where(Person.manager_id == leaver.id)) == 0
        assert session.scalar(select(func.count()).where(SocialAccount.owner_id == leaver.id)) == 0
    removed = {d.person_id: d.access_removed_at for d in session.scalars(select(Departure))}
    offboarded = grants_of(session, GrantFilter(state="revoked"))
    assert any(g.person.status == PersonStatus.LEAVER and g.revoked_at == removed[g.person_id] for g in offboarded)


def test_accounts_cover_every_network_and_the_regions(session):
    accounts = list(session.scalars(select(SocialAccount)).unique())
    assert 35 <= len(accounts) <= 45
    assert {a.network.key for a in accounts} == BUILT_IN_NETWORKS | {"demo"}
    names = {a.display_name for a in accounts}
    assert "أكمي السعودية" in names and "אקמי ישראל" in names
    assert {a.handle for a in accounts} >= {"acme_ksa", "acme_israel"}
    statuses = Counter(a.status for a in accounts)
    assert statuses[AccountStatus.SUSPENDED] >= 1 and statuses[AccountStatus.UNMANAGED] >= 1
    assert statuses[AccountStatus.RETIRED] == 1
    for account in accounts:
        assert account.tags and account.business_unit
        if account.status == AccountStatus.UNMANAGED:
            assert account.owner_id is None
        else:
            assert account.owner.status == PersonStatus.ACTIVE


def test_grants_in_every_state_and_expired_ones_do_not_count_as_active(session):
    active = {g.id for g in grants_of(session, GrantFilter(state="active"))}
    expired = grants_of(session, GrantFilter(state="expired"))
    assert len(expired) >= 3
    assert active.isdisjoint(g.id for g in expired)
    assert grants_of(session, GrantFilter(state="scheduled"))
    assert len(grants_of(session, GrantFilter(state="revoked"))) >= 5
    assert any(g.expires_at is not None for g in grants_of(session, GrantFilter(state="active")))
    managed = session.scalars(
        select(SocialAccount).where(SocialAccount.status.in_([AccountStatus.ACTIVE, AccountStatus.SUSPENDED]))
    ).unique()
    per_account = [len(grants_of(session, GrantFilter(account_id=a.id, state="all"))) for a in managed]
    assert min(per_account) >= 2 and 2 <= sum(per_account) / len(per_account) <= 6.5


def test_retiring_the_campaign_account_revoked_its_grants(session):
    retired = session.scalar(select(SocialAccount).where(SocialAccount.status == AccountStatus.RETIRED))
    grants = grants_of(session, GrantFilter(account_id=retired.id, state="all"))
    assert grants and all(g.revoke_reason.startswith("account retired:") for g in grants)


def test_console_users_one_per_role(session):
    users = {u.email: u.role for u in session.scalars(select(ConsoleUser))}
    assert users == {
        "admin@govern.demo": Role.ADMIN,
        "governance@govern.demo": Role.GOVERNANCE,
        "it@govern.demo": Role.IT,
        "auditor@govern.demo": Role.AUDITOR,
        "reviewer@govern.demo": Role.REVIEWER,
    }


def test_the_demo_reviewer_has_items_to_review_in_an_open_campaign(session):
    from govern.reviews.models import ReviewCampaign, ReviewItem

    reviewer = session.scalars(select(ConsoleUser).where(ConsoleUser.email == "reviewer@govern.demo")).one()
    [campaign] = session.scalars(select(ReviewCampaign)).all()
    assert campaign.status == "open" and campaign.scope_kind == "business_unit"
    mine = session.scalars(select(ReviewItem).where(ReviewItem.reviewer_person_id == reviewer.person_id)).all()
    assert mine and all(item.decision is None for item in mine)


def test_every_change_is_audited_and_the_chain_verifies(session):
    result = verify_chain(session)
    assert result.ok, str(result.first_break)
    assert result.checked > 400
    actors = set(session.scalars(select(AuditEvent.actor).distinct()))
    admin, governance, it_user = (session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).one()
                                  for email in ("admin@govern.demo", "governance@govern.demo", "it@govern.demo"))
    # the review's reviewers are notified; the demo admin publishes and checks out a password, governance approves it;
    # IT writes the post waiting for approval
    assert actors == {"system:demo-seed", "system:notifications", f"console_user:{admin.id}", f"console_user:{governance.id}",
                      f"console_user:{it_user.id}"}


def test_folded_search_finds_arabic_names_typed_without_variants(session):
    found = list_people(session, PersonFilter(q="ليلي حداد")).items  # ى typed as ي
    assert [p.display_name for p in found] == ["ليلى حداد"]


def test_seeding_again_changes_nothing(demo, session):
    before = table_counts(session)
    head = session.get(AuditChainHead, 1).last_seq
    summary = seed_demo_data(session, 7)
    session.commit()
    assert "already present" in summary
    assert table_counts(session) == before
    assert session.get(AuditChainHead, 1).last_seq == head


def _fingerprint(app: Flask) -> tuple:
    with app.app_context():
        people = demo_people(db.session)
        ext = {p.id: p.external_id for p in people}
        accounts = db.session.scalars(select(SocialAccount)).unique()
        grants = db.session.scalars(select(Grant)).unique()
        return (
            sorted((p.external_id, p.username, p.display_name, p.department, ext.get(p.manager_id), p.status.value)
                   for p in people),
            sorted((a.network.key, a.handle, ext.get(a.owner_id), a.status.value) for a in accounts),
            sorted((ext[g.person_id], g.account.network.key, g.account.handle, g.role.value, g.reason, g.revoked_at is None)
                   for g in grants),
        )


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    again, _ = seeded_app(tmp_path / "again", 7)
    other, _ = seeded_app(tmp_path / "other", 8)
    try:
        assert _fingerprint(again) == _fingerprint(demo[0])
        assert _fingerprint(other) != _fingerprint(demo[0])
    finally:
        for app in (again, other):
            with app.app_context():
                db.engine.dispose()


# --- the flows the demo lets a person try at once (issue 15, item 9) ---------------------------------------------------
def console_user(session, email: str) -> ConsoleUser:
    return session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).one()


def test_every_demo_console_user_is_an_active_person(session):
    users = list(session.scalars(select(ConsoleUser)))
    assert len(users) == 5
    for user in users:
        person = session.get(Person, user.person_id)
        assert person is not None and person.status == PersonStatus.ACTIVE and person.source == PersonSource.DEMO, user.email
    assert len({u.person_id for u in users}) == 5


def test_directory_sync_runs_completed_and_held(session):
    from govern.directory.models import SyncRun, SyncStatus

    runs = {run.status: run for run in session.scalars(select(SyncRun))}
    assert set(runs) == {SyncStatus.SUCCEEDED, SyncStatus.HELD}
    held = runs[SyncStatus.HELD]
    assert len(held.held_departures) > 25 and held.counts["departed"] == len(held.held_departures)
    held_people = [session.get(Person, d["person_id"]) for d in held.held_departures]
    assert all(p.status == PersonStatus.ACTIVE for p in held_people)  # held: nobody departed by it


def test_every_leaver_has_a_departure_with_its_time_to_revoke(session):
    departures = list(session.scalars(select(Departure)))
    leavers = [p for p in demo_people(session) if p.status == PersonStatus.LEAVER]
    assert {d.person_id for d in departures} == {p.id for p in leavers}
    sla = 4 * 3600
    assert all(d.time_to_revoke_seconds is not None and d.access_removed_at >= d.first_seen_at for d in departures)
    late = [d for d in departures if d.time_to_revoke_seconds > sla]
    assert late and len(late) < len(departures) / 2  # most within the SLA, a few not (the README says so)
    assert all(d.access_removed_at < datetime.now(timezone.utc) for d in departures)


def test_the_departures_page_lists_the_leavers(demo, session):
    from tests.support.console import signed_in_client

    app, _ = demo
    admin = console_user(session, "admin@govern.demo")
    page = signed_in_client(app, admin.id).get("/directory/departures")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nobody has left yet" not in text
    leaver = next(p for p in demo_people(session) if p.status == PersonStatus.LEAVER)
    assert leaver.display_name in text


def test_the_demo_network_is_registered_with_one_account_left_to_connect(demo, session):
    from govern.broker.models import AccountConnection, ConnectionHealth, NetworkApp

    app, _ = demo
    base_url = app_services.settings(app).base_url
    registration = session.scalars(select(NetworkApp)).one()
    assert registration.network.key == "demo" and registration.client_id == "govern-demo"
    assert registration.token_url == f"{base_url}/demo-network/oauth/token"  # where the served app answers
    accounts = {a.handle: a for a in session.scalars(select(SocialAccount).join(SocialAccount.network)
                                                     .where(SocialAccount.network.has(key="demo"))).unique()}
    assert set(accounts) == {"acme_demo", "acme_demo_ar", "acme_demo_he"}
    connections = {c.account_id: c for c in session.scalars(select(AccountConnection))}
    assert {accounts["acme_demo"].id, accounts["acme_demo_ar"].id} == set(connections)
    assert all(c.health == ConnectionHealth.HEALTHY for c in connections.values())


def test_pending_approvals_a_blocked_post_and_open_violations(session):
    from govern.policy.workflow_models import PolicyViolation, ViolationStatus
    from govern.publishing.models import ApprovalStatus, PublishApproval

    admin = console_user(session, "admin@govern.demo")
    approvals = list(session.scalars(select(PublishApproval)))
    assert len(approvals) == 2 and all(a.status == ApprovalStatus.PENDING for a in approvals)
    assert all(a.requested_by == f"console_user:{admin.id}" and a.person_id == admin.person_id for a in approvals)
    blocked = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "broker:action:publish"))
               if (e.summary or {}).get("outcome") == "blocked"]
    assert len(blocked) == 1 and "4111 1111" not in str(blocked[0].summary)  # the card number is masked on the record
    violations = list(session.scalars(select(PolicyViolation)))
    assert len(violations) >= 2 and all(v.status == ViolationStatus.OPEN for v in violations)
    assert {v.content_kind.value for v in violations} == {"post", "comment"}
    assert any(v.response_taken == "hidden" for v in violations)


def test_a_totp_login_and_an_open_break_glass_checkout(demo, session):
    from govern.credentials.models import Checkout, LegacyCredential
    from govern.credentials.service import totp_code

    app, _ = demo
    admin, governance = console_user(session, "admin@govern.demo"), console_user(session, "governance@govern.demo")
    credential = session.scalars(select(LegacyCredential)).one()
    assert credential.has_totp and credential.has_password
    checkout = session.scalars(select(Checkout)).one()
    assert checkout.requester_person_id == admin.person_id and checkout.approver_person_id == governance.person_id
    assert checkout.ended_at is None and checkout.ends_at > datetime.now(timezone.utc)
    code = totp_code(session, app_services.broker(app).store, Actor.system("tests"), admin.person_id, credential.account_id)
    assert re.fullmatch(r"\d{6}", code["code"])


def test_the_demo_network_secret_reaches_no_table(demo, session):
    from govern.db import Base
    from govern.demo.network import demo_client_secret
    from sqlalchemy import text

    app, _ = demo
    secret = demo_client_secret(app.config["SECRET_KEY"]).reveal()
    for table in Base.metadata.sorted_tables:
        for row in session.execute(text(f'SELECT * FROM "{table.name}"')):
            assert secret not in str(tuple(row)), table.name


def test_without_the_demo_network_the_seed_connects_nothing_and_says_so(tmp_path):
    from govern.broker.models import AccountConnection, NetworkApp
    from govern.credentials.models import Checkout

    app, summary = seeded_app(tmp_path / "no-network", 7, demo_network=False)
    try:
        assert "demo network not served" in summary and "10 departures" in summary
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(NetworkApp)) == 0
            assert db.session.scalar(select(func.count()).select_from(AccountConnection)) == 0
            assert db.session.scalar(select(func.count()).select_from(Checkout)) == 1
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_networks_page_knows_the_demo_network_and_its_own_page_links_there(demo, session):
    from tests.support.console import signed_in_client

    app, _ = demo
    admin = signed_in_client(app, console_user(session, "admin@govern.demo").id)
    registration = admin.get("/networks/demo")
    assert registration.status_code == 200 and "govern-demo" in registration.get_data(as_text=True)
    assert 'href="/networks/demo"' in admin.get("/demo-network/").get_data(as_text=True)


def test_a_post_for_three_marketing_accounts_waits_for_a_two_step_approval(session):
    from govern.publishing.models import ApprovalRule, Post, PostState

    it_user, admin = console_user(session, "it@govern.demo"), console_user(session, "admin@govern.demo")
    [rule] = session.scalars(select(ApprovalRule)).all()
    assert [step["mode"] for step in rule.steps] == ["any", "all"] and rule.steps[1]["people"] == [admin.person_id]
    [post] = session.scalars(select(Post)).unique().all()
    assert post.state == PostState.AWAITING_APPROVAL and post.author_person_id == it_user.person_id
    assert len(post.targets) == 3 and {t.account.business_unit for t in post.targets} == {"Marketing"}
    assert post.scheduled_at is not None and [r["rule_id"] for r in post.rules] == [rule.id]


def test_a_crisis_runbook_with_holding_statements_approved_by_a_second_person(session):
    from govern.runbooks.models import Runbook

    governance, admin = console_user(session, "governance@govern.demo"), console_user(session, "admin@govern.demo")
    [runbook] = session.scalars(select(Runbook)).unique().all()
    assert not runbook.auto_activate and runbook.pause_on_activate
    assert sorted(s.language for s in runbook.statements) == ["ar", "en", "he"]
    assert all(s.approved_by == f"console_user:{admin.id}" and s.author == f"console_user:{governance.id}"
               for s in runbook.statements)

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

from govern import create_app
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


def seeded_app(directory: Path, random_seed: int) -> tuple[Flask, str]:
    """A migrated SQLite file under `directory`, seeded and committed; returns the app and the summary."""
    directory.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{directory / 'govern.sqlite'}"
    alembic_command.upgrade(alembic_config(url), "head")
    app = create_app({"database_url": url, "secret_key": "x" * 40, "instance_path": str(directory / "instance"),
                      "demo_network": True, "base_url": f"http://127.0.0.1:{free_port()}"})
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
    admin, governance = (session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).one()
                         for email in ("admin@govern.demo", "governance@govern.demo"))
    # the review's reviewers are notified; the demo admin publishes and checks out a password, governance approves it
    assert actors == {"system:demo-seed", "system:notifications", f"console_user:{admin.id}", f"console_user:{governance.id}"}


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

"""The listed queries keep index plans at size: each real service function is run against a large organisation on
PostgreSQL, the SQL it sends is captured, and EXPLAIN ANALYZE of that SQL (with the same parameters) must neither
read a big table sequentially nor walk an index past thousands of rows it then throws away (the newest-first plan
that walked the primary key back to a period). A query that changes shape, or an index that goes missing, fails
here. Row counts, not timings: the assertion holds on a slow machine too."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command

from govern.migrations_config import alembic_config
from tests.support.large_org import load_large_org

BIG_TABLES = ("audit_events", "grants", "people", "social_accounts")
AUDIT_EVENTS = 200_000
WALKED_PAST = 5_000  # rows a node on a big table may read and throw away


@pytest.fixture(scope="module")
def large_database(scratch_postgres, tmp_path_factory):
    url = scratch_postgres.create("govern_plans")
    alembic_command.upgrade(alembic_config(url), "head")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        org = load_large_org(connection, accounts=5_000, tag="plans")  # the company has 5,000 accounts
        # a trail of 200,000 events over a year about accounts, people and grants, a grant's naming its account and
        # person as grants:grant:create does (hashes are placeholders: no verification runs here); the chain head
        # follows so the app sees a consistent end
        connection.execute(sa.text(
            """
            INSERT INTO audit_events (seq, occurred_at, actor, action, target_type, target_id, summary, request_id,
                                      client_addr, encoding_version, prev_hash, hash)
            SELECT n, now() - (:events - n) * interval '150 seconds', 'system:plans',
                   (ARRAY['accounts:account:update','people:person:update','grants:grant:create'])[1 + n % 3],
                   (ARRAY['account','person','grant'])[1 + n % 3],
                   CAST(CASE n % 3 WHEN 0 THEN :first_account + n % :accounts
                                   WHEN 1 THEN :first_person + n % :people
                                   ELSE :first_grant + n % :grants END AS text),
                   CASE n % 3 WHEN 2 THEN json_build_object('after', json_build_object(
                       'account_id', :first_account + n % :accounts, 'person_id', :first_person + n % :people))
                   ELSE '{}'::json END, NULL, NULL, 1, md5(CAST(n - 1 AS text)) || md5(CAST(n - 1 AS text)),
                   md5(CAST(n AS text)) || md5(CAST(n AS text))
            FROM generate_series(1, :events) AS n
            """), {"events": AUDIT_EVENTS, "first_account": org.first_account_id, "accounts": org.accounts,
                   "first_person": org.first_person_id, "people": org.people, "first_grant": org.first_grant_id,
                   "grants": org.grants})
        connection.execute(sa.text("UPDATE audit_chain_head SET last_seq = :events, last_hash = md5(CAST(:events AS text)) "
                                   "|| md5(CAST(:events AS text)) WHERE id = 1"), {"events": AUDIT_EVENTS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))  # as autovacuum would: GIN indexes get their statistics from VACUUM
    engine.dispose()
    yield url, org
    scratch_postgres.drop(url)


@pytest.fixture(scope="module")
def large_app(large_database, tmp_path_factory):
    from govern import create_app

    url, org = large_database
    return create_app({"database_url": url, "secret_key": "k" * 40, "instance_path": tmp_path_factory.mktemp("plans")}), org


def _sent_by(app, call: Callable[[], object]) -> list[tuple[str, object]]:
    """The SELECT statements (and their parameters) that `call` sent to the database."""
    from govern.extensions import db

    sent: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    return sent


def _plan(statement: str, parameters) -> dict:
    from govern.extensions import db

    return db.session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters or {}).scalar()[0]


def _problems(node: dict) -> list[str]:
    """Sequential scans of big tables, and nodes on big tables that threw many rows away, anywhere in the plan."""
    found = []
    table = node.get("Relation Name")
    if table in BIG_TABLES:
        thrown_away = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        if node["Node Type"] == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        elif thrown_away * node.get("Actual Loops", 1) > WALKED_PAST:
            found.append(f"{node['Node Type']} on {table} threw away {thrown_away} rows")
    for child in node.get("Plans", []):
        found += _problems(child)
    return found


def _listed_queries(session, org) -> dict[str, Callable[[], object]]:
    from govern.accounts.service import AccountFilter, list_accounts
    from govern.audit.trail import seq_range_for_times
    from govern.audit.names import name_events
    from govern.audit.service import EventFilter, count_events, events_query, history_of, recorded_actions
    from govern.db import utcnow
    from govern.grants.service import GrantFilter, grants_page
    from govern.people.models import PersonStatus
    from govern.people.service import PersonFilter, list_people

    account, person = org.first_account_id + 7, org.first_person_id + 1234
    now = utcnow()
    period = EventFilter(since=now - timedelta(days=200), until=now - timedelta(days=170))
    recent = EventFilter(since=now - timedelta(days=30), until=now - timedelta(days=20))
    account_text, person_text = str(account), str(person)
    return {
        "audit events about an account in a period": lambda: list(session.scalars(events_query(EventFilter(
            target_type="account", target_id=account_text, related=True, since=recent.since, until=recent.until)).limit(51))),
        "audit events about a person, next page": lambda: list(session.scalars(events_query(EventFilter(
            target_type="person", target_id=person_text, related=True), before_seq=AUDIT_EVENTS // 2).limit(51))),
        "audit events of an action": lambda: list(session.scalars(events_query(EventFilter(
            actions=("grants:grant:create",))).limit(51))),
        "audit events of an action prefix": lambda: list(session.scalars(events_query(EventFilter(
            actions=tuple(name for name in recorded_actions(session) if name.startswith("people:")))).limit(51))),
        "audit events by an actor": lambda: list(session.scalars(events_query(EventFilter(actor="system:plans"),
                                                                               before_seq=AUDIT_EVENTS // 3).limit(51))),
        "audit events by an actor in a period": lambda: list(session.scalars(events_query(EventFilter(
            actor="system:plans", since=recent.since, until=recent.until)).limit(51))),
        "audit events of an action in a period": lambda: list(session.scalars(events_query(EventFilter(
            actions=("people:person:update",), since=period.since, until=period.until)).limit(51))),
        "audit events of a target in a period": lambda: list(session.scalars(events_query(EventFilter(
            target_type="grant", target_id=str(org.first_grant_id + 5), since=period.since, until=period.until)).limit(51))),
        "audit actions recorded": lambda: recorded_actions(session),
        "names for a page of audit events": lambda: name_events(session, session.scalars(
            events_query(EventFilter()).limit(50)).all()),
        "account grants in force": lambda: grants_page(session, GrantFilter(account_id=account, state="active")),
        "account grants not in force": lambda: grants_page(session, GrantFilter(account_id=account, state="not_in_force")),
        "person grants in force": lambda: grants_page(session, GrantFilter(person_id=person, state="active")),
        "person grants not in force": lambda: grants_page(session, GrantFilter(person_id=person, state="not_in_force")),
        "audit history of an account": lambda: history_of(session, "account", account, 20),
        "audit history of a person": lambda: history_of(session, "person", person, 20),
        "audit events of a period": lambda: list(session.scalars(events_query(period).limit(101))),
        "audit events of a period, next page": lambda: list(session.scalars(
            events_query(period, before_seq=AUDIT_EVENTS // 2).limit(101))),
        "audit events of a period, the page before": lambda: list(session.scalars(
            events_query(period, after_seq=AUDIT_EVENTS // 2).limit(51))),
        "audit events about a person, the page before": lambda: list(session.scalars(events_query(EventFilter(
            target_type="person", target_id=person_text, related=True), after_seq=AUDIT_EVENTS // 2).limit(51))),
        "audit events by an actor, the page before": lambda: list(session.scalars(events_query(
            EventFilter(actor="system:plans"), after_seq=AUDIT_EVENTS // 3).limit(51))),
        "audit log total, capped": lambda: count_events(session, EventFilter()),
        "audit total of a period, capped": lambda: count_events(session, period),
        "audit total of an action, capped": lambda: count_events(session, EventFilter(actions=("grants:grant:create",))),
        "audit total about a person": lambda: count_events(session, EventFilter(
            target_type="person", target_id=person_text, related=True)),
        "seq_range_for_times": lambda: seq_range_for_times(session, period.since, period.until),
        "people by name": lambda: list_people(session, PersonFilter(status=PersonStatus.ACTIVE)),
        "people search, Arabic": lambda: list_people(session, PersonFilter(q="ليلى 1234", status=PersonStatus.ACTIVE), limit=20),
        "people search, Latin": lambda: list_people(session, PersonFilter(q="plans.user1234@"), limit=20),
        "accounts search": lambda: list_accounts(session, AccountFilter(q="@plans77")),
    }


def test_listed_queries_never_scan_a_big_table(large_app):
    from govern.extensions import db

    app, org = large_app
    with app.app_context():
        scans: dict[str, list[str]] = {}
        for name, call in _listed_queries(db.session, org).items():
            sent = _sent_by(app, call)
            assert sent, f"{name}: no query was sent"
            for statement, parameters in sent:
                plan = _plan(statement, parameters)
                found = _problems(plan["Plan"])
                if found:
                    scans.setdefault(name, []).append(f"{found}\n{json.dumps(plan, indent=1)}\n-- for --\n{statement}")
        db.session.rollback()
    assert scans == {}, "\n\n".join(f"{name}:\n" + "\n".join(plans) for name, plans in scans.items())


def test_the_home_page_figures_never_scan_the_grants_or_the_trail(large_app):
    """The home page is what everyone opens first: its to-do counts and its charts count accounts (5,000 here, read
    once each to group them) but never walk the 70,000 grants or the 200,000 audit events."""
    from govern.auth.roles import Permission
    from govern.extensions import db
    from govern.home import service as home

    app, org = large_app
    every = frozenset(Permission)
    with app.app_context():
        calls = {"to-do": lambda: home.todos(db.session, every, org.first_person_id + 1234),
                 "posture": lambda: home.posture(db.session, every, 4.0)}
        scans: dict[str, list[str]] = {}
        for name, call in calls.items():
            sent = _sent_by(app, call)
            assert sent, f"{name}: no query was sent"
            for statement, parameters in sent:
                plan = _plan(statement, parameters)
                found = [problem for problem in _problems(plan["Plan"]) if "grants" in problem or "audit_events" in problem]
                if found:
                    scans.setdefault(name, []).append(f"{found}\n{json.dumps(plan, indent=1)}\n-- for --\n{statement}")
        db.session.rollback()
    assert scans == {}, "\n\n".join(f"{name}:\n" + "\n".join(plans) for name, plans in scans.items())

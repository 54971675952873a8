"""The two review pages of issue 12 at a large company's size, in minutes instead of the 15-minute scale build.

A reduced reproduction of what benches/scale.py measures for `/reviews` and `/reviews/campaigns/<id>`: a fresh
PostgreSQL database (`govern_bench_reviews_<pid>`, dropped at the end) migrated to head, the organisation loaded
set-based by tests/support/large_org.py (100,000 people, 5,000 accounts, 230,000 grants in force), one person made
the owner of 100 accounts (the first held by 5,000 people, as in benches/_scale_org.py), and a campaign over all
accounts opened by govern's own service (`open_campaign`: the same INSERT ... SELECT that resolves reviewers up the
manager chain in SQL). Some items are then decided through the service, so the counts are not all "undecided".
Each page is fetched in-process with the Flask test client, signed in as an admin tied to that owner (as the scale
bench signs in), and every SQL statement is timed (before/after_cursor_execute), so the output says which cost:

    .venv/bin/python benches/review_pages.py                 # the issue's size
    .venv/bin/python benches/review_pages.py --people 20000 --accounts 1000 --grants 46000 --leavers 500   # a quick look
    git archive main | tar -x -C /tmp/before && .venv/bin/pybabel compile -d /tmp/before/govern/translations
    .venv/bin/python benches/review_pages.py --before /tmp/before   # that tree first on the same rows, pages compared
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --tree: govern (and its tests' helpers) imported from another checkout, for the "before" side of --before
_TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv[:-1] else str(ROOT)
sys.path.insert(0, _TREE)

import psycopg  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

ADMIN_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SECRET_KEY = "review-pages-bench-secret-key-" + "r" * 24
OWNED = 100  # accounts of the owner whose reviewer page is measured


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def create_database() -> str:
    name = f"govern_bench_reviews_{os.getpid()}"
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    assert name.startswith("govern_bench_reviews_")
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build(app, args) -> dict[str, int]:
    """The organisation, the owner of 100 accounts, a campaign over all accounts with some items decided."""
    from govern.actor import Actor
    from govern.auth.roles import Role
    from govern.auth.service import ensure_console_user
    from govern.db import utcnow
    from govern.extensions import db
    from govern.reviews import service
    from govern.reviews.models import ReviewItem, ScopeKind
    from tests.support.large_org import load_large_org

    actor = Actor.system("review-pages-bench")
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        org = load_large_org(session.connection(), people=args.people, accounts=args.accounts, grants=args.grants,
                             leavers=args.leavers, tag="bench")
        # person n reports to n // 10, so the owner below is active with an active manager: it reviews the grants of
        # its accounts itself, and its manager reviews the owner's own grants (never one's own access)
        owner = org.first_person_id + 20
        session.execute(text("UPDATE social_accounts SET owner_id = :owner WHERE id BETWEEN :a AND :b"),
                        {"owner": owner, "a": org.first_account_id + args.accounts // 5,
                         "b": org.first_account_id + args.accounts // 5 + OWNED - 1})
        # as in the scale organisation, the owner's first account is the big one: `big_account` people hold it
        session.execute(text(
            "INSERT INTO grants (person_id, account_id, role, granted_by, reason, starts_at, created_at) "
            "SELECT :first + 1 + (k * 19) % :people, :account, 'analyst', 'bench:review-pages', 'big account', "
            "now() - interval '30 days', now() - interval '30 days' FROM generate_series(0, :big - 1) AS k"),
            {"first": org.first_person_id, "people": args.people - args.leavers - 1, "big": args.big_account,
             "account": org.first_account_id + args.accounts // 5})
        # 20 accounts owned by nobody: governance decides their grants (an admin sees those on its page too)
        session.execute(text("UPDATE social_accounts SET owner_id = NULL WHERE id BETWEEN :a AND :b"),
                        {"a": org.first_account_id + args.accounts // 2, "b": org.first_account_id + args.accounts // 2 + 19})
        session.commit()
        session.execute(text("ANALYZE"))
        say(f"organisation loaded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        campaign = service.open_campaign(session, actor, service.ReviewSettings(), name="Everything",
                                         scope_kind=ScopeKind.ALL, deadline=utcnow() + timedelta(days=14))
        session.commit()
        say(f"campaign opened by the service in {time.perf_counter() - started:.1f} s")
        user = ensure_console_user(session, actor, "review-bench@example.com", "Review Bench", Role.ADMIN, owner)
        session.commit()
        # decisions through the service: a few of the owner's items and of other reviewers', so no count is zero
        decider_ids = session.execute(select(ReviewItem.id, ReviewItem.reviewer_person_id).where(
            ReviewItem.campaign_id == campaign.id, ReviewItem.reviewer_person_id.is_not(None),
            ReviewItem.id % 97 == 0).limit(args.decisions)).all()
        for number, (item_id, reviewer) in enumerate(decider_ids):
            verdict = "certify" if number % 3 else "revoke"
            service.decide_item(session, actor, service.Decider(reviewer, False), item_id, verdict,
                                None if verdict == "certify" else "bench")
        owners_items = session.scalars(select(ReviewItem.id).where(ReviewItem.campaign_id == campaign.id,
                                                                   ReviewItem.reviewer_person_id == owner,
                                                                   ReviewItem.decision.is_(None)).limit(10)).all()
        for item_id in owners_items:
            service.decide_item(session, actor, service.Decider(owner, False), item_id, "certify", None)
        session.commit()
        session.execute(text("ANALYZE"))
        items = session.scalar(select(text("count(*)")).select_from(ReviewItem).where(ReviewItem.campaign_id == campaign.id))
        mine = session.scalar(select(text("count(*)")).select_from(ReviewItem).where(ReviewItem.reviewer_person_id == owner))
        say(f"{items:,} items, {mine:,} reviewed by the owner of {OWNED} accounts; "
            f"{len(decider_ids) + len(owners_items)} decided through the service")
        return {"campaign_id": campaign.id, "user_id": user.id, "items": items, "mine": mine}


class Statements:
    """Every statement a request sends, with its time (execute until the result is in: psycopg fetches on execute)."""

    def __init__(self, engine) -> None:
        self.engine, self.rows = engine, []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        context._bench_started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.rows.append((" ".join(statement.split()), (time.perf_counter() - context._bench_started) * 1000))

    def __enter__(self):
        self.rows = []
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(app, client, path: str, runs: int) -> dict:
    from govern.extensions import db

    with app.app_context():
        engine = db.engine
    client.get(path)  # warm: templates compiled, plans cached
    totals, sql_totals, per_statement = [], [], defaultdict(list)
    status = size = None
    for _ in range(runs):
        with Statements(engine) as statements:
            started = time.perf_counter()
            response = client.get(path)
            totals.append((time.perf_counter() - started) * 1000)
        status, size = response.status_code, len(response.get_data())
        sql_totals.append(sum(ms for _s, ms in statements.rows))
        for index, (statement, ms) in enumerate(statements.rows):
            per_statement[(index, statement)].append(ms)
    costly = sorted(((statistics.median(times), statement) for (_i, statement), times in per_statement.items()),
                    reverse=True)
    return {"path": path, "status": status, "bytes": size, "p50": statistics.median(totals),
            "p95": percentile(totals, 0.95), "sql_p50": statistics.median(sql_totals),
            "statements": len(statements.rows), "costly": costly}


def report(app, client, paths: list[str], runs: int, show: int, dump: Path | None, label: str) -> None:
    for path in paths:
        row = measure(app, client, path, runs)
        print(f"\n[{label}] {row['path']}: HTTP {row['status']}, {row['bytes']:,} bytes, p50 {row['p50']:.1f} ms, "
              f"p95 {row['p95']:.1f} ms; SQL p50 {row['sql_p50']:.1f} ms in {row['statements']} statements", flush=True)
        for ms, statement in row["costly"][:show]:
            shown = statement if len(statement) <= 700 else f"{statement[:250]} ... {statement[-450:]}"
            print(f"  {ms:7.1f} ms  {shown}", flush=True)
        if dump is not None:
            page = client.get(path).get_data(as_text=True)
            # what differs between two requests by design: the form token and the script nonce
            page = re.sub(r'(name="csrf_token" value=|nonce=)"[^"]+"', r'\1"-"', page)
            (dump / f"{label}{path.replace('/', '_')}.html").write_text(page)


def app_for(url: str, scratch: str):
    from govern import create_app

    return create_app({"database_url": url, "secret_key": SECRET_KEY, "instance_path": scratch, "log_level": "WARNING",
                       "audit_signing_key_dir": str(Path(scratch) / "keys"), "secure_cookies": False})


def measure_existing(name: str, args) -> int:
    """Measure a database built by an earlier run (--database): how another tree (--tree) serves the same rows."""
    from govern.extensions import db
    from tests.support.console import sign_in_as

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with tempfile.TemporaryDirectory(prefix="review-pages-") as scratch:
        app = app_for(url, scratch)
        with app.app_context():
            user_id = db.session.scalar(text("SELECT id FROM console_users WHERE email = 'review-bench@example.com'"))
            campaign_id = db.session.scalar(text("SELECT max(id) FROM review_campaigns"))
        client = sign_in_as(app, app.test_client(), user_id)
        report(app, client, ["/reviews", f"/reviews/campaigns/{campaign_id}"], args.runs, args.show,
               Path(args.dump) if args.dump else None, args.label)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.database:
        return measure_existing(args.database, args)

    from alembic import command as alembic_command

    from govern.cli import alembic_config
    from tests.support.console import sign_in_as

    name = create_database()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    say(f"database {name}")
    try:
        started = time.perf_counter()
        alembic_command.upgrade(alembic_config(url), "head")
        say(f"migrated in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory(prefix="review-pages-") as scratch:
            dump = Path(scratch) / "pages"
            dump.mkdir()
            app = app_for(url, scratch)
            ids = build(app, args)
            if args.before:  # the same rows served by another tree first (a subprocess: one govern per process)
                subprocess.run([sys.executable, __file__, "--database", name, "--tree", args.before, "--label", "before",
                                "--runs", str(args.runs), "--show", str(args.show), "--dump", str(dump)], check=True)
            client = sign_in_as(app, app.test_client(), ids["user_id"])
            paths = ["/reviews", f"/reviews/campaigns/{ids['campaign_id']}"]
            report(app, client, paths, args.runs, args.show, dump if args.before else None, args.label)
            if args.before:
                for path in paths:
                    same = [(dump / f"{label}{path.replace('/', '_')}.html").read_text() for label in ("before", args.label)]
                    print(f"\n{path}: the page is {'the same' if same[0] == same[1] else 'DIFFERENT'} on both trees")
    finally:
        if args.keep:
            say(f"kept {name}: DROP DATABASE \"{name}\" when done")
        else:
            drop_database(name)
            say(f"dropped {name}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--grants", type=int, default=225_000, help="spread over the accounts, besides the big account's")
    parser.add_argument("--big-account", type=int, default=5_000, help="holders of the owner's first account")
    parser.add_argument("--leavers", type=int, default=3_000)
    parser.add_argument("--decisions", type=int, default=300, help="items decided through the service before measuring")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--show", type=int, default=4, help="costliest statements listed per page")
    parser.add_argument("--keep", action="store_true", help="leave the database for a look at its plans (drop it yourself)")
    parser.add_argument("--before", metavar="TREE", help="another checkout of govern (e.g. `git archive main` unpacked) "
                        "measured first on the same database, and its pages compared with this tree's")
    parser.add_argument("--label", default="this tree", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)  # measure only, on a database built by a run with --before
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # import govern from there
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())

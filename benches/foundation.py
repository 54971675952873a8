"""Foundation figures on PostgreSQL: audited writes vs bare writes, list latency, chain verification speed."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command as alembic_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govern import create_app
from govern.accounts.models import AccountStatus, Network, SocialAccount
from govern.accounts.service import create_account
from govern.actor import Actor
from govern.audit.trail import verify_chain
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.cli import alembic_config
from govern.extensions import db
from tests.support.postgres import ScratchPostgres

ADMIN_URL = os.environ.get("GOVERN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WRITES = 2000
LIST_CALLS = 300


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    scratch = ScratchPostgres(ADMIN_URL)
    url = scratch.create("govern_bench")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        app = create_app({"database_url": url, "secret_key": "b" * 40, "instance_path": tempfile.mkdtemp(), "log_level": "WARNING"})
        actor = Actor.system("bench")
        with app.app_context():
            network = db.session.scalar(sa.select(Network).where(Network.key == "x"))

            def audited():
                for n in range(WRITES):
                    create_account(db.session, actor, "x", handle=f"audited_{n}", display_name=f"حساب {n}")
                db.session.commit()

            def bare():
                for n in range(WRITES):
                    account = SocialAccount(network=network, handle=f"bare_{n}", display_name=f"حساب {n}", status=AccountStatus.ACTIVE, tags=[])
                    account.refresh_search_text()
                    db.session.add(account)
                    db.session.flush()
                db.session.commit()

            bare_seconds, audited_seconds = _timed(bare), _timed(audited)
            _, token = create_api_client(db.session, actor, "bench", Role.AUDITOR)
            db.session.commit()
            verify_seconds = _timed(lambda: verify_chain(db.session))
            events = verify_chain(db.session).checked

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        latencies = []
        for n in range(LIST_CALLS):
            query = {"limit": 50, "q": "حساب"} if n % 2 else {"limit": 50}
            started = time.perf_counter()
            assert client.get("/api/v1/accounts", query_string=query, headers=headers).status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        print("| measure | value |")
        print("| --- | --- |")
        print(f"| {WRITES} account creates, bare flush per row | {bare_seconds * 1000 / WRITES:.2f} ms/row |")
        print(f"| {WRITES} account creates through the service, with audit event | {audited_seconds * 1000 / WRITES:.2f} ms/row |")
        print(f"| audit overhead on a write | {(audited_seconds / bare_seconds - 1) * 100:.0f}% |")
        print(f"| `verify_chain` over {events} events | {events / verify_seconds:,.0f} events/s |")
        print(f"| GET /api/v1/accounts?limit=50 (in-process client, {WRITES * 2} rows) p50 / p95 | "
              f"{statistics.median(latencies):.2f} / {latencies[int(len(latencies) * 0.95)]:.2f} ms |")
        with app.app_context():
            db.engine.dispose()
    finally:
        scratch.drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

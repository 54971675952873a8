"""Audit trail figures on PostgreSQL: the cost of an audit event on a write, and verification speed with checkpoints.

The same writes run twice, interleaved in blocks: a state change (one account row) committed in its own transaction,
bare, and with its audit event appended in that transaction. Then the whole trail (100,000 events by default, signed
checkpoints every 1,000) is verified the way `govern audit verify` does it.

    .venv/bin/python benches/audit.py [--events 100000] [--block 500]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command as alembic_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govern import create_app  # noqa: E402
from govern.accounts.models import AccountStatus, Network, SocialAccount  # noqa: E402
from govern.audit import checkpoints, trail  # noqa: E402
from govern.actor import Actor
from govern.audit.service import record  # noqa: E402
from govern.audit.signing import LocalKeySigner  # noqa: E402
from govern.cli import alembic_config  # noqa: E402
from govern.extensions import db  # noqa: E402
from tests.support.postgres import ScratchPostgres  # noqa: E402

ADMIN_URL = os.environ.get("GOVERN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _write(network: Network, name: str, actor: Actor | None) -> None:
    account = SocialAccount(network=network, handle=name, display_name=f"حساب {name}", status=AccountStatus.ACTIVE, tags=[])
    account.refresh_search_text()
    db.session.add(account)
    db.session.flush()
    if actor is not None:
        record(db.session, actor, "accounts:account:create", "account", account.id,
               after={"handle": account.handle, "display_name": account.display_name, "network": "x", "status": "active"})
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--block", type=int, default=500, help="writes per block; bare and audited blocks alternate")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    args = parser.parse_args()

    scratch = ScratchPostgres(ADMIN_URL)
    url = scratch.create("govern_bench_audit")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        instance = tempfile.mkdtemp()
        app = create_app({"database_url": url, "secret_key": "b" * 40, "instance_path": instance, "log_level": "WARNING"})
        actor = Actor.system("bench")
        signer = LocalKeySigner(Path(instance) / "bench-keys")
        with app.app_context():
            network = db.session.scalar(sa.select(Network).where(Network.key == "x"))
            bare = audited = 0.0
            written = 0
            while written < args.events:
                block = min(args.block, args.events - written)
                started = time.perf_counter()
                for n in range(block):
                    _write(network, f"bare_{written + n}", None)
                bare += time.perf_counter() - started
                started = time.perf_counter()
                for n in range(block):
                    _write(network, f"audited_{written + n}", actor)
                    if (written + n + 1) % args.checkpoint_every == 0:
                        checkpoints.sign_checkpoint(db.session, signer)
                        db.session.commit()
                audited += time.perf_counter() - started
                written += block
            checkpoints.sign_checkpoint(db.session, signer)
            db.session.commit()
            keys = trail.trusted_keys_from_signer(db.session, signer)
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                report = trail.verify_stored_trail(db.session, keys)
                runs.append(time.perf_counter() - started)
                db.session.rollback()
            assert report.ok, report.failure
        verify_seconds = min(runs)
        overhead = audited / bare - 1
        rate = report.events_checked / verify_seconds
        print(f"## Audit trail benchmark — {args.events:,} writes each way, PostgreSQL\n")
        print("| measure | value |")
        print("| --- | ---: |")
        print(f"| write, own transaction, bare | {bare * 1000 / args.events:.3f} ms |")
        print(f"| the same write with its audit event (+ a signed checkpoint every {args.checkpoint_every:,}) | "
              f"{audited * 1000 / args.events:.3f} ms |")
        print(f"| audit overhead | {overhead * 100:.1f}% |")
        print(f"| verify {report.events_checked:,} events and {report.checkpoints_checked} checkpoints (best of 3) | "
              f"{verify_seconds:.2f} s = {rate:,.0f} events/s |")
        print("\n### Targets\n")
        print(f"- {'PASS' if overhead < 0.20 else 'FAIL'} audit overhead < 20%: {overhead * 100:.1f}%")
        print(f"- {'PASS' if rate >= 200_000 else 'FAIL'} verification >= 200,000 events/s: {rate:,.0f}")
        return 0
    finally:
        scratch.drop(url)


if __name__ == "__main__":
    raise SystemExit(main())

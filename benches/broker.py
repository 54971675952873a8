"""Broker overhead: a brokered `whoami` vs a bare hvac read plus the same network call, on one OpenBao."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests
from alembic import command as alembic_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govern import app_services
from govern import create_app  # noqa: E402
from govern.audit.service import Actor  # noqa: E402
from govern.broker import service  # noqa: E402
from govern.cli import alembic_config  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.grants.models import GrantRole  # noqa: E402
from govern.grants.service import create_grant  # noqa: E402
from govern.people.models import PersonSource  # noqa: E402
from govern.people.service import upsert_person  # noqa: E402
from govern.secret_value import SecretValue  # noqa: E402
from tests.support.postgres import ScratchPostgres  # noqa: E402
from tests.support.fake_network import FakeNetwork  # noqa: E402
from tests.support.openbao import start_openbao  # noqa: E402

ADMIN_URL = os.environ.get("GOVERN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROUNDS = int(os.environ.get("GOVERN_BENCH_ROUNDS", "400"))
WARMUP = 30


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95)]


def _print_breakdown(brokered) -> None:
    """Wall time spent in each step of the brokered path (development aid)."""
    import functools

    spent: dict[str, float] = {}

    def timed(owner, name, label):
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)
        return original

    patched = [
        (service, "_connection_with_permitting_grant", "grant + connection"),
        (service, "network_client", "network client"), (service, "record", "audit event"),
        (service, "run_action", "network call"), (type(db.session), "commit", "commit"),
    ]
    originals = [(owner, name, timed(owner, name, label)) for owner, name, label in patched]
    try:
        for _ in range(200):
            started = time.perf_counter()
            brokered()
            spent["total"] = spent.get("total", 0.0) + time.perf_counter() - started
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    for label, seconds in spent.items():
        print(f"{label:>16}: {seconds / 200 * 1000:.2f} ms")


def main() -> int:
    workdir = Path(tempfile.mkdtemp())
    openbao = start_openbao(workdir)
    network = FakeNetwork().start()
    scratch = ScratchPostgres(ADMIN_URL)
    url = scratch.create("govern_bench")
    try:
        alembic_command.upgrade(alembic_config(url), "head")
        app = create_app({
            "database_url": url, "secret_key": "b" * 40, "instance_path": workdir, "log_level": "WARNING",
            "vault_addr": openbao.addr, "vault_token": openbao.root_token,
        })
        actor = Actor.system("bench")
        with app.app_context():
            context = app_services.broker(app)
            endpoints = {
                "authorize_url": network.authorize_url, "token_url": network.token_url, "revocation_url": network.revocation_url,
                "whoami_url": network.whoami_url, "api_url": network.api_url,
            }
            service.register_network_app(db.session, context, actor, "x", "govern-test", SecretValue("s3cret"), endpoints, ["publish", "read"])
            consent = requests.get(service.start_connect(db.session, context, actor, "x"), allow_redirects=False, timeout=10)
            query = parse_qs(urlparse(consent.headers["Location"]).query)
            account = service.complete_connect(db.session, context, actor, query["state"][0], query["code"][0])
            person = upsert_person(db.session, actor, PersonSource.MANUAL, "bench-1", username="bench", email="bench@example.com", display_name="Bench")
            create_grant(db.session, actor, person.id, account.id, GrantRole.ANALYST, "benchmark")
            db.session.commit()
            account_id, person_id, path = account.id, person.id, f"govern/accounts/{account.id}/oauth"

            bare_client = openbao.client()
            bare_http = requests.Session()  # keep-alive, as the broker's network client has

            def bare() -> None:
                token = bare_client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)["data"]["data"]["access_token"]
                assert bare_http.get(network.whoami_url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

            def brokered() -> None:
                service.perform_action(db.session, context, actor, person_id, account_id, "whoami", {})
                db.session.commit()

            if os.environ.get("GOVERN_BENCH_SQL"):
                import logging

                brokered()
                logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
                logging.getLogger("sqlalchemy.pool").setLevel(logging.DEBUG)
                brokered()
                logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
                logging.getLogger("sqlalchemy.pool").setLevel(logging.WARNING)
            if os.environ.get("GOVERN_BENCH_BREAKDOWN"):
                _print_breakdown(brokered)
            if os.environ.get("GOVERN_BENCH_PROFILE"):
                from pyinstrument import Profiler
                profiler = Profiler(interval=0.0001)
                profiler.start()
                for _ in range(300):
                    brokered()
                profiler.stop()
                print(profiler.output_text(show_all=False))
            samples: dict[str, list[float]] = {"bare": [], "brokered": []}
            for round_number in range(WARMUP + ROUNDS):
                for label, call in (("bare", bare), ("brokered", brokered)):
                    started = time.perf_counter()
                    call()
                    if round_number >= WARMUP:
                        samples[label].append((time.perf_counter() - started) * 1000)
            db.engine.dispose()
        bare_p50, bare_p95 = _percentiles(samples["bare"])
        brokered_p50, brokered_p95 = _percentiles(samples["brokered"])
        print(f"rounds: {ROUNDS} (after {WARMUP} warm-up), interleaved, PostgreSQL + OpenBao + loopback network")
        print("| measure | p50 ms | p95 ms |")
        print("| --- | --- | --- |")
        print(f"| bare: hvac KV read + network whoami | {bare_p50:.2f} | {bare_p95:.2f} |")
        print(f"| brokered whoami: grant check + store read + network call + audit event + commit | {brokered_p50:.2f} | {brokered_p95:.2f} |")
        print(f"| overhead (median) | {brokered_p50 - bare_p50:.2f} | |")
        print(f"| ratio (median) | {brokered_p50 / bare_p50:.2f}x | |")
    finally:
        network.stop()
        openbao.stop()
        scratch.drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""No outage hangs a request: a frozen or locked PostgreSQL, a busy pool, a hung or killed Vault answer 503 problem+json.

The database is a throwaway cluster of this module's own (tests/support/throwaway_postgres.py), frozen with SIGSTOP;
Vault is an OpenBao of its own, stopped the same way or killed. Bounds are generous: they tell a bounded wait from a
hang (a request that hangs fails the test after HANG seconds instead of hanging the run), not fast from slow.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pytest
import sqlalchemy as sa
from alembic import command as alembic_command

from govern import create_app
from govern.actor import Actor
from govern.auth.roles import Role
from govern.migrations_config import alembic_config
from tests import factories
from tests.support.services import require_service
from tests.support.standin import start_or_require

CONNECT, STATEMENT, POOL = 2, 2, 2
HANG = 60  # a request still unanswered after this long is hung


@pytest.fixture(scope="module")
def own_postgres():
    from tests.support.throwaway_postgres import start_throwaway_postgres

    try:
        server = start_throwaway_postgres()
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        require_service("a throwaway PostgreSQL cluster (initdb, pg_ctl)", str(exc))
    alembic_command.upgrade(alembic_config(server.url()), "head")
    yield server
    server.stop()


def _app(database_url, instance_path, **settings):
    return create_app({
        "database_url": database_url, "secret_key": "o" * 40, "instance_path": instance_path, "log_format": "json",
        "database_connect_timeout_seconds": CONNECT, "database_statement_timeout_seconds": STATEMENT,
        "database_pool_timeout_seconds": POOL, **settings,
    })


@pytest.fixture(scope="module")
def outage_app(own_postgres, tmp_path_factory):  # not "app": that name gets the suite's savepoint per test
    return _app(own_postgres.url(), tmp_path_factory.mktemp("outages"))


def _token(app, role=Role.ADMIN) -> dict[str, str]:
    from govern.auth.service import create_api_client
    from govern.extensions import db

    with app.app_context():
        _, token = create_api_client(db.session, Actor.system("outages"), f"outage-{time.monotonic_ns()}", role)
        db.session.commit()
    return {"Authorization": f"Bearer {token.reveal()}"}


def _timed(call):
    """(response, seconds); fails instead of hanging when the call does not return within HANG seconds."""
    pool = ThreadPoolExecutor(1)
    started = time.monotonic()
    future = pool.submit(call)
    try:
        return future.result(timeout=HANG), time.monotonic() - started
    except FutureTimeout:
        pytest.fail(f"no answer within {HANG} s: the request hangs", pytrace=False)
    finally:
        pool.shutdown(wait=False)  # a hung call ends once the outage does


def _assert_unavailable(response, kind):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.get_json()["type"].endswith(kind)


def test_a_request_during_a_frozen_database_gets_503_within_the_timeouts(outage_app, own_postgres):
    app = outage_app
    headers = _token(app)
    client = app.test_client()
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200  # a pooled connection exists
    with own_postgres.frozen():
        # the pooled connection's ping is cut after CONNECT, the new connection times out after CONNECT
        response, seconds = _timed(lambda: client.get("/api/v1/accounts", headers=headers))
        _assert_unavailable(response, "database-unavailable")
        assert seconds < 2 * CONNECT + STATEMENT + 10, f"answered after {seconds:.1f} s"
        live, live_seconds = _timed(lambda: client.get("/healthz", headers=headers))
        assert live.status_code == 200 and live_seconds < 5
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200  # and it recovers


def test_while_the_database_is_down_one_request_finds_out_and_the_others_fail_at_once(outage_app, own_postgres):
    """Otherwise a burst of requests during an outage takes every thread for the timeouts (the liveness probe's too)."""
    app = outage_app
    headers = _token(app)

    def request():
        started = time.monotonic()
        status = app.test_client().get("/api/v1/accounts", headers=headers).status_code
        return status, time.monotonic() - started

    assert request()[0] == 200
    with own_postgres.frozen():
        assert _timed(request)[0][0] == 503  # this one waits out the timeouts and learns the database is down
        pool = ThreadPoolExecutor(6)
        futures = [pool.submit(request) for _ in range(6)]
        try:
            burst = [future.result(timeout=HANG) for future in futures]
        except FutureTimeout:
            pytest.fail(f"a request still waits after {HANG} s", pytrace=False)
        finally:
            pool.shutdown(wait=False)
    assert [status for status, _ in burst] == [503] * 6
    waited = [seconds for _, seconds in burst if seconds >= CONNECT]
    assert len(waited) <= 1, f"{len(waited)} requests waited for the frozen database: {sorted(s for _, s in burst)}"
    assert request()[0] == 200  # the first request after the outage finds it over


def test_a_database_freezing_in_the_middle_of_a_request_is_cut_after_the_statement_timeout(outage_app, own_postgres):
    app = outage_app
    headers = _token(app)
    client = app.test_client()
    holding = threading.Event()
    from govern.extensions import db

    def slow_request():
        with app.test_request_context("/api/v1/accounts"):
            db.session.execute(sa.text("SELECT 1"))  # the request holds its connection ...
            holding.set()
            time.sleep(1.5)  # ... and the server freezes before its next statement
            try:
                db.session.execute(sa.text("SELECT count(*) FROM social_accounts"))
            except sa.exc.OperationalError as exc:
                return exc
            finally:
                db.session.rollback()
        return None

    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    pool = ThreadPoolExecutor(1)
    future = pool.submit(slow_request)
    assert holding.wait(10)
    with own_postgres.frozen():
        started = time.monotonic()
        try:
            error = future.result(timeout=HANG)
        except FutureTimeout:
            pytest.fail(f"the statement still waits after {HANG} s", pytrace=False)
        finally:
            pool.shutdown(wait=False)
        seconds = time.monotonic() - started
    assert isinstance(error, sa.exc.OperationalError)
    assert seconds < STATEMENT + 10


def test_a_result_streamed_from_a_server_side_cursor_is_cut_too(outage_app, own_postgres):
    """Each FETCH of a streamed result (audit verification reads the trail so) waits for the server as well."""
    app = outage_app
    from govern.extensions import db

    def stream():
        with app.test_request_context("/api/v1/audit/verification"):
            rows = db.session.connection().exec_driver_sql(
                "SELECT n FROM generate_series(1, 100000) AS n", execution_options={"stream_results": True, "yield_per": 100})
            try:
                first = rows.fetchmany(100)
                own_postgres.freeze()
                rows.fetchmany(5000)  # past the fetched batch: the next FETCH goes to the frozen server
            except sa.exc.OperationalError as exc:
                return first, exc
            finally:
                own_postgres.thaw()
                db.session.rollback()
        return None, None

    (first, error), seconds = _timed(stream)
    assert len(first) == 100 and isinstance(error, sa.exc.OperationalError)
    assert seconds < STATEMENT + 10


def test_a_statement_past_the_web_timeout_is_cancelled_and_answered_503(outage_app, own_postgres):
    app = outage_app
    headers = _token(app)
    client = app.test_client()
    locker = sa.create_engine(own_postgres.url(), poolclass=sa.pool.NullPool)
    with locker.connect() as connection:
        connection.exec_driver_sql("BEGIN; LOCK TABLE social_accounts IN ACCESS EXCLUSIVE MODE")
        response, seconds = _timed(lambda: client.get("/api/v1/accounts", headers=headers))
        connection.rollback()
    _assert_unavailable(response, "database-unavailable")
    assert seconds < STATEMENT + 10


def test_jobs_and_the_cli_keep_their_own_statement_timeout(outage_app, own_postgres):
    """A job's statement may wait longer than a web request's (GOVERN_DATABASE_JOB_STATEMENT_TIMEOUT_SECONDS, none here)."""
    app = outage_app
    from govern.extensions import db

    locker = sa.create_engine(own_postgres.url(), poolclass=sa.pool.NullPool)

    def job_query():
        with app.app_context():  # what a Celery task, the scheduler and a CLI command run in
            try:
                return db.session.scalar(sa.text("SELECT count(*) FROM social_accounts"))
            finally:
                db.session.rollback()

    with locker.connect() as connection:
        connection.exec_driver_sql("BEGIN; LOCK TABLE social_accounts IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(job_query)
            time.sleep(STATEMENT + 3)  # past the web timeout and its watchdog
            assert not future.done(), f"the job's statement was cut: {future.exception()!r}"
            connection.rollback()
            assert future.result(timeout=HANG) >= 0


def test_a_request_that_finds_every_pooled_connection_busy_gets_503(outage_app):
    from govern.extensions import db

    app = outage_app
    headers = _token(app)
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
    try:
        response, seconds = _timed(lambda: client.get("/api/v1/accounts", headers=headers))
    finally:
        for connection in held:
            connection.close()
    _assert_unavailable(response, "database-busy")
    assert seconds < POOL + 10


# --- the secret store --------------------------------------------------------------------------

@pytest.fixture
def own_openbao(tmp_path):
    from tests.support.openbao import start_openbao

    server = start_or_require("OpenBao", lambda: start_openbao(tmp_path))
    yield server
    try:
        server.process.send_signal(signal.SIGCONT)
    except ProcessLookupError:
        pass
    server.stop()


@pytest.fixture
def vault_app(own_postgres, own_openbao, tmp_path):
    return _app(own_postgres.url(), tmp_path / "instance", vault_addr=own_openbao.addr, vault_token=own_openbao.root_token)


def _account_id(app) -> int:
    from govern.extensions import db

    with app.app_context():
        account = factories.account(db.session, Actor.system("outages"))
        db.session.commit()
        return account.id


def _store_credentials(client, headers, account_id):
    return client.put(f"/api/v1/accounts/{account_id}/credentials", json={"username": "ops@acme.example", "password": "Outage-Pa55word"}, headers=headers)


def test_a_hung_vault_answers_503_within_its_timeout(vault_app, own_openbao):
    headers, account_id = _token(vault_app), _account_id(vault_app)
    client = vault_app.test_client()
    assert _store_credentials(client, headers, account_id).status_code == 200
    own_openbao.process.send_signal(signal.SIGSTOP)
    try:
        response, seconds = _timed(lambda: _store_credentials(client, headers, account_id))
        live, _ = _timed(lambda: client.get("/healthz"))
    finally:
        own_openbao.process.send_signal(signal.SIGCONT)
    _assert_unavailable(response, "secretstoredown")
    assert seconds < 5 * 2 + 10  # the Vault client's 5 s, for at most a read and a write
    assert live.status_code == 200
    assert _store_credentials(client, headers, account_id).status_code == 200  # and it recovers


def test_a_killed_vault_answers_503_at_once(vault_app, own_openbao):
    headers, account_id = _token(vault_app), _account_id(vault_app)
    client = vault_app.test_client()
    assert _store_credentials(client, headers, account_id).status_code == 200
    own_openbao.process.kill()
    own_openbao.process.wait()
    response, seconds = _timed(lambda: _store_credentials(client, headers, account_id))
    _assert_unavailable(response, "secretstoredown")
    assert seconds < 10

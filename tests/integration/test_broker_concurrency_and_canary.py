"""Racing refreshes burn no rotating token, and no token reaches the database, logs, responses, audit or tasks."""

from __future__ import annotations

from dataclasses import astuple

import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from celery.signals import before_task_publish

from govern import app_services
from govern.actor import Actor
from govern.auth.roles import Role
from govern.broker.models import AccountConnection
from govern.broker.service import refresh_connection
from govern.db import utcnow
from govern.extensions import db
from tests.support.broker import connect, register
from tests.support.canary import haystacks
from tests.support.fake_network import FakeNetwork

WORKERS = 8


@pytest.fixture
def committed_app(make_committed_app, openbao):
    """An app on its own database, so concurrent sessions see each other's commits."""
    return make_committed_app(**openbao.govern_settings())


def test_concurrent_refreshes_reach_the_network_once(committed_app):
    from govern.auth.service import create_api_client

    network = FakeNetwork(rotating_refresh=True).start()
    with committed_app.app_context():
        _, token = create_api_client(db.session, Actor.system("race"), "race-admin", Role.ADMIN)
        db.session.commit()
        client = committed_app.test_client()
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        register(client, headers, network)
        account_id = connect(client, headers)
        connected_version = db.session.scalar(sa.select(AccountConnection.store_version))
        db.session.execute(sa.update(AccountConnection).values(refresh_due_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    network.token_delay = 0.3
    start, outcomes = threading.Barrier(WORKERS), []

    def worker() -> None:
        with committed_app.app_context():
            start.wait()
            connection = refresh_connection(db.session, app_services.broker(committed_app), Actor.system("race"), account_id)
            outcomes.append((connection.health.value, connection.store_version))
            db.session.commit()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    network.stop()
    assert network.stats["refresh_requests"] == 1
    assert network.stats["refresh_reuse_detected"] == 0
    assert len(set(network.seen_refresh_tokens)) == len(network.seen_refresh_tokens)
    assert outcomes == [("healthy", connected_version + 1)] * WORKERS


def test_tokens_never_reach_database_logs_responses_audit_or_task_messages(app, client, session, auth_headers, caplog):
    from govern.broker import tasks
    from govern.extensions import celery
    from tests import factories

    caplog.set_level(logging.DEBUG)
    admin = auth_headers(Role.ADMIN)
    messages: list[str] = []

    def capture(sender=None, body=None, headers=None, **_):
        messages.append(repr(body) + repr(headers))

    before_task_publish.connect(capture)
    celery.conf.update(task_always_eager=False, broker_url="memory://")
    responses = []
    try:
        with FakeNetwork(rotating_refresh=True) as network:
            responses.append(register(client, admin, network))
            account_id = connect(client, admin)
            responses.append(client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin))
            responses.append(client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin))
            person = factories.person(session, Actor.system("canary"))
            from govern.auth.service import create_api_client
            from govern.grants.models import GrantRole
            from govern.grants.service import create_grant

            create_grant(session, Actor.system("canary"), person.id, account_id, GrantRole.PUBLISHER, "canary")
            _, person_token = create_api_client(session, Actor.system("canary"), "canary-person", Role.IT, person.id)
            session.execute(sa.update(AccountConnection).values(refresh_due_at=utcnow() - timedelta(seconds=1)))
            session.commit()
            person_headers = {"Authorization": f"Bearer {person_token.reveal()}"}
            responses.append(client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": "hi"}}, headers=person_headers))
            responses.append(client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=person_headers))
            with app.app_context():  # the sweep as a worker runs it: its refresh job goes out once it commits
                assert tasks.refresh_due.apply().get() == 1  # enqueues one refresh message for the due account
            store = app_services.broker(app).store
            current = store.read(f"govern/accounts/{account_id}/oauth")
            secrets = {value.reveal() for version in range(1, current.version + 1) for value in store.read(current.path, version).data.values()}
            secrets |= set(network.seen_refresh_tokens)
            secrets.add("s3cret")  # the network app's client secret
    finally:
        celery.conf.update(task_always_eager=True, broker_url="memory://")
        before_task_publish.disconnect(capture)
    assert len(secrets) >= 5 and messages, "the test must have planted tokens and seen a task message"
    database, audit, bodies = astuple(haystacks(session, responses))
    for secret in secrets:
        assert secret not in database, "a token reached the database"
        assert secret not in caplog.text, "a token reached the logs"
        assert secret not in bodies, "a token reached an HTTP response"
        assert secret not in audit, "a token reached an audit event"
        assert not any(secret in message for message in messages), "a token reached a task message"

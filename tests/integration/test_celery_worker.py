"""A real Celery worker, fed over Redis and over RabbitMQ, runs govern's tasks in the app context."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from celery import Celery

from tests.support.services import require_service

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/15", 6379),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
}
RESULTS = "redis://127.0.0.1:6379/14"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def audited_database(committed_database, make_committed_app):
    from govern.actor import Actor
    from govern.auth.roles import Role
    from govern.auth.service import create_api_client
    from govern.extensions import db

    app = make_committed_app()
    with app.app_context():
        for n in range(3):
            create_api_client(db.session, Actor.system("celery-test"), f"client-{n}", Role.AUDITOR)
        db.session.commit()
        db.engine.dispose()
    return committed_database


@pytest.fixture(params=sorted(BROKERS))
def worker(request, audited_database, tmp_path):
    broker, port = BROKERS[request.param]
    for name, needed in ((request.param, port), ("redis", 6379)):
        if not _listening(needed):
            require_service(name, f"nothing listens on 127.0.0.1:{needed}")
    queue = f"govern-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "GOVERN_DATABASE_URL": audited_database,
        "GOVERN_CELERY_BROKER_URL": broker,
        "GOVERN_CELERY_RESULT_BACKEND": RESULTS,
        "GOVERN_SECRET_KEY": "w" * 40,
        "GOVERN_INSTANCE_PATH": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "govern.celery_app", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    sender = Celery(broker=broker, backend=RESULTS, set_as_current=False)  # shared tasks must keep resolving to govern's app
    try:
        yield sender, queue, audited_database
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        sender.close()


def test_worker_verifies_the_audit_chain(worker):
    sender, queue, url = worker
    result = sender.send_task("govern.audit.verify_chain", queue=queue).get(timeout=90)
    assert (result["ok"], result["checked"], result["first_break"]) == (True, 3, None)

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    engine.dispose()
    broken = sender.send_task("govern.audit.verify_chain", queue=queue).get(timeout=90)
    assert broken["ok"] is False and broken["first_break"].startswith("event 3")

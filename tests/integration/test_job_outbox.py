"""Jobs are never lost: a job accepted while the broker is down runs once the broker is back, exactly once per id.

Real parts throughout: PostgreSQL, a redis-server of this test's own that it stops and starts, a Celery worker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.standin import start_or_require
from tests.support.redis_server import RedisServer

SECRET_KEY = "outbox-" + "s" * 40


@pytest.fixture
def redis_server(tmp_path):
    server = start_or_require("redis-server", lambda: RedisServer(tmp_path).start())
    yield server
    server.stop()


@pytest.fixture
def broker_app(make_committed_app, redis_server):
    """The app with a broker. Celery's app object is shared by every app of the test run: put its settings back after."""
    from govern.extensions import celery

    saved = {key: celery.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    yield make_committed_app(secret_key=SECRET_KEY, celery_broker_url=redis_server.url, jobs_publish_timeout_seconds=1)
    celery.conf.update(saved)


class Worker:
    """`celery worker` on the test's own Redis (its default queue: nobody else consumes it), logging to a file."""

    def __init__(self, database_url: str, broker_url: str, directory: Path) -> None:
        self.log = directory / "worker.log"
        env = {**os.environ, "GOVERN_DATABASE_URL": database_url, "GOVERN_CELERY_BROKER_URL": broker_url,
               "GOVERN_SECRET_KEY": SECRET_KEY, "GOVERN_INSTANCE_PATH": str(directory / "worker-instance"),
               "GOVERN_LOG_FORMAT": "json", "GOVERN_LOG_LEVEL": "DEBUG"}  # a job's success is logged at debug
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "govern.celery_app", "worker", "--pool=solo", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            env=env, stdout=self.handle, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.handle.close()


@pytest.fixture
def start_worker(committed_database, redis_server, tmp_path):
    workers: list[Worker] = []

    def start() -> Worker:
        workers.append(Worker(committed_database, redis_server.url, tmp_path))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


def _token(app) -> dict[str, str]:
    from govern.actor import Actor
    from govern.auth.roles import Role
    from govern.auth.service import create_api_client
    from govern.extensions import db

    with app.app_context():
        _, token = create_api_client(db.session, Actor.system("outbox-test"), "governance", Role.GOVERNANCE)
        db.session.commit()
        return {"Authorization": f"Bearer {token.reveal()}"}


def _states(url: str) -> dict[str, tuple[str, int]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT job_id, state, deliveries FROM job_outbox")).all()
    engine.dispose()
    return {job_id: (state, deliveries) for job_id, state, deliveries in rows}


def _wait_for(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _runs(worker: Worker, job_id: str) -> int:
    """How often the worker ran the scan with this id (Celery logs each run that returned)."""
    return len(re.findall(rf"scan_published\[{re.escape(job_id)}\] succeeded", worker.output()))


def test_scans_accepted_while_the_broker_is_down_each_run_once_when_it_is_back(
        broker_app, redis_server, start_worker, committed_database):
    from govern.jobs import relay

    client, headers = broker_app.test_client(), _token(broker_app)
    redis_server.stop()
    accepted = [client.post("/api/v1/policy/scans", headers=headers) for _ in range(3)]
    assert [response.status_code for response in accepted] == [202, 202, 202]
    bodies = [response.get_json() for response in accepted]
    assert [(body["queued"], body["delivered"], body["state"]) for body in bodies] == [(True, False, "pending")] * 3
    job_ids = [body["job_id"] for body in bodies]
    assert len(set(job_ids)) == 3

    waiting = client.get(f"/api/v1/policy/scans/{job_ids[0]}", headers=headers).get_json()
    assert (waiting["state"], waiting["delivered"], waiting["attempts"]) == ("pending", False, 1)
    assert "Connection refused" in waiting["last_error"]  # the request tried once, within the connect timeout

    redis_server.start()
    worker = start_worker()
    assert relay(broker_app).delivered == 3
    _wait_for(lambda: all(state == "done" for state, _ in _states(committed_database).values()), what="the three scans")
    _wait_for(lambda: all(_runs(worker, job_id) == 1 for job_id in job_ids), what="the worker's log")
    assert _states(committed_database) == {job_id: ("done", 1) for job_id in job_ids}
    done = client.get(f"/api/v1/policy/scans/{job_ids[2]}", headers=headers).get_json()
    assert (done["state"], done["delivered"], done["last_error"]) == ("done", True, None)
    assert relay(broker_app).delivered == 0  # nothing is sent twice


def test_a_job_sent_twice_runs_once(broker_app, redis_server, start_worker, committed_database):
    """A relay that dies between publishing and marking the row delivered sends the job again: it still runs once."""
    from govern.extensions import celery, db
    from govern.jobs import enqueue_after_commit, relay
    from govern.publishing.tasks import scan_published

    broker_app.extensions["govern.jobs.fast_path"].paused_until = float("inf")  # leave the job pending after its commit
    with broker_app.app_context():
        job_id = enqueue_after_commit(db.session, scan_published).job_id
        db.session.commit()
    with celery.connection_for_write(redis_server.url) as connection:  # the crashed relay's publish
        celery.send_task(scan_published.name, task_id=job_id, producer=celery.amqp.Producer(connection), retry=False,
                         ignore_result=True)
    assert relay(broker_app).delivered == 1  # the next relay finds it pending and sends it again
    worker = start_worker()
    _wait_for(lambda: worker.output().count("job_already_run") == 1, what="the second delivery to be refused")
    assert _runs(worker, job_id) == 1
    assert _states(committed_database) == {job_id: ("done", 1)}


def test_two_relays_never_send_a_job_twice(broker_app, redis_server, committed_database):
    """On PostgreSQL a relay locks the row it sends (SKIP LOCKED): two relays racing over the same jobs split them."""
    import redis

    from govern.extensions import db
    from govern.jobs import enqueue_after_commit, relay
    from govern.publishing.tasks import scan_published

    broker_app.extensions["govern.jobs.fast_path"].paused_until = float("inf")
    with broker_app.app_context():
        job_ids = {enqueue_after_commit(db.session, scan_published).job_id for _ in range(60)}
        db.session.commit()
    start, outcomes = threading.Barrier(2), []

    def run() -> None:
        start.wait()
        outcomes.append(relay(broker_app).delivered)

    relays = [threading.Thread(target=run) for _ in range(2)]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join(timeout=120)
    assert sum(outcomes) == 60 and len(outcomes) == 2
    queue = redis.Redis.from_url(redis_server.url).lrange("celery", 0, -1)
    sent = [re.search(rb'"id": "([0-9a-f-]{36})"', message).group(1).decode() for message in queue]
    assert sorted(sent) == sorted(job_ids)  # each job once, none twice
    assert set(_states(committed_database).values()) == {("delivered", 1)}

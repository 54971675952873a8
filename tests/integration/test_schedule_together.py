"""The schedule publishes a claim's targets together, in one transaction (decision 0081), against real PostgreSQL,
OpenBao and the loopback network: a batch that fails part-way is finished without publishing anything twice, the
audit chain's head stays free while a batch waits on the network, a pause waits for a batch under way and nothing goes
out after it commits, and the lock, the pauses and the grants are read once per batch, not once per target."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from govern.actor import Actor
from govern.audit.service import record
from govern.extensions import db
from govern.pauses import service as pauses
from govern.pauses.models import PauseScope
from govern.publishing import schedule
from govern.publishing.models import PostState
from tests.integration.test_schedule import World, beat, targets_of

ACTOR = Actor.system("schedule-together-tests")


@pytest.fixture
def world(make_committed_app, openbao, network):
    return World(make_committed_app(**openbao.govern_settings()), network)


def _beat_until_the_first_publish(world) -> threading.Thread:
    """A beat in a thread of its own, returned once its batch has put one post on the (slow) network."""
    beating = threading.Thread(target=beat, args=(world.app,))
    beating.start()
    deadline = time.monotonic() + 30
    while world.network.published_calls < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    return beating


def _published_keys(network) -> list[str]:
    return [post["idempotency_key"] for post in network.posts]


def test_a_batch_that_fails_part_way_is_finished_without_publishing_anything_twice(world, monkeypatch):
    post_id = world.schedule("Three accounts, one failure after two went out")
    original, calls = schedule._publish_held, []

    def fail_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the worker's database connection dropped")
        return original(*args, **kwargs)

    monkeypatch.setattr(schedule, "_publish_held", fail_on_the_third)
    assert beat(world.app) == {"recovered": 2, "published": 1}
    targets = targets_of(world.app, post_id)
    assert {t.state for t in targets} == {PostState.PUBLISHED}
    assert sorted(_published_keys(world.network)) == sorted(t.idempotency_key for t in targets)
    assert world.network.published_calls == 3
    with world.app.app_context():
        recovered = db.session.scalar(sa.text("select count(*) from audit_events where action = 'publishing:post_target:recover'"))
        assert recovered == 2  # the two that went out before the failure, found on the network by their keys


def test_the_audit_chain_is_free_while_a_batch_waits_on_the_network(world):
    world.schedule("Slow network")
    world.network.publish_delay = 0.4
    beating = _beat_until_the_first_publish(world)
    try:
        assert world.network.published_calls == 1  # one target recorded in the batch, two to go
        with world.app.app_context():
            db.session.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
            record(db.session, ACTOR, "publishing:test:probe", "post", 0)  # waits for the head if the batch holds it
            db.session.commit()
        assert beating.is_alive()
    finally:
        beating.join(timeout=60)
    assert world.network.published_calls == 3


def test_a_pause_waits_for_a_batch_under_way_and_nothing_goes_out_after_it(world):
    post_id = world.schedule("Under way when the crisis broke")
    later_post = world.schedule("Due just after", accounts=world.accounts[:1])
    world.network.publish_delay = 0.3
    beating = _beat_until_the_first_publish(world)
    try:
        with world.app.app_context():
            pauses.pause(db.session, ACTOR, None, PauseScope.ALL, None, "brand crisis")
            db.session.commit()
        out_when_paused = world.network.published_calls
    finally:
        beating.join(timeout=60)
    assert out_when_paused == world.network.published_calls  # the pause waited for the batch; nothing after it
    states = [t.state for t in targets_of(world.app, post_id) + targets_of(world.app, later_post)]
    assert set(states) <= {PostState.PUBLISHED, PostState.HELD}
    assert states.count(PostState.PUBLISHED) == out_when_paused >= 1


def test_a_batch_reads_the_pause_lock_pauses_and_grants_once_not_per_target(world):
    for n in range(4):
        world.schedule(f"Batch post {n}")  # 12 targets on 3 accounts, one claim
    statements: list[str] = []
    with world.app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert beat(world.app) == {"published": 12}
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sum("pg_advisory_xact_lock_shared" in s for s in statements) == 1
    assert sum("FROM publishing_pauses" in s for s in statements) == 1
    assert sum("FROM account_connections" in s for s in statements) == 3  # one per account
    assert sum(s.startswith("INSERT INTO audit_events") for s in statements) == 2  # the claim's, then the batch's
    assert len(_published_keys(world.network)) == len(set(_published_keys(world.network))) == 12


def test_a_batch_keeps_every_token_out_of_the_database_the_audit_trail_and_the_logs(world, monkeypatch, caplog):
    import logging

    from govern import app_services
    from tests.support.canary import haystacks

    caplog.set_level(logging.DEBUG)
    world.schedule("Canary batch")
    world.schedule("Canary batch, failing part-way")
    original, calls = schedule._publish_held, []

    def fail_on_the_fifth(*args, **kwargs):  # the failed batch's fallback and its logged traceback are searched too
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("the worker's database connection dropped")
        return original(*args, **kwargs)

    monkeypatch.setattr(schedule, "_publish_held", fail_on_the_fifth)
    counts = beat(world.app)
    assert sum(counts.values()) == 6 and counts.get("recovered") == 4, counts
    store = app_services.broker(world.app).store
    secrets = {value.reveal() for account_id in world.accounts
               for value in store.read(f"govern/accounts/{account_id}/oauth").data.values()}
    assert len(secrets) >= 3 and "schedule_batch_failed" in caplog.text
    with world.app.app_context():
        found = haystacks(db.session, [])
    for secret in secrets:
        assert secret not in found.database, "a token reached the database"
        assert secret not in found.audit, "a token reached an audit event"
        assert secret not in caplog.text, "a token reached the logs"

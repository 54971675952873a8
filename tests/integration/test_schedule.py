"""The schedule's beat job against real PostgreSQL, OpenBao and the loopback network: due posts go out once, two
claimers racing never publish a target twice, a worker that died after the network call is recovered from the
network's recent posts, failures back off and end `failed` with the author told, and a pause holds due targets
(even those due in its first second) until it ends, when they go out once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.db import utcnow
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.notifications.models import Notification
from govern.pauses import service as pauses
from govern.pauses.models import PauseScope
from govern.publishing import schedule
from govern.publishing.models import Post, PostState, PostTarget
from govern.publishing.tasks import publish_due
from tests import factories
from tests.support.broker import connect, register

ACTOR = Actor.system("schedule-tests")


def beat(app) -> dict[str, int]:
    with app.app_context():
        return publish_due()


def make_due(app, post_id: int, at=None) -> None:
    with app.app_context():
        db.session.execute(sa.update(Post).where(Post.id == post_id).values(scheduled_at=at or utcnow() - timedelta(seconds=1)))
        db.session.commit()


def targets_of(app, post_id: int) -> list[PostTarget]:
    with app.app_context():
        found = db.session.scalars(sa.select(PostTarget).where(PostTarget.post_id == post_id).order_by(PostTarget.id)).all()
        db.session.expunge_all()
        return found


class World:
    """An app with three connected accounts, an author holding a publisher grant on each, and tokens."""

    def __init__(self, app, network) -> None:
        self.app, self.network, self.client = app, network, app.test_client()
        with app.app_context():
            _, admin = create_api_client(db.session, ACTOR, "schedule-admin", Role.ADMIN)
            _, second = create_api_client(db.session, ACTOR, "schedule-second-admin", Role.ADMIN)
            db.session.commit()
        self.admin = {"Authorization": f"Bearer {admin.reveal()}"}
        self.second = {"Authorization": f"Bearer {second.reveal()}"}
        register(self.client, self.admin, network)
        self.accounts = []
        for n in range(3):
            network.set_user(id=f"user-{n}", name=f"acme{n}")
            self.accounts.append(connect(self.client, self.admin))
        with app.app_context():
            author = factories.person(db.session, ACTOR, display_name="Dana Author")
            for account_id in self.accounts:
                create_grant(db.session, ACTOR, author.id, account_id, GrantRole.PUBLISHER, "social team")
            _, token = create_api_client(db.session, ACTOR, "schedule-author", Role.IT, author.id)
            db.session.commit()
            self.author_id = author.id
        self.author = {"Authorization": f"Bearer {token.reveal()}"}

    def schedule(self, text: str, accounts=None, due=True) -> int:
        later = (utcnow() + timedelta(hours=1)).isoformat()
        answer = self.client.post("/api/v1/posts", json={"account_ids": accounts or self.accounts, "text": text,
                                                         "submit": True, "scheduled_at": later}, headers=self.author)
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["state"] == "scheduled"
        if due:
            make_due(self.app, answer.get_json()["id"])
        return answer.get_json()["id"]


@pytest.fixture
def world(app, network):
    return World(app, network)


def test_due_posts_are_published_once_with_their_idempotency_keys(world):
    post_id = world.schedule("Our new branch opens Sunday")
    not_yet = world.schedule("Next week", due=False)
    counts = beat(world.app)
    assert counts == {"published": 3}, counts
    targets = targets_of(world.app, post_id)
    assert {t.state for t in targets} == {PostState.PUBLISHED}
    assert sorted(p["idempotency_key"] for p in world.network.posts) == sorted(t.idempotency_key for t in targets)
    assert all(t.lease_expires_at is None and t.claimed_by is None for t in targets)
    assert beat(world.app) == {}
    assert world.network.published_calls == 3
    assert {t.state for t in targets_of(world.app, not_yet)} == {PostState.SCHEDULED}
    with world.app.app_context():
        assert db.session.get(Post, post_id).state is PostState.PUBLISHED
        claims = db.session.scalar(sa.text("select count(*) from audit_events where action = 'publishing:post_target:claim'"))
        assert claims == 3


def test_a_worker_killed_after_the_network_call_is_recovered_without_a_second_publish(world):
    post_id = world.schedule("Went out, then the worker died", accounts=world.accounts[:1])
    with world.app.app_context():  # the dead worker: claimed (committed), published, never recorded the outcome
        [claimed] = schedule.claim_due(db.session, ACTOR, "dead-worker")
        db.session.commit()
        target = db.session.get(PostTarget, claimed.target_id)
        world.network.posts.append({"id": "post-999", "text": "Went out, then the worker died", "author_id": "user-0",
                                    "idempotency_key": target.idempotency_key})
    assert beat(world.app) == {}  # its lease has not run out: nobody touches it
    with world.app.app_context():
        db.session.execute(sa.update(PostTarget).where(PostTarget.id == claimed.target_id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert beat(world.app) == {"recovered": 1}
    [target] = targets_of(world.app, post_id)
    assert target.state is PostState.PUBLISHED and target.external_id == "post-999"
    assert world.network.published_calls == 0 and len(world.network.posts) == 1
    with world.app.app_context():
        event = db.session.scalar(sa.text("select summary from audit_events where action = 'publishing:post_target:claim' "
                                          "order by seq desc limit 1"))
        assert event["abandoned_by"] == "dead-worker"


def test_a_worker_killed_before_the_network_call_is_published_once_after_its_lease(world):
    post_id = world.schedule("Never reached the network", accounts=world.accounts[:1])
    with world.app.app_context():
        schedule.claim_due(db.session, ACTOR, "dead-worker")
        db.session.execute(sa.update(PostTarget).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert beat(world.app) == {"published": 1}
    assert beat(world.app) == {}
    assert [t.state for t in targets_of(world.app, post_id)] == [PostState.PUBLISHED]
    assert world.network.published_calls == 1


def test_a_dead_workers_claims_are_taken_over_at_once_while_a_live_ones_wait_for_their_lease(world):
    """A worker holds its liveness lock on a connection of its own; when that connection ends (the process died), the
    next beat takes its claims over without waiting for the lease, and publishes each once."""
    with world.app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("liveness locks are PostgreSQL's; elsewhere the lease alone decides")
    post_id = world.schedule("The worker holding this dies", accounts=world.accounts[:2])
    worker = schedule.worker_name()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        living = engine.connect()
        assert schedule.hold_liveness(living, worker)
        with world.app.app_context():
            claimed = schedule.claim_due(db.session, ACTOR, worker)
            db.session.commit()
        assert len(claimed) == 2
        assert beat(world.app) == {}  # alive, leases running: nobody touches its claims
        living.close()  # the process died: its connection, and the lock with it, are gone
        assert beat(world.app) == {"published": 2}
    finally:
        engine.dispose()
    assert {t.state for t in targets_of(world.app, post_id)} == {PostState.PUBLISHED}
    assert world.network.published_calls == 2
    with world.app.app_context():
        taken_over = db.session.scalars(sa.text("select summary from audit_events where action = "
                                                "'publishing:post_target:claim' order by seq desc limit 2")).all()
        assert [event["abandoned_by"] for event in taken_over] == [worker, worker]


def test_a_claim_under_a_name_without_a_liveness_key_waits_for_its_lease():
    assert schedule.liveness_key("host:12:0123456789ab") == 0x0123456789AB
    assert schedule.liveness_key("dead-worker") is None
    assert schedule.liveness_key("host:12:not-hex-here") is None
    assert schedule.liveness_key(None) is None


def test_network_failures_back_off_then_fail_and_the_author_is_told(world):
    post_id = world.schedule("The network is down", accounts=world.accounts[:1])
    world.network.fail_publishes = 100
    assert beat(world.app) == {"retrying": 1}
    [target] = targets_of(world.app, post_id)
    assert target.state is PostState.SCHEDULED and target.attempts == 1 and "503" in target.error
    first_wait = target.next_attempt_at - utcnow()
    assert timedelta(seconds=25) < first_wait <= schedule.backoff(1)
    assert beat(world.app) == {}  # not before its time
    from tests.support.console import signed_in_with_role

    with world.app.app_context():
        browser = signed_in_with_role(world.app, db.session, Role.AUDITOR)
    page = browser.get(f"/posts/{post_id}", headers={"Accept-Language": "he"}).get_data(as_text=True)
    assert "נוסה 1 פעמים" in page and "503" in page
    waits = [first_wait]
    for attempt in range(2, schedule.MAX_ATTEMPTS + 1):
        with world.app.app_context():
            db.session.execute(sa.update(PostTarget).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        counts = beat(world.app)
        [target] = targets_of(world.app, post_id)
        if attempt < schedule.MAX_ATTEMPTS:
            assert counts == {"retrying": 1} and target.attempts == attempt
            waits.append(target.next_attempt_at - utcnow())
    assert counts == {"failed": 1}
    assert target.state is PostState.FAILED and "503" in target.error
    assert all(later > earlier for earlier, later in zip(waits, waits[1:]))  # exponential: each wait longer
    assert world.network.posts == []
    with world.app.app_context():
        [note] = db.session.scalars(sa.select(Notification).where(Notification.person_id == world.author_id,
                                                                  Notification.kind == "post_failed")).all()
        assert note.subject_id == str(post_id) and "503" in note.details["reason"]
        assert db.session.get(Post, post_id).state is PostState.FAILED


def _pause(world, resume_at=None) -> int:
    body = {"scope": {"type": "all"}, "reason": "brand crisis"}
    if resume_at is not None:
        body["resume_at"] = resume_at.isoformat()
    made = world.client.post("/api/v1/pauses", json=body, headers=world.admin)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def test_a_pause_holds_due_targets_and_resuming_releases_them_once(world):
    pause_id = _pause(world)
    post_id = world.schedule("Held by the pause")
    assert beat(world.app) == {"held": 3}
    assert {t.state for t in targets_of(world.app, post_id)} == {PostState.HELD}
    assert beat(world.app) == {} and world.network.posts == []
    refused = world.client.post(f"/api/v1/pauses/{pause_id}/resume", json={}, headers=world.admin)
    assert refused.status_code == 409  # the one who paused cannot resume alone
    resumed = world.client.post(f"/api/v1/pauses/{pause_id}/resume", json={}, headers=world.second)
    assert resumed.status_code == 200, resumed.get_json()
    assert {t.state for t in targets_of(world.app, post_id)} == {PostState.SCHEDULED}
    assert beat(world.app) == {"published": 3}
    assert beat(world.app) == {}
    assert world.network.published_calls == 3
    with world.app.app_context():
        assert db.session.get(Post, post_id).state is PostState.PUBLISHED
        released = db.session.scalar(sa.text("select count(*) from audit_events where action = 'publishing:post_target:release'"))
        assert released == 3


def test_content_due_within_the_pauses_first_second_is_held_and_auto_resume_releases_it(world):
    pause_id = _pause(world, resume_at=utcnow() + timedelta(hours=1))
    with world.app.app_context():
        paused_at = pauses.get_pause(db.session, pause_id).paused_at
    post_id = world.schedule("Due right as the pause began", accounts=world.accounts[:1], due=False)
    make_due(world.app, post_id, at=paused_at + timedelta(milliseconds=300))
    time.sleep(max(0.0, (paused_at + timedelta(milliseconds=350) - utcnow()).total_seconds()))
    assert beat(world.app) == {"held": 1}
    assert world.network.posts == []
    with world.app.app_context():  # its automatic resume time comes; the job writes it down and releases the post
        db.session.execute(sa.text("update publishing_pauses set resume_at = now() - interval '1 second' where id = :id"),
                           {"id": pause_id})
        db.session.commit()
        assert pauses.auto_resume_due(db.session, ACTOR) == 1
        db.session.commit()
    assert [t.state for t in targets_of(world.app, post_id)] == [PostState.SCHEDULED]
    assert beat(world.app) == {"published": 1}
    assert world.network.published_calls == 1


def test_a_pause_of_one_account_releases_only_when_no_other_pause_covers_it(world):
    with world.app.app_context():
        account_pause = pauses.pause(db.session, ACTOR, None, PauseScope.ACCOUNT, world.accounts[0], "account trouble")
        db.session.commit()
        account_pause_id = account_pause.id
    all_pause = _pause(world)
    post_id = world.schedule("Two pauses", accounts=world.accounts[:1])
    assert beat(world.app) == {"held": 1}
    assert world.client.post(f"/api/v1/pauses/{all_pause}/resume", json={}, headers=world.second).status_code == 200
    assert [t.state for t in targets_of(world.app, post_id)] == [PostState.HELD]  # the account's pause still holds it
    assert world.client.post(f"/api/v1/pauses/{account_pause_id}/resume", json={}, headers=world.second).status_code == 200
    assert beat(world.app) == {"published": 1}


@pytest.mark.integration
def test_four_concurrent_claimers_never_publish_a_target_twice(make_committed_app, openbao, network):
    app = make_committed_app(**openbao.govern_settings())
    world = World(app, network)
    post_ids = [world.schedule(f"Race post {n}") for n in range(15)]  # 45 targets
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait()
            for _ in range(3):
                beat(app)
        except BaseException as exc:  # noqa: BLE001 - read by the test
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    keys = [p["idempotency_key"] for p in network.posts]
    assert len(keys) == 45 and len(set(keys)) == 45 and network.published_calls == 45
    states = {t.state for post_id in post_ids for t in targets_of(app, post_id)}
    assert states == {PostState.PUBLISHED}


@pytest.mark.parametrize("locale", ["en", "ar", "he"])
def test_the_calendar_shows_scheduled_posts_by_week_and_month(world, locale):
    from tests.support.console import signed_in_with_role

    with world.app.app_context():
        browser = signed_in_with_role(world.app, db.session, Role.AUDITOR)
    post_id = world.schedule("Calendar post", accounts=world.accounts[:1], due=False)
    with world.app.app_context():
        when = db.session.get(Post, post_id).scheduled_at
    day = when.date().isoformat()
    for view in ("week", "month"):
        page = browser.get(f"/posts/calendar?view={view}&start={day}", headers={"Accept-Language": locale})
        assert page.status_code == 200, page.get_data(as_text=True)[:2000]
        html = page.get_data(as_text=True)
        assert f'href="/posts/{post_id}"' in html and "<caption>" in html and 'scope="col"' in html
        assert html.count('scope="col"') == 7
        if locale == "he":
            assert html.index("יום ראשון") < html.index("יום שני")  # an Israeli week starts on Sunday
        if locale in ("ar", "he"):
            assert 'dir="rtl"' in html
    filtered = browser.get(f"/posts/calendar?view=week&start={day}&account_id={world.accounts[1]}")
    assert f'href="/posts/{post_id}"' not in filtered.get_data(as_text=True)
    state = browser.get(f"/posts/calendar?view=month&start={day}&state=scheduled")
    assert f'href="/posts/{post_id}"' in state.get_data(as_text=True)
    for bad in ("view=year", "start=2026-13-45", "start=yesterday"):
        answer = browser.get(f"/posts/calendar?{bad}")
        assert answer.status_code == 422 and 'role="alert"' in answer.get_data(as_text=True)
    queue = browser.get(f"/posts?account_id={world.accounts[0]}&state=scheduled")
    assert queue.status_code == 200 and f'href="/posts/{post_id}"' in queue.get_data(as_text=True)


@pytest.mark.integration
def test_two_real_celery_workers_over_redis_publish_due_posts_once(make_committed_app, openbao, network, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import uuid

    from celery import Celery

    from tests.support.services import require_service

    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            require_service("redis", "nothing listens on 127.0.0.1:6379")
    app = make_committed_app(**openbao.govern_settings())
    world = World(app, network)
    post_ids = [world.schedule(f"Through a real worker {n}") for n in range(4)]  # 12 targets
    queue = f"govern-schedule-{uuid.uuid4().hex[:8]}"
    broker, results = "redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/12"
    with app.app_context():
        env = {**os.environ, "GOVERN_DATABASE_URL": str(db.engine.url.render_as_string(hide_password=False)),
               "GOVERN_CELERY_BROKER_URL": broker, "GOVERN_CELERY_RESULT_BACKEND": results,
               "GOVERN_SECRET_KEY": app.config["SECRET_KEY"], "GOVERN_INSTANCE_PATH": str(tmp_path),
               **{f"GOVERN_{k.upper()}": v for k, v in openbao.govern_settings().items()}}
    workers = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "govern.celery_app", "worker", "--pool=solo",
                                 "-Q", queue, "-n", f"w{n}@%h", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat", "--loglevel=WARNING"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(2)]
    sender = Celery(broker=broker, backend=results, set_as_current=False)
    try:
        sent = [sender.send_task("govern.publishing.publish_due", queue=queue) for _ in range(4)]
        outcomes = [result.get(timeout=120) for result in sent]
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        sender.close()
    assert sum(o.get("published", 0) for o in outcomes) == 12, outcomes
    keys = [p["idempotency_key"] for p in network.posts]
    assert len(keys) == 12 == len(set(keys)) == network.published_calls
    assert {t.state for post_id in post_ids for t in targets_of(app, post_id)} == {PostState.PUBLISHED}


def test_a_slow_worker_whose_lease_was_taken_over_does_not_publish_it_too(world):
    from govern import app_services

    world.schedule("Taken over", accounts=world.accounts[:1])
    publisher = app_services.publisher(world.app)
    with world.app.app_context():
        [slow] = schedule.claim_due(db.session, ACTOR, "slow-worker")
        db.session.execute(sa.update(PostTarget).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        [taker] = schedule.claim_due(db.session, ACTOR, "taking-over")
        db.session.commit()
        assert taker.check_network_first and taker.target_id == slow.target_id
        assert schedule.publish_claimed(db.session, publisher, ACTOR, slow) is None  # no longer its lease
        db.session.commit()
        assert schedule.find_on_network(db.session, publisher, ACTOR, taker) is None
        db.session.commit()
        assert schedule.publish_claimed(db.session, publisher, ACTOR, taker).outcome.value == "published"
        db.session.commit()
    assert world.network.published_calls == 1


def test_a_failed_look_up_counts_as_a_failed_attempt(world, monkeypatch):
    post_id = world.schedule("Look-up fails", accounts=world.accounts[:1])
    with world.app.app_context():
        db.session.execute(sa.update(PostTarget).values(attempts=1))  # a retry: it looks the network up first
        db.session.commit()

    def refuse(*args, **kwargs):
        from govern.broker.context import ActionFailed

        raise ActionFailed("the network refused the action: %(reason)s", reason="Test Network answered 503")

    monkeypatch.setattr(schedule.broker, "perform_action", refuse)
    assert beat(world.app) == {"error": 1}
    [target] = targets_of(world.app, post_id)
    assert target.state is PostState.SCHEDULED and target.attempts == 2 and "503" in target.error
    assert target.next_attempt_at > utcnow() and world.network.posts == []


def test_a_secret_store_outage_is_retried_later_not_failed(world, monkeypatch):
    from govern import app_services
    from govern.adapters.secret_store import SecretStoreError

    post_id = world.schedule("Due while OpenBao is down", accounts=world.accounts[:2])
    store = app_services.broker(world.app).store

    def down(*args, **kwargs):
        raise SecretStoreError("connection refused")

    monkeypatch.setattr(store, "read", down)
    assert beat(world.app) == {"retrying": 2}
    targets = targets_of(world.app, post_id)
    assert {t.state for t in targets} == {PostState.SCHEDULED} and all("secret store" in t.error for t in targets)
    assert all(t.next_attempt_at > utcnow() and t.attempts == 1 for t in targets) and world.network.posts == []
    monkeypatch.undo()
    with world.app.app_context():
        db.session.execute(sa.update(PostTarget).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert beat(world.app) == {"published": 2}  # looked up on the network first (a retry), then published once
    assert world.network.published_calls == 2
    assert {t.state for t in targets_of(world.app, post_id)} == {PostState.PUBLISHED}

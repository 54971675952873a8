"""The job outbox in embedded mode (no broker): written with the transaction, run once per id, failures kept, relayed later."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from govern import app_services
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import InvalidOperation
from govern.extensions import celery
from govern.jobs import enqueue_after_commit, relay
from govern.outbox import service as outbox
from govern.outbox.models import JobState, OutboxJob
from govern.secret_value import SecretValue

ran: list[int] = []


def _count(value: int) -> int:
    ran.append(value)
    return value


def _explode(kind: str) -> None:
    ran.append(-1)
    if kind == "domain":
        raise InvalidOperation("the account is paused")
    raise ValueError("canary-7d1f: must never be stored")


@pytest.fixture(scope="module")
def tasks(app):
    """Registered once the app has set the task base (a task proxy evaluated at collection would miss it)."""
    return SimpleNamespace(count=celery.task(name="tests.outbox.count")(_count),
                           explode=celery.task(name="tests.outbox.explode")(_explode))


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


def _job(session, job_id: str) -> OutboxJob:
    session.expire_all()
    return session.scalar(select(OutboxJob).where(OutboxJob.job_id == job_id))


def _jobs(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxJob))


@pytest.fixture
def fast_path_paused(app, monkeypatch):
    """As after the broker refused: committed jobs wait in the outbox for the periodic relay."""
    monkeypatch.setattr(app.extensions["govern.jobs.fast_path"], "paused_until", float("inf"))


def test_the_job_is_a_row_of_the_transaction_and_runs_once_after_the_commit(tasks, session):
    job = enqueue_after_commit(session, tasks.count, 7)
    assert (job.state, job.delivered, ran) == (JobState.PENDING, False, [])
    session.commit()
    assert ran == [7]
    stored = _job(session, job.job_id)
    assert (stored.state, stored.deliveries, stored.task, stored.args) == (JobState.DONE, 1, "tests.outbox.count", [7])
    assert stored.finished_at is not None and stored.last_error is None


def test_a_rolled_back_transaction_leaves_no_job(tasks, session):
    before = _jobs(session)
    enqueue_after_commit(session, tasks.count, 1)
    session.rollback()
    session.commit()
    assert (_jobs(session), ran) == (before, [])


def test_a_second_delivery_of_the_same_id_does_not_run_again(tasks, session):
    job_id = enqueue_after_commit(session, tasks.count, 3).job_id
    session.commit()
    tasks.count.apply(args=[3], task_id=job_id)  # the broker hands it over again (a relay died before marking it)
    assert ran == [3]
    assert _job(session, job_id).state is JobState.DONE


def test_a_failed_job_keeps_its_error_type_not_its_message_and_is_not_run_again(tasks, session):
    job_id = enqueue_after_commit(session, tasks.explode, "value").job_id
    session.commit()
    failed = _job(session, job_id)
    assert (failed.state, failed.last_error) == (JobState.FAILED, "ValueError")  # a message could carry a secret
    tasks.explode.apply(args=["value"], task_id=job_id)
    assert ran == [-1]


def test_a_refusal_keeps_its_own_words(tasks, session):
    job_id = enqueue_after_commit(session, tasks.explode, "domain").job_id
    session.commit()
    assert _job(session, job_id).last_error == "InvalidOperation: the account is paused"


def test_arguments_are_plain_json_so_a_secret_never_reaches_the_outbox(tasks, session):
    before = _jobs(session)
    with pytest.raises(TypeError):
        enqueue_after_commit(session, tasks.count, SecretValue("canary-token"))
    session.rollback()
    assert _jobs(session) == before


def test_the_periodic_relay_runs_what_the_fast_path_left(tasks, app, session, fast_path_paused):
    job_id = enqueue_after_commit(session, tasks.count, 5).job_id
    session.commit()
    assert (ran, _job(session, job_id).state) == ([], JobState.PENDING)
    assert relay(app).delivered == 1
    assert (ran, _job(session, job_id).state) == ([5], JobState.DONE)
    assert relay(app).delivered == 0


def test_a_job_handed_over_long_ago_that_never_ran_is_handed_over_again_then_given_up(tasks, app, session, fast_path_paused):
    lost = enqueue_after_commit(session, tasks.count, 1).job_id
    hopeless = enqueue_after_commit(session, tasks.count, 2).job_id
    long_ago = utcnow() - timedelta(hours=2)
    for job_id, deliveries in ((lost, 1), (hopeless, outbox.MAX_DELIVERIES)):
        row = _job(session, job_id)
        row.state, row.delivered_at, row.deliveries = JobState.DELIVERED, long_ago, deliveries
        session.flush()
    session.commit()
    relay(app)
    assert ran == [1]
    assert (_job(session, lost).state, _job(session, lost).deliveries) == (JobState.DONE, 2)
    given_up = _job(session, hopeless)
    assert (given_up.state, given_up.last_error) == (JobState.FAILED, f"not run after {outbox.MAX_DELIVERIES} deliveries")


def test_a_recent_delivery_is_not_sent_again(tasks, app, session, fast_path_paused):
    job_id = enqueue_after_commit(session, tasks.count, 1).job_id
    row = _job(session, job_id)
    row.state, row.delivered_at, row.deliveries = JobState.DELIVERED, utcnow(), 1
    session.commit()
    assert relay(app).delivered == 0 and ran == []


def test_the_token_refresh_sweep_enqueues_through_the_outbox(app, session, fast_path_paused, monkeypatch):
    from govern.broker import service as broker_service
    from govern.broker.tasks import refresh_due

    monkeypatch.setattr(broker_service, "connections_due", lambda _session: [41, 42])
    assert refresh_due.apply().get() == 2
    session.expire_all()
    queued = session.scalars(select(OutboxJob).where(OutboxJob.task == "govern.broker.refresh_account")).all()
    assert sorted(job.args for job in queued) == [[41], [42]]
    assert {job.state for job in queued} == {JobState.PENDING}


def test_the_scan_endpoint_answers_with_the_job_and_its_state_is_readable_by_id(client, auth_headers, session,
                                                                                fast_path_paused, app):
    governance = auth_headers(Role.GOVERNANCE)
    queued = client.post("/api/v1/policy/scans", headers=governance)
    assert queued.status_code == 202
    body = queued.get_json()
    assert (body["queued"], body["delivered"], body["state"], body["task"]) == (True, False, "pending", "govern.policy.scan_published")
    assert _job(session, body["job_id"]) is not None  # committed with the request
    reader = auth_headers(Role.AUDITOR)
    assert client.get(f"/api/v1/policy/scans/{body['job_id']}", headers=reader).get_json()["delivered"] is False
    relay(app)
    read = client.get(f"/api/v1/policy/scans/{body['job_id']}", headers=reader).get_json()
    assert (read["state"], read["delivered"]) == ("done", True) and read["finished_at"]


def test_reading_a_job_of_another_kind_or_an_unknown_id_is_404(tasks, client, auth_headers, session):
    sync_job = enqueue_after_commit(session, tasks.count, 1).job_id  # not a scan
    session.commit()
    headers = auth_headers(Role.ADMIN)
    for path in (f"/api/v1/policy/scans/{sync_job}", "/api/v1/policy/scans/not-a-job", f"/api/v1/directory/sync-jobs/{sync_job}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.content_type == "application/problem+json", path


def test_without_a_broker_the_scan_has_run_when_the_request_returns(client, auth_headers, session):
    body = client.post("/api/v1/policy/scans", headers=auth_headers(Role.GOVERNANCE)).get_json()
    assert body["delivered"] is False  # the answer is written before the commit that hands it over
    assert _job(session, body["job_id"]).state is JobState.DONE


def test_the_directory_sync_endpoint_answers_with_the_job(app, client, auth_headers, session, fast_path_paused, monkeypatch):
    settings = app_services.settings(app)
    monkeypatch.setitem(app.extensions, "govern.settings", settings.model_copy(update={"ldap_url": "ldap://127.0.0.1:1"}))
    queued = client.post("/api/v1/directory/runs", json={"full": True}, headers=auth_headers(Role.IT))
    assert queued.status_code == 202
    body = queued.get_json()
    assert (body["full"], body["queued"], body["delivered"], body["task"]) == (True, True, False, "govern.directory.sync_full")
    read = client.get(f"/api/v1/directory/sync-jobs/{body['job_id']}", headers=auth_headers(Role.AUDITOR)).get_json()
    assert (read["job_id"], read["state"]) == (body["job_id"], "pending")


def test_the_cli_relays_what_waits_and_shows_a_job(tasks, app, session, fast_path_paused, monkeypatch):
    from click.testing import CliRunner

    import govern
    from govern.cli import main

    monkeypatch.setattr(govern, "create_app", lambda *args, **kwargs: app)
    monkeypatch.setenv("GOVERN_DATABASE_URL", app_services.settings(app).effective_database_url)
    monkeypatch.setenv("GOVERN_SECRET_KEY", app.config["SECRET_KEY"])
    job_id = enqueue_after_commit(session, tasks.count, 9).job_id
    session.commit()
    waiting = CliRunner().invoke(main, ["jobs", "show", job_id])
    assert waiting.exit_code == 0 and "tests.outbox.count  pending  attempts=0" in waiting.output and "not run yet" in waiting.output
    relayed = CliRunner().invoke(main, ["jobs", "relay"])
    assert (relayed.exit_code, relayed.output) == (0, "delivered 1; still waiting for the broker: 0\n")
    assert ran == [9]
    shown = CliRunner().invoke(main, ["jobs", "show", job_id])
    assert "  done  attempts=1" in shown.output and "  ran " in shown.output
    unknown = CliRunner().invoke(main, ["jobs", "show", "nope"])
    assert (unknown.exit_code, unknown.output) == (1, "Error: no job nope\n")

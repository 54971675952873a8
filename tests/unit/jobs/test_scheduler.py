"""Embedded mode runs the beat schedule in-process, so tokens refresh with no worker or beat running; starting it
never verifies the whole audit trail (that waits for its period, remembered across restarts)."""

from __future__ import annotations

import json

import pytest

from govern import jobs
from govern.jobs import start_in_process_scheduler
from tests.support.clock import FakeClock

VERIFY = "govern.audit.verify_chain"


@pytest.fixture
def state_file(tmp_path, monkeypatch):
    path = tmp_path / "scheduler-state.json"
    monkeypatch.setattr(jobs, "SCHEDULE_STATE_FILE", str(path))  # an absolute name: instance_path / it is itself
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _run_scheduler(app, monkeypatch, until, clock: FakeClock) -> list[str]:
    """Run the scheduler thread on a clock that stands still until `until(ran)` holds, then two whole ticks more (each
    tick reads the clock once per schedule entry): what ran once must not have run again."""
    celery = app.extensions["celery"]
    ran: list[str] = []
    for name in {entry["task"] for entry in celery.conf.beat_schedule.values()}:
        monkeypatch.setattr(celery.tasks[name], "apply", lambda *a, _name=name, **k: ran.append(_name))
    stop = start_in_process_scheduler(app, interval_seconds=0.05, clock=clock)
    try:
        clock.wait_for(lambda: until(ran))
        two_ticks_on = clock.reads + 2 * len(celery.conf.beat_schedule)
        clock.wait_for(lambda: clock.reads >= two_ticks_on)
    finally:
        stop.set()
    return ran


def test_scheduler_runs_every_scheduled_task_but_the_whole_trail_verification_at_start(app, monkeypatch, state_file, clock):
    scheduled = {entry["task"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert {"govern.broker.refresh_due", VERIFY, "govern.credentials.close_expired_checkouts"} <= scheduled
    ran = _run_scheduler(app, monkeypatch, lambda ran: set(ran) == scheduled - {VERIFY}, clock)
    assert set(ran) == scheduled - {VERIFY}
    assert VERIFY not in ran  # starting (every `govern serve` in embedded mode) is no reason to read the whole trail
    remembered = json.loads(state_file.read_text())
    assert list(remembered) == ["verify-audit-chain"]  # its clock started now, and survives a restart


def test_the_verification_runs_when_its_period_has_passed_since_the_last_run_even_across_restarts(
    app, monkeypatch, state_file, clock,
):
    state_file.write_text(json.dumps({"verify-audit-chain": clock.now - 25 * 3600}))
    ran = _run_scheduler(app, monkeypatch, lambda ran: VERIFY in ran, clock)
    assert ran.count(VERIFY) == 1  # daily: not again within the test
    assert json.loads(state_file.read_text())["verify-audit-chain"] > clock.now - 60


def test_a_restart_within_the_period_does_not_verify_again(app, monkeypatch, state_file, clock):
    state_file.write_text(json.dumps({"verify-audit-chain": clock.now - 3600}))
    ran = _run_scheduler(app, monkeypatch, lambda ran: "govern.broker.refresh_due" in ran, clock)
    assert VERIFY not in ran

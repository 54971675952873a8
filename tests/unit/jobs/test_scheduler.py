"""Embedded mode runs the beat schedule in-process, so tokens refresh with no worker or beat running; starting it
never verifies the whole audit trail (that waits for its period, remembered across restarts)."""

from __future__ import annotations

import json
import time

import pytest

from govern import jobs
from govern.jobs import start_in_process_scheduler

VERIFY = "govern.audit.verify_chain"


@pytest.fixture
def state_file(tmp_path, monkeypatch):
    path = tmp_path / "scheduler-state.json"
    monkeypatch.setattr(jobs, "SCHEDULE_STATE_FILE", str(path))  # an absolute name: instance_path / it is itself
    return path


def _run_scheduler(app, monkeypatch, until) -> list[str]:
    celery = app.extensions["celery"]
    ran: list[str] = []
    for name in {entry["task"] for entry in celery.conf.beat_schedule.values()}:
        monkeypatch.setattr(celery.tasks[name], "apply", lambda *a, _name=name, **k: ran.append(_name))
    stop = start_in_process_scheduler(app, interval_seconds=0.05)
    try:
        deadline = time.monotonic() + 5
        while not until(ran) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
    return ran


def test_scheduler_runs_every_scheduled_task_but_the_whole_trail_verification_at_start(app, monkeypatch, state_file):
    scheduled = {entry["task"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert {"govern.broker.refresh_due", VERIFY, "govern.credentials.close_expired_checkouts"} <= scheduled
    ran = _run_scheduler(app, monkeypatch, lambda ran: set(ran) == scheduled - {VERIFY})
    assert set(ran) == scheduled - {VERIFY}
    assert VERIFY not in ran  # starting (every `govern serve` in embedded mode) is no reason to read the whole trail
    remembered = json.loads(state_file.read_text())
    assert list(remembered) == ["verify-audit-chain"]  # its clock started now, and survives a restart


def test_the_verification_runs_when_its_period_has_passed_since_the_last_run_even_across_restarts(app, monkeypatch, state_file):
    state_file.write_text(json.dumps({"verify-audit-chain": time.time() - 25 * 3600}))
    ran = _run_scheduler(app, monkeypatch, lambda ran: VERIFY in ran)
    assert ran.count(VERIFY) == 1  # daily: not again within the test
    assert json.loads(state_file.read_text())["verify-audit-chain"] > time.time() - 60


def test_a_restart_within_the_period_does_not_verify_again(app, monkeypatch, state_file):
    state_file.write_text(json.dumps({"verify-audit-chain": time.time() - 3600}))
    ran = _run_scheduler(app, monkeypatch, lambda ran: "govern.broker.refresh_due" in ran)
    assert VERIFY not in ran

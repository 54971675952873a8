"""Embedded mode runs the beat schedule in-process, so tokens refresh with no worker or beat running."""

from __future__ import annotations

import time

from govern.jobs import start_in_process_scheduler


def test_scheduler_runs_every_scheduled_task(app, monkeypatch):
    celery = app.extensions["celery"]
    ran: list[str] = []
    scheduled = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert {"govern.broker.refresh_due", "govern.audit.verify_chain", "govern.credentials.close_expired_checkouts"} <= scheduled
    for name in scheduled:
        monkeypatch.setattr(celery.tasks[name], "apply", lambda *a, _name=name, **k: ran.append(_name))
    stop = start_in_process_scheduler(app, interval_seconds=0.05)
    try:
        deadline = time.monotonic() + 5
        while set(ran) != scheduled and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
    assert set(ran) == scheduled
    assert ran.count("govern.audit.verify_chain") == 1  # daily: not again within the test

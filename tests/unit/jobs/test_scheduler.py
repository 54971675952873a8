"""Embedded mode runs the beat schedule in-process, so tokens refresh with no worker or beat running."""

from __future__ import annotations

import time

from govern.jobs import start_in_process_scheduler


def test_scheduler_runs_every_scheduled_task(app, monkeypatch):
    celery = app.extensions["celery"]
    ran: list[str] = []
    for name in ("govern.broker.refresh_due", "govern.audit.verify_chain"):
        monkeypatch.setattr(celery.tasks[name], "apply", lambda *a, _name=name, **k: ran.append(_name))
    stop = start_in_process_scheduler(app, interval_seconds=0.05)
    try:
        deadline = time.monotonic() + 5
        while len(set(ran)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
    assert set(ran) == {"govern.broker.refresh_due", "govern.audit.verify_chain"}
    assert ran.count("govern.audit.verify_chain") == 1  # daily: not again within the test

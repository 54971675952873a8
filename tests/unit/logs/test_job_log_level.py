"""A job that succeeded is a debug line: at the default level a person reading `make run`'s log sees requests, not
every scheduled job's success; failures stay visible."""

from __future__ import annotations

import logging

import pytest

from govern.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    root, trace = logging.getLogger(), logging.getLogger("celery.app.trace")
    saved = (root.handlers[:], root.level, trace.level)
    yield
    root.handlers[:], _, _ = saved
    root.setLevel(saved[1])
    trace.setLevel(saved[2])


def test_a_succeeded_job_is_not_logged_at_the_default_level_but_a_failed_one_is():
    configure_logging("INFO", "console")
    trace = logging.getLogger("celery.app.trace")

    assert not trace.isEnabledFor(logging.INFO)  # "Task ... succeeded in 0.01s"
    assert trace.isEnabledFor(logging.ERROR)  # "Task ... raised ..."


def test_debugging_shows_every_job():
    configure_logging("DEBUG", "json")

    assert logging.getLogger("celery.app.trace").isEnabledFor(logging.INFO)

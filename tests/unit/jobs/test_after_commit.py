"""Tasks are sent only after the transaction that asked for them commits."""

from __future__ import annotations

from govern.extensions import celery
from govern.jobs import enqueue_after_commit

sent: list[int] = []


@celery.task(name="tests.remember")
def remember(value: int) -> None:
    sent.append(value)


def test_task_waits_for_commit_and_is_dropped_on_rollback(session):
    sent.clear()
    enqueue_after_commit(session, remember, 1)
    assert sent == []
    session.commit()
    assert sent == [1]
    enqueue_after_commit(session, remember, 2)
    session.rollback()
    session.commit()
    assert sent == [1]


def test_task_arguments_must_be_json(session):
    import pytest
    from kombu.exceptions import EncodeError

    from govern.secret_value import SecretValue

    with pytest.raises((EncodeError, TypeError)):
        remember.apply_async(args=[SecretValue("canary")], serializer="json")

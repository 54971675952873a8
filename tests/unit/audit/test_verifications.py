"""The verification a reader asks for: the latest kept whole-trail verification and the events since it, checked now;
a break in those events, or a head moved back, is found; a break before it waits for the next whole verification."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern.audit import checkpoints
from govern.audit import trail as audit_trail
from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.audit.service import record
from govern.audit.signing import LocalKeySigner
from govern.audit.verifications import keep, latest, verify_for_reader
from tests import factories
from tests.support.audit import tamper


@pytest.fixture
def signer(tmp_path):
    return LocalKeySigner(tmp_path / "keys")


@pytest.fixture
def keys(session, signer):
    return audit_trail.trusted_keys_from_signer(session, signer)


@pytest.fixture
def trail(session, actor, signer):
    for n in range(8):
        factories.account(session, actor, handle=f"vr_{n}", display_name=f"تحقق {n}")
    checkpoints.sign_checkpoint(session, signer)
    session.commit()



def _kept(session, keys):
    row = keep(session, Actor.system("tests"), audit_trail.verify_stored_trail(session, keys))
    session.commit()
    return row


def _head_seq(session) -> int:
    return session.scalar(sa.select(sa.func.max(AuditEvent.seq)))


def test_without_a_kept_verification_the_reader_gets_the_whole_trail_walked(session, trail, keys):
    answer = verify_for_reader(session, keys)
    assert answer.ok and answer.whole_trail_verified_at is None
    assert answer.events_checked == answer.events_checked_now == _head_seq(session)


def test_a_kept_verification_is_audited_and_the_reader_walks_only_the_events_since(session, actor, trail, keys):
    kept = _kept(session, keys)
    assert kept.ok and kept.last_seq is not None
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "audit:trail:verify"))
    assert event.seq == kept.last_seq + 1 and event.summary["events_checked"] == kept.events_checked
    for n in range(3):
        record(session, actor, "tests:thing:touch", "thing", n)
    session.commit()
    answer = verify_for_reader(session, keys)
    assert answer.ok, answer.first_failure
    assert answer.events_checked_now == 4  # the verification's own event and three more
    assert answer.events_checked == kept.events_checked + 4 == _head_seq(session)
    assert answer.whole_trail_verified_by == "system:tests" and "verified whole" in answer.notes[0]
    assert latest(session).id == kept.id


def test_a_break_after_the_kept_verification_is_found_now(session, actor, trail, keys):
    kept = _kept(session, keys)
    record(session, actor, "tests:thing:touch", "thing", 1)
    session.commit()
    tamper(session, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = :seq", seq=kept.last_seq + 2)
    answer = verify_for_reader(session, keys)
    assert not answer.ok and f"event {kept.last_seq + 2}" in answer.first_failure


def test_deleting_the_newest_events_is_found_now(session, actor, trail, keys):
    _kept(session, keys)
    record(session, actor, "tests:thing:touch", "thing", 1)
    session.commit()
    newest = _head_seq(session)
    tamper(session, "DELETE FROM audit_events WHERE seq = :seq", seq=newest)
    answer = verify_for_reader(session, keys)
    assert not answer.ok and "sealed head" in answer.first_failure


def test_a_break_before_it_is_found_by_the_next_whole_verification_and_then_shown_to_readers(session, trail, keys):
    _kept(session, keys)
    tamper(session, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3")
    assert verify_for_reader(session, keys).ok  # said plainly in the notes: events 1-N were verified at that time
    broken = _kept(session, keys)  # the daily job or `govern audit verify`
    assert not broken.ok
    answer = verify_for_reader(session, keys)
    assert not answer.ok and "event 3" in answer.first_failure and answer.whole_trail_verified_at is None

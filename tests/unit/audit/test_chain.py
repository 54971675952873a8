"""The audit chain: every change is recorded, and any tampering is named by `govern audit verify`."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from govern.audit.chain import ENCODING_VERSION, GENESIS_HASH, ChainedFields, UnauditableValue, canonical_bytes
from govern.audit.models import AuditChainHead, AuditEvent
from govern.audit.service import record
from govern.audit.trail import verify_chain
from govern.secret_value import SecretValue
from tests import factories
from tests.support.audit import tamper


@pytest.fixture
def chain(session, actor):
    for n in range(5):
        factories.account(session, actor, handle=f"chain_{n}", display_name=f"سلسلة {n}")
    session.flush()
    return session



def _seqs(session) -> list[int]:
    return list(session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)))


def test_intact_chain_verifies(chain):
    result = verify_chain(chain)
    assert result.ok, result.first_break
    assert result.checked == len(_seqs(chain)) >= 5
    first = chain.get(AuditEvent, 1)
    assert first.prev_hash == GENESIS_HASH


def test_each_event_links_to_the_one_before(chain):
    events = list(chain.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))
    for earlier, later in zip(events, events[1:]):
        assert later.prev_hash == earlier.hash
    head = chain.get(AuditChainHead, 1)
    assert (head.last_seq, head.last_hash) == (events[-1].seq, events[-1].hash)


def test_edited_event_is_caught(chain):
    target = _seqs(chain)[2]
    tamper(chain, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = :seq", seq=target)
    result = verify_chain(chain)
    assert not result.ok
    assert result.first_break.seq == target
    assert "edited" in result.first_break.reason


@pytest.mark.parametrize("position", ["first", "middle"])
def test_deleted_event_is_caught(chain, position):
    seqs = _seqs(chain)
    victim = seqs[0] if position == "first" else seqs[len(seqs) // 2]
    tamper(chain, "DELETE FROM audit_events WHERE seq = :seq", seq=victim)
    result = verify_chain(chain)
    assert not result.ok
    assert result.first_break.seq == victim + 1


def test_deleted_last_event_is_caught(chain):
    last = _seqs(chain)[-1]
    tamper(chain, "DELETE FROM audit_events WHERE seq = :seq", seq=last)
    result = verify_chain(chain)
    assert not result.ok
    assert result.first_break.seq is None
    assert f"ends at event {last - 1}" in result.first_break.reason


def test_reordered_events_are_caught(chain):
    a, b = _seqs(chain)[1:3]
    tamper(chain, "UPDATE audit_events SET seq = -1 WHERE seq = :a", a=a)
    tamper(chain, "UPDATE audit_events SET seq = :a WHERE seq = :b", a=a, b=b)
    tamper(chain, "UPDATE audit_events SET seq = :b WHERE seq = -1", b=b)
    result = verify_chain(chain)
    assert not result.ok
    assert result.first_break.seq == a


def test_rewritten_event_with_recomputed_hash_breaks_the_next_link(chain):
    from govern.audit.chain import event_hash

    target = _seqs(chain)[1]
    event = chain.get(AuditEvent, target)
    forged = ChainedFields(event.seq, event.occurred_at, "forger", event.action, event.target_type, event.target_id,
                           event.summary, event.request_id, event.client_addr, event.encoding_version, event.prev_hash)
    tamper(chain, "UPDATE audit_events SET actor = 'forger', hash = :h WHERE seq = :seq", h=event_hash(forged), seq=target)
    result = verify_chain(chain)
    assert not result.ok
    assert result.first_break.seq == target + 1


def test_database_refuses_updates_and_deletes_of_audit_rows(chain):
    if chain.connection().dialect.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with chain.begin_nested():
            chain.execute(sa.text("DELETE FROM audit_events WHERE seq = 1"))


def test_secret_values_never_enter_an_event(session, actor):
    with pytest.raises(UnauditableValue):
        record(session, actor, "accounts:account:update", "account", 1, after={"token": SecretValue("canary-token")})


def test_action_names_must_be_domain_subject_verb(session, actor):
    with pytest.raises(ValueError):
        record(session, actor, "created account", "account", 1)


def test_a_batch_of_events_chains_exactly_like_single_ones(session, actor):
    from govern.audit.service import EventSpec, record_many

    record(session, actor, "people:person:create", "person", 1, after={"name": "before the batch"})
    written = record_many(session, actor, [EventSpec("people:person:create", "person", n, after={"name": f"نور {n}"}) for n in range(2500)])
    record(session, actor, "people:person:create", "person", 2, after={"name": "after the batch"})
    assert written == 2500
    result = verify_chain(session)
    assert result.ok, result.first_break
    assert result.checked >= 2502


def test_deferred_events_are_appended_in_order_when_the_block_ends_and_chain_like_single_ones(session, actor):
    from govern.actor import Actor
    from govern.audit.service import deferred

    author = Actor("console_user:9", "Dana", None, None)
    record(session, actor, "people:person:create", "person", 1)
    before = session.scalar(sa.select(AuditChainHead.last_seq))
    with deferred(session):
        assert record(session, author, "broker:action:publish", "account", 3, text="مرحبا") is None
        record(session, actor, "publishing:post_target:publish", "post", 4)
        assert session.scalar(sa.select(AuditChainHead.last_seq)) == before  # nothing appended yet
    rows = session.execute(sa.select(AuditEvent.seq, AuditEvent.actor, AuditEvent.action)
                           .where(AuditEvent.seq > before).order_by(AuditEvent.seq)).all()
    assert [(row.actor, row.action) for row in rows] == [("console_user:9", "broker:action:publish"),
                                                         (actor.id, "publishing:post_target:publish")]
    assert [row.seq for row in rows] == [before + 1, before + 2]
    record(session, actor, "people:person:create", "person", 2)
    result = verify_chain(session)
    assert result.ok, result.first_break


def test_a_deferred_block_that_raises_appends_nothing(session, actor):
    from govern.audit.service import deferred

    before = session.scalar(sa.select(AuditChainHead.last_seq))
    with pytest.raises(RuntimeError), deferred(session):
        record(session, actor, "people:person:create", "person", 1)
        raise RuntimeError("the batch failed")
    assert session.scalar(sa.select(AuditChainHead.last_seq)) == before
    record(session, actor, "people:person:create", "person", 2)  # and recording works normally again
    assert session.scalar(sa.select(AuditChainHead.last_seq)) == before + 1


@pytest.mark.parametrize("request_id, client_addr", [(None, None), ("req-1", "2001:db8::1")])
def test_canonical_parts_join_to_the_sorted_compact_json_of_the_event(request_id, client_addr):
    fields = ChainedFields(
        seq=90210, occurred_at=datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=timezone.utc), actor='console_user:"7"',
        action="broker:action:publish", target_type="account", target_id="12",
        summary={"z": ["رقم", None, 1.5], "a": {"ש": "\\n"}}, request_id=request_id, client_addr=client_addr,
        encoding_version=ENCODING_VERSION, prev_hash="ab" * 32,
    )
    document = {
        "v": ENCODING_VERSION, "seq": 90210, "occurred_at": "2026-11-22T01:02:03.456789Z", "actor": fields.actor,
        "action": fields.action, "target": ["account", "12"], "summary": fields.summary, "request_id": request_id,
        "client_addr": client_addr, "prev_hash": "ab" * 32,
    }
    assert canonical_bytes(fields) == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

"""Signed checkpoints: every way of tampering with the trail is named by the verifier, live and on a bundle."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa

from govern.audit import checkpoints
from govern.audit import trail as audit_trail
from govern.audit.chain import canonical_time
from govern.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditSigningKey
from govern.audit.service import record
from govern.audit.signing import LocalKeySigner, SigningKeyMissing, checkpoint_message, signature_valid
from govern.audit.verification import EventRow, SignedCheckpoint, TrustedKey, verify_trail
from govern.db import utcnow
from govern.evidence import bundle
from tests import factories
from tests.support.audit import tamper


@pytest.fixture
def signer(tmp_path):
    return LocalKeySigner(tmp_path / "keys")


@pytest.fixture
def trail(session, actor, signer):
    """Ten events, a checkpoint, five more events, a checkpoint: the head is sealed."""
    for n in range(10):
        factories.account(session, actor, handle=f"cp_{n}", display_name=f"נקודה {n}")
    checkpoints.sign_checkpoint(session, signer)
    for n in range(5):
        record(session, actor, "tests:thing:touch", "thing", n, note="عربي")
    checkpoints.sign_checkpoint(session, signer)
    session.flush()
    return session



def _verify(session, signer):
    return audit_trail.verify_stored_trail(session, audit_trail.trusted_keys_from_signer(session, signer))


def _head(session) -> AuditChainHead:
    return session.get(AuditChainHead, 1)


def _checkpoint_seqs(session) -> list[int]:
    return list(session.scalars(sa.select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))


def test_a_sealed_trail_verifies_with_every_checkpoint(trail, signer):
    report = _verify(trail, signer)
    assert report.ok, report.failure
    assert report.checkpoints_checked == len(_checkpoint_seqs(trail)) >= 2
    assert report.last_seq == _head(trail).last_seq
    assert not any("not yet covered" in note for note in report.notes)


def test_the_signature_covers_seq_head_time_and_key(trail, signer):
    latest = audit_trail.latest_checkpoint(trail)
    key = {k.key_id: k for k in signer.keys()}[latest.key_id]
    signature = base64.b64decode(latest.signature)
    assert signature_valid(key.public_key, signature, checkpoint_message(latest.seq, latest.head_hash, latest.signed_at, latest.key_id))
    assert not signature_valid(key.public_key, signature, checkpoint_message(latest.seq - 1, latest.head_hash, latest.signed_at, latest.key_id))
    assert not signature_valid(key.public_key, signature,
                               checkpoint_message(latest.seq, latest.head_hash, latest.signed_at + timedelta(seconds=1), latest.key_id))


def test_nothing_to_sign_when_the_head_is_sealed(trail, signer):
    assert checkpoints.sign_checkpoint(trail, signer) is None


def test_edited_event_is_named(trail, signer):
    target = _checkpoint_seqs(trail)[-1] - 2
    tamper(trail, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = :seq", seq=target)
    report = _verify(trail, signer)
    assert report.failure.seq == target and "edited" in report.failure.reason


def test_edited_and_rehashed_trail_is_caught_by_the_checkpoint(trail, signer):
    """An administrator who re-hashes every event after an edit and moves the head still cannot forge the signature."""
    first_checkpoint = _checkpoint_seqs(trail)[0]
    target = first_checkpoint - 3
    rows = list(trail.scalars(sa.select(AuditEvent).where(AuditEvent.seq >= target).order_by(AuditEvent.seq)))
    prev = rows[0].prev_hash
    for row in rows:
        event = EventRow(row.seq, canonical_time(row.occurred_at), "forger" if row.seq == target else row.actor,
                         row.action, row.target_type, row.target_id, row.summary, row.request_id, row.client_addr,
                         row.encoding_version, prev, "")
        from govern.audit.verification import computed_hash

        digest = computed_hash(event)
        tamper(trail, "UPDATE audit_events SET actor = :actor, prev_hash = :prev, hash = :hash WHERE seq = :seq",
                actor=event.actor, prev=prev, hash=digest, seq=row.seq)
        prev = digest
    tamper(trail, "UPDATE audit_chain_head SET last_hash = :hash", hash=prev)
    report = _verify(trail, signer)
    assert report.failure.seq == first_checkpoint
    assert "sealed a different hash" in report.failure.reason


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_deleted_event_is_named(trail, signer, which):
    seqs = list(trail.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)))
    victim = {"first": seqs[0], "middle": seqs[len(seqs) // 2], "last": seqs[-1]}[which]
    tamper(trail, "DELETE FROM audit_events WHERE seq = :seq", seq=victim)
    report = _verify(trail, signer)
    assert not report.ok
    if which == "last":
        assert "trail ends before it" in report.failure.reason and report.failure.seq == victim
    else:
        assert report.failure.seq == victim + 1 and "missing" in report.failure.reason


def test_reordered_events_are_named(trail, signer):
    a, b = 4, 5
    tamper(trail, "UPDATE audit_events SET seq = -1 WHERE seq = :a", a=a)
    tamper(trail, "UPDATE audit_events SET seq = :a WHERE seq = :b", a=a, b=b)
    tamper(trail, "UPDATE audit_events SET seq = :b WHERE seq = -1", b=b)
    report = _verify(trail, signer)
    assert report.failure.seq == a


def test_truncated_tail_after_a_checkpoint_is_caught_even_with_the_head_moved_back(trail, signer):
    last_checkpoint = _checkpoint_seqs(trail)[-1]
    keep = last_checkpoint - 3
    survivor = trail.get(AuditEvent, keep)
    tamper(trail, "DELETE FROM audit_events WHERE seq > :keep", keep=keep)
    tamper(trail, "UPDATE audit_chain_head SET last_seq = :seq, last_hash = :hash", seq=keep, hash=survivor.hash)
    report = _verify(trail, signer)
    assert report.failure.seq == last_checkpoint and "ends before it" in report.failure.reason


def test_a_swapped_signing_key_is_not_trusted(trail, signer, tmp_path):
    """A forger replaces the published key and re-signs every checkpoint: the signer's own keys refuse them."""
    forger = LocalKeySigner(tmp_path / "forger")
    forged_key = forger.create([])
    for row in trail.scalars(sa.select(AuditCheckpoint)):
        _, signature = forger.sign(checkpoint_message(row.seq, row.head_hash, row.signed_at, row.key_id))
        tamper(trail, "UPDATE audit_checkpoints SET signature = :s WHERE id = :id",
                s=base64.b64encode(signature).decode(), id=row.id)
    tamper(trail, "UPDATE audit_signing_keys SET public_key = :k", k=forged_key.public_key_b64)
    report = _verify(trail, signer)
    assert report.failure.seq == _checkpoint_seqs(trail)[0] and "does not verify" in report.failure.reason


def test_a_checkpoint_outside_its_keys_validity_fails(trail, signer):
    trail.execute(sa.update(AuditSigningKey).values(valid_until=utcnow() - timedelta(days=1),
                                                    valid_from=utcnow() - timedelta(days=2)))
    report = _verify(trail, signer)
    assert "outside the validity" in report.failure.reason


def test_rotation_keeps_old_checkpoints_verifiable_and_is_audited(trail, signer, actor):
    before = signer.keys()[-1].key_id
    new = checkpoints.rotate_key(trail, actor, signer, "yearly rotation")
    assert new.key_id != before
    rows = {row.key_id: row for row in trail.scalars(sa.select(AuditSigningKey))}
    assert rows[before].valid_until is not None and rows[new.key_id].valid_until is None
    assert audit_trail.latest_checkpoint(trail).key_id == new.key_id
    event = trail.scalars(sa.select(AuditEvent).where(AuditEvent.action == "audit:signing_key:rotate")).one()
    assert event.summary["after"]["key_id"] == new.key_id and event.summary["reason"] == "yearly rotation"
    report = _verify(trail, signer)
    assert report.ok, report.failure
    assert {c.key_id for c in trail.scalars(sa.select(AuditCheckpoint))} >= {before, new.key_id}


def test_checkpoint_due_by_count_and_by_time(trail, signer, actor):
    policy = checkpoints.CheckpointPolicy(every_events=3, every_minutes=10)
    assert not checkpoints.checkpoint_due(trail, policy)
    record(trail, actor, "tests:thing:touch", "thing", 1)
    assert not checkpoints.checkpoint_due(trail, policy)
    assert checkpoints.checkpoint_due(trail, policy, now=utcnow() + timedelta(minutes=11))
    record(trail, actor, "tests:thing:touch", "thing", 2)
    record(trail, actor, "tests:thing:touch", "thing", 3)
    assert checkpoints.checkpoint_due(trail, policy)


def test_a_range_is_verified_and_its_start_is_said_to_be_trusted(trail, signer):
    report = audit_trail.verify_stored_trail(trail, audit_trail.trusted_keys_from_signer(trail, signer), from_seq=3, to_seq=8)
    assert report.ok and report.events_checked == 6 and report.first_seq == 3
    assert any("taken on trust" in note for note in report.notes)


# --- the same checks on an exported bundle -------------------------------------------------------


def _bundle_from(session, signer) -> bytes:
    events = list(audit_trail.stored_events(session))
    files = {
        bundle.EVENTS: b"".join(orjson.dumps(e.as_json()) + b"\n" for e in events),
        bundle.CHECKPOINTS: b"".join(orjson.dumps(bundle.checkpoint_json(c)) + b"\n" for c in audit_trail.stored_checkpoints(session)),
        bundle.KEYS: orjson.dumps({"keys": [bundle.key_json(k) for k in audit_trail.trusted_keys_from_signer(session, signer)]}),
    }
    return bundle.write_bundle(files, {"events": {"first_seq": events[0].seq}}, "test bundle", sign=signer.sign)


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rebuilt(data: bytes, sign=None, **changed: bytes) -> bytes:
    """The bundle with some audit files replaced and the manifest recomputed, as a careful forger would."""
    files = {name: content for name, content in _files(data).items() if name.startswith("audit/")}
    files.update({name.replace("__", "/").replace("_jsonl", ".jsonl").replace("_json", ".json"): content
                  for name, content in changed.items()})
    return bundle.write_bundle(files, {"events": {"first_seq": 1}}, "test bundle", sign=sign)


def _lines(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in _files(data)[bundle.EVENTS].splitlines()]


def _jsonl(items) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def test_an_exported_bundle_verifies_offline(trail, signer):
    data = _bundle_from(trail, signer)
    report = bundle.verify_bundle(data, audit_trail.trusted_keys_from_signer(trail, signer))
    assert report.ok, report.failure
    assert report.events_checked == _head(trail).last_seq and report.checkpoints_checked >= 2


def test_a_bundle_cut_short_at_a_checkpoint_fails_the_manifest_signature(trail, signer):
    """Dropping the last sealed segment leaves a consistent chain; only the signed manifest shows the cut."""
    data = _bundle_from(trail, signer)
    first_checkpoint = min(orjson.loads(line)["seq"] for line in _files(data)[bundle.CHECKPOINTS].splitlines())
    events = [line for line in _lines(data) if line["seq"] <= first_checkpoint]
    sealed = [orjson.loads(line) for line in _files(data)[bundle.CHECKPOINTS].splitlines()
              if orjson.loads(line)["seq"] <= first_checkpoint]
    cut = _rebuilt(data, audit__events_jsonl=_jsonl(events), audit__checkpoints_jsonl=_jsonl(sealed))
    keys = audit_trail.trusted_keys_from_signer(trail, signer)
    assert "manifest.sig is missing" in bundle.verify_bundle(cut, keys).failure.reason
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in _files(cut).items():
            archive.writestr(name, content)
        archive.writestr(bundle.MANIFEST_SIGNATURE, _files(data)[bundle.MANIFEST_SIGNATURE])
    assert "the manifest was changed" in bundle.verify_bundle(buffer.getvalue(), keys).failure.reason


def test_a_changed_file_fails_the_manifest(trail, signer):
    data = _bundle_from(trail, signer)
    files = _files(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content.replace(b"cp_1", b"cp_X") if name == bundle.EVENTS else content)
    with pytest.raises(bundle.BundleError, match="audit/events.jsonl does not match its SHA-256"):
        bundle.verify_bundle(buffer.getvalue())


@pytest.mark.parametrize("tampering", ["edit", "delete_first", "delete_middle", "delete_last", "reorder", "truncate_tail"])
def test_tampering_with_a_bundle_is_named_even_with_a_recomputed_manifest(trail, signer, tampering):
    data = _bundle_from(trail, signer)
    lines = _lines(data)
    if tampering == "edit":
        lines[3]["actor"] = "forger"
        expected_seq, expected = lines[3]["seq"], "edited"
    elif tampering == "delete_first":
        lines = lines[1:]
        expected_seq, expected = lines[0]["seq"], "missing"
    elif tampering == "delete_middle":
        expected_seq, expected = lines[5]["seq"] + 1, "missing"
        del lines[5]
    elif tampering == "delete_last":
        expected_seq, expected = lines[-1]["seq"], "ends before it"
        lines = lines[:-1]
    elif tampering == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
        expected_seq, expected = lines[2]["seq"], "missing or out of order"
    else:
        last_checkpoint = max(orjson.loads(line)["seq"] for line in _files(data)[bundle.CHECKPOINTS].splitlines())
        lines = [line for line in lines if line["seq"] <= last_checkpoint - 2]
        expected_seq, expected = last_checkpoint, "ends before it"
    forged = _rebuilt(data, audit__events_jsonl=_jsonl(lines))
    report = bundle.verify_bundle(forged, audit_trail.trusted_keys_from_signer(trail, signer))
    assert not report.ok
    assert report.failure.seq == expected_seq and expected in report.failure.reason


def test_a_bundle_with_swapped_keys_fails_against_the_keys_obtained_independently(trail, signer, tmp_path):
    data = _bundle_from(trail, signer)
    forger = LocalKeySigner(tmp_path / "forger")
    forged_key = forger.create([])
    forged_checkpoints = []
    for line in _files(data)[bundle.CHECKPOINTS].splitlines():
        checkpoint = orjson.loads(line)
        checkpoint["key_id"] = forged_key.key_id
        message = checkpoint_message(checkpoint["seq"], checkpoint["head_hash"],
                                     bundle._time(checkpoint["signed_at"]), forged_key.key_id)
        checkpoint["signature"] = base64.b64encode(forger.sign(message)[1]).decode()
        forged_checkpoints.append(checkpoint)
    forged_keys = {"keys": [{"key_id": forged_key.key_id, "public_key": forged_key.public_key_b64}]}
    forged = _rebuilt(data, sign=forger.sign, audit__checkpoints_jsonl=_jsonl(forged_checkpoints),
                      audit__keys_json=orjson.dumps(forged_keys))
    assert bundle.verify_bundle(forged).ok  # consistent on its own terms...
    report = bundle.verify_bundle(forged, audit_trail.trusted_keys_from_signer(trail, signer))
    assert "not a trusted key" in report.failure.reason  # ...but not with the keys the auditor holds


def test_verify_trail_accepts_only_trusted_key_ids():
    checkpoint = SignedCheckpoint(1, "a" * 64, utcnow(), "local:x", b"\0" * 64)
    report = verify_trail([], checkpoints=[checkpoint], keys=[TrustedKey("local:y", b"\0" * 32)])
    assert "not a trusted key" in report.failure.reason


def test_reading_a_local_signers_keys_never_makes_one(tmp_path):
    """Like Transit: verification reads keys; only the signing path (create) writes a key file."""
    signer = LocalKeySigner(tmp_path / "keys")
    with pytest.raises(SigningKeyMissing):
        signer.keys()
    with pytest.raises(SigningKeyMissing):
        signer.sign(b"message")
    assert not (tmp_path / "keys").exists()
    made = signer.create([])
    assert [key.key_id for key in signer.keys()] == [made.key_id]

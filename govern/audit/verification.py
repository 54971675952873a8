"""Verifying an audit trail: the hash chain, every signed checkpoint, and the keys that signed them.

Pure functions over rows, so the live database and an exported evidence bundle are checked by the same code.
Events are re-encoded with orjson (fast) and, only when that hash differs, with the reference encoder of
govern.audit.chain (orjson writes a few floats differently); an edited event fails both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson

from govern.audit.chain import ENCODING_VERSION, GENESIS_HASH, ChainedFields, canonical_bytes, canonical_time
from govern.audit.signing import checkpoint_message, signature_valid


class EventRow(NamedTuple):
    """One stored event as verification reads it; `occurred_at` is the canonical time text, `summary` parsed JSON."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    summary: Any
    request_id: str | None
    client_addr: str | None
    encoding_version: int
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The event as an evidence bundle and the SIEM stream carry it: the canonical members plus its hash."""
        return {"seq": self.seq, "occurred_at": self.occurred_at, "actor": self.actor, "action": self.action,
                "target": [self.target_type, self.target_id], "summary": self.summary, "request_id": self.request_id,
                "client_addr": self.client_addr, "v": self.encoding_version, "prev_hash": self.prev_hash,
                "hash": self.hash}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventRow:
        target = data.get("target") or ["", ""]
        return cls(int(data["seq"]), str(data["occurred_at"]), data["actor"], data["action"], target[0], target[1],
                   data.get("summary"), data.get("request_id"), data.get("client_addr"), int(data.get("v", 0)),
                   data["prev_hash"], data["hash"])


def computed_hash(event: EventRow) -> str:
    canonical = orjson.dumps({
        "action": event.action, "actor": event.actor, "client_addr": event.client_addr, "occurred_at": event.occurred_at,
        "prev_hash": event.prev_hash, "request_id": event.request_id, "seq": event.seq, "summary": event.summary,
        "target": [event.target_type, event.target_id], "v": event.encoding_version,
    }, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _reference_hash(event: EventRow) -> str | None:
    try:
        moment = datetime.strptime(event.occurred_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        fields = ChainedFields(event.seq, moment, event.actor, event.action, event.target_type, event.target_id,
                               event.summary, event.request_id, event.client_addr, event.encoding_version, event.prev_hash)
        return hashlib.sha256(canonical_bytes(fields)).hexdigest()
    except (ValueError, TypeError):
        return None


def hash_matches(event: EventRow) -> bool:
    if event.encoding_version != ENCODING_VERSION:
        return False
    try:
        if computed_hash(event) == event.hash:
            return True
    except (TypeError, orjson.JSONEncodeError):
        pass
    return _reference_hash(event) == event.hash


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: bytes
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        return (self.valid_from is None or moment >= self.valid_from) and (self.valid_until is None or moment <= self.valid_until)


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class Failure:
    seq: int | None  # the event (or checkpoint position) where the trail first fails; None for the head
    reason: str

    def __str__(self) -> str:
        return f"{'event ' + str(self.seq) if self.seq is not None else 'chain head'}: {self.reason}"


@dataclass
class TrailReport:
    events_checked: int = 0
    checkpoints_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


def _check_checkpoint(checkpoint: SignedCheckpoint, hash_at_seq: str | None, keys: Mapping[str, TrustedKey]) -> str | None:
    key = keys.get(checkpoint.key_id)
    if key is None:
        return f"checkpoint at event {checkpoint.seq} is signed by key {checkpoint.key_id}, which is not a trusted key"
    message = checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at, checkpoint.key_id)
    if not signature_valid(key.public_key, checkpoint.signature, message):
        return f"the signature of the checkpoint at event {checkpoint.seq} does not verify with key {checkpoint.key_id}"
    if not key.valid_at(checkpoint.signed_at):
        return (f"the checkpoint at event {checkpoint.seq} was signed at {canonical_time(checkpoint.signed_at)}, "
                f"outside the validity of key {checkpoint.key_id}")
    if hash_at_seq is None:
        return (f"a signed checkpoint covers event {checkpoint.seq}, but the trail ends before it "
                "(events were deleted from the end)")
    if hash_at_seq != checkpoint.head_hash:
        return (f"the signed checkpoint at event {checkpoint.seq} sealed a different hash: events up to it were changed "
                "and re-hashed")
    return None


def verify_trail(events: Iterable[EventRow], *, checkpoints: Iterable[SignedCheckpoint], keys: Iterable[TrustedKey],
                 head: tuple[int, str] | None = None, from_seq: int = 1, to_seq: int | None = None) -> TrailReport:
    """Check the events (ordered by seq, from `from_seq` to `to_seq` or the end), the checkpoints in that range, and the head.

    The first failure by position in the trail is reported. Starting after event 1, the link to the event before
    `from_seq` is taken on trust (and said so in the notes); a checkpoint at or after that start still proves what follows.
    """
    report = TrailReport()
    trusted = {key.key_id: key for key in keys}
    in_range = sorted((c for c in checkpoints if c.seq >= from_seq and (to_seq is None or c.seq <= to_seq)),
                      key=lambda c: c.seq)
    wanted = {c.seq for c in in_range}
    sealed: dict[int, str] = {}
    expected_seq, expected_prev = from_seq, (GENESIS_HASH if from_seq == 1 else None)
    failure: Failure | None = None
    for event in events:
        if event.seq != expected_seq:
            failure = Failure(event.seq, f"expected event {expected_seq} here, found {event.seq} "
                                         "(an event is missing or out of order)")
            break
        if expected_prev is not None and event.prev_hash != expected_prev:
            failure = Failure(event.seq, "prev_hash does not match the hash of the event before it (deleted or reordered)")
            break
        if not hash_matches(event):
            failure = Failure(event.seq, "content does not match its hash (the event was edited)")
            break
        if report.first_seq is None:
            report.first_seq = event.seq
        report.events_checked += 1
        if event.seq in wanted:
            sealed[event.seq] = event.hash
        expected_seq, expected_prev = event.seq + 1, event.hash
    report.last_seq = expected_seq - 1 if report.events_checked else None
    report.last_hash = expected_prev
    for checkpoint in in_range:
        if failure is not None and checkpoint.seq >= (failure.seq or 0):
            break  # the event failure comes first in the trail
        problem = _check_checkpoint(checkpoint, sealed.get(checkpoint.seq), trusted)
        if problem is not None:
            failure = Failure(checkpoint.seq, problem)
            break
        report.checkpoints_checked += 1
    if failure is None and head is not None and to_seq is None:
        head_seq, head_hash = head
        if (report.last_seq or 0) != head_seq or (report.events_checked and expected_prev != head_hash):
            failure = Failure(None, f"the trail ends at event {report.last_seq or 0} but the sealed head is event "
                                    f"{head_seq} (events after it were deleted or the head was altered)")
    report.failure = failure
    if from_seq > 1:
        report.notes.append(f"the link from event {from_seq - 1} to event {from_seq} was taken on trust "
                            "(verify from event 1, or from a bundle that starts at a checkpoint, to prove it)")
    last_sealed = max(sealed, default=None)
    if report.ok and report.last_seq and (last_sealed is None or last_sealed < report.last_seq):
        since = (last_sealed or from_seq - 1) + 1
        report.notes.append(f"events {since}-{report.last_seq} are chained but not yet covered by a signed checkpoint")
    return report

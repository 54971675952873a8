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
    """One stored event as verification reads it; `occurred_at` is the canonical time text.

    `summary` is the parsed JSON, or a `RawJson` of the stored text (which is canonical for events written by govern,
    so it is hashed as it is, without parsing).
    """

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

    @property
    def summary_value(self) -> Any:
        return orjson.loads(self.summary.text) if isinstance(self.summary, RawJson) else self.summary

    def as_json(self) -> dict[str, Any]:
        """The event as an evidence bundle and the SIEM stream carry it: the canonical members plus its hash."""
        return {"seq": self.seq, "occurred_at": self.occurred_at, "actor": self.actor, "action": self.action,
                "target": [self.target_type, self.target_id], "summary": self.summary_value, "request_id": self.request_id,
                "client_addr": self.client_addr, "v": self.encoding_version, "prev_hash": self.prev_hash,
                "hash": self.hash}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventRow:
        target = data.get("target") or ["", ""]
        return cls(int(data["seq"]), str(data["occurred_at"]), data["actor"], data["action"], target[0], target[1],
                   data.get("summary"), data.get("request_id"), data.get("client_addr"), int(data.get("v", 0)),
                   data["prev_hash"], data["hash"])


class RawJson(NamedTuple):
    """JSON text as stored, hashed as it is when it is already canonical."""

    text: str


def computed_hash(row: tuple) -> str:
    """The event's hash from its canonical JSON, for an EventRow or a plain row in its field order (a str summary is
    the stored, canonical JSON text and is embedded as it is)."""
    seq, moment, actor, action, target_type, target_id, summary, request_id, addr, version, prev, _ = row
    if type(summary) is str:
        summary = orjson.Fragment(summary)
    elif type(summary) is RawJson:
        summary = orjson.Fragment(summary.text)
    return hashlib.sha256(orjson.dumps({
        "action": action, "actor": actor, "client_addr": addr, "occurred_at": moment, "prev_hash": prev,
        "request_id": request_id, "seq": seq, "summary": summary, "target": [target_type, target_id], "v": version,
    }, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _reference_hash(event: EventRow) -> str | None:
    try:
        moment = datetime.strptime(event.occurred_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        fields = ChainedFields(event.seq, moment, event.actor, event.action, event.target_type, event.target_id,
                               event.summary_value, event.request_id, event.client_addr, event.encoding_version, event.prev_hash)
        return hashlib.sha256(canonical_bytes(fields)).hexdigest()
    except (ValueError, TypeError, orjson.JSONDecodeError):
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

    @property
    def checked(self) -> int:
        return self.events_checked

    @property
    def first_break(self) -> Failure | None:
        return self.failure


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


@dataclass
class Segment:
    """What walking a contiguous run of events found: where it starts and ends, the hashes asked for, a failure."""

    from_seq: int
    first_seen_seq: int | None = None  # the first event the walk met, even one that failed
    first_prev_hash: str | None = None  # its prev_hash
    events_checked: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    sealed: dict[int, str] = field(default_factory=dict)
    failure: Failure | None = None


def _as_event(row: tuple) -> EventRow:
    event = EventRow(*row)
    return event._replace(summary=RawJson(event.summary)) if type(event.summary) is str else event


def walk_segment(events: Iterable[tuple], from_seq: int, expected_prev: str | None, wanted: frozenset[int]) -> Segment:
    """Check the events in order from `from_seq`: numbering, links (the first against `expected_prev` when given) and
    content; keep the hashes of the `wanted` seqs (where checkpoints are).

    Rows are EventRows or plain tuples in the same order (a str summary is the stored JSON text).
    """
    segment = Segment(from_seq)
    expected_seq = from_seq
    checked = 0
    for row in events:
        seq, prev, digest = row[0], row[10], row[11]
        if segment.first_seen_seq is None:
            segment.first_seen_seq, segment.first_prev_hash = seq, prev
        if seq != expected_seq:
            segment.failure = Failure(seq, f"expected event {expected_seq} here, found {seq} "
                                           "(an event is missing or out of order)")
            break
        if expected_prev is not None and prev != expected_prev:
            segment.failure = Failure(seq, "prev_hash does not match the hash of the event before it (deleted or reordered)")
            break
        if row[9] != ENCODING_VERSION or computed_hash(row) != digest:
            if not hash_matches(_as_event(row)):
                segment.failure = Failure(seq, "content does not match its hash (the event was edited)")
                break
        checked += 1
        if seq in wanted:
            segment.sealed[seq] = digest
        expected_seq, expected_prev = seq + 1, digest
    segment.events_checked = checked
    if checked:
        segment.last_seq, segment.last_hash = expected_seq - 1, expected_prev
    return segment


def join_segments(segments: list[Segment]) -> Segment:
    """Segments walked apart (in parallel), joined in order: each must start where the one before it ended.

    A failure at the seam is named as a sequential walk would name it: numbering first, then the link.
    """
    whole = Segment(segments[0].from_seq)
    for segment in segments:
        if segment.first_seen_seq is None:
            continue  # nothing stored in this run: the next run's numbering shows the gap
        if whole.first_seen_seq is None:
            whole.first_seen_seq, whole.first_prev_hash = segment.first_seen_seq, segment.first_prev_hash
        else:
            expected = (whole.last_seq or whole.from_seq - 1) + 1
            if segment.first_seen_seq != expected:
                whole.failure = Failure(segment.first_seen_seq, f"expected event {expected} here, found "
                                                                f"{segment.first_seen_seq} (an event is missing or out of order)")
                break
            if segment.first_prev_hash != whole.last_hash:
                whole.failure = Failure(segment.first_seen_seq, "prev_hash does not match the hash of the event before "
                                                                "it (deleted or reordered)")
                break
        whole.events_checked += segment.events_checked
        whole.sealed.update(segment.sealed)
        if segment.events_checked:
            whole.last_seq, whole.last_hash = segment.last_seq, segment.last_hash
        if segment.failure is not None:
            whole.failure = segment.failure
            break
    return whole


def checkpoints_in_range(checkpoints: Iterable[SignedCheckpoint], from_seq: int, to_seq: int | None) -> list[SignedCheckpoint]:
    return sorted((c for c in checkpoints if c.seq >= from_seq and (to_seq is None or c.seq <= to_seq)), key=lambda c: c.seq)


def verify_trail(events: Iterable[EventRow], *, checkpoints: Iterable[SignedCheckpoint], keys: Iterable[TrustedKey],
                 head: tuple[int, str] | None = None, from_seq: int = 1, to_seq: int | None = None) -> TrailReport:
    """Check the events (ordered by seq, from `from_seq` to `to_seq` or the end), the checkpoints in that range, and the head.

    The first failure by position in the trail is reported. Starting after event 1, the link to the event before
    `from_seq` is taken on trust (and said so in the notes); a checkpoint at or after that start still proves what follows.
    """
    in_range = checkpoints_in_range(checkpoints, from_seq, to_seq)
    segment = walk_segment(events, from_seq, GENESIS_HASH if from_seq == 1 else None, frozenset(c.seq for c in in_range))
    return conclude(segment, in_range, keys, head if to_seq is None else None)


def conclude(segment: Segment, in_range: list[SignedCheckpoint], keys: Iterable[TrustedKey],
             head: tuple[int, str] | None) -> TrailReport:
    """A walked trail judged against its checkpoints (signature, key validity, sealed hash) and the sealed head."""
    from_seq = segment.from_seq
    report = TrailReport(events_checked=segment.events_checked, first_seq=from_seq if segment.events_checked else None,
                         last_seq=segment.last_seq, last_hash=segment.last_hash)
    trusted = {key.key_id: key for key in keys}
    failure = segment.failure
    for checkpoint in in_range:
        if failure is not None and checkpoint.seq >= (failure.seq or 0):
            break  # the event failure comes first in the trail
        problem = _check_checkpoint(checkpoint, segment.sealed.get(checkpoint.seq), trusted)
        if problem is not None:
            failure = Failure(checkpoint.seq, problem)
            break
        report.checkpoints_checked += 1
    if failure is None and head is not None:
        head_seq, head_hash = head
        if (report.last_seq or 0) != head_seq or (report.events_checked and report.last_hash != head_hash):
            failure = Failure(None, f"the trail ends at event {report.last_seq or 0} but the sealed head is event "
                                    f"{head_seq} (events after it were deleted or the head was altered)")
    report.failure = failure
    if from_seq > 1:
        report.notes.append(f"the link from event {from_seq - 1} to event {from_seq} was taken on trust "
                            "(verify from event 1, or from a bundle that starts at a checkpoint, to prove it)")
    last_sealed = max(segment.sealed, default=None)
    if report.ok and report.last_seq and (last_sealed is None or last_sealed < report.last_seq):
        since = (last_sealed or from_seq - 1) + 1
        report.notes.append(f"events {since}-{report.last_seq} are chained but not yet covered by a signed checkpoint")
    return report

"""Exporting the evidence bundle of a period: every report, the period's audit events sealed by a signed checkpoint."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson
from sqlalchemy.orm import Session

from govern.audit.chain import canonical_time
from govern.audit.checkpoints import sign_checkpoint
from govern.audit.trail import seq_range_for_times, stored_checkpoints, stored_events, trusted_keys_from_signer
from govern.audit.models import AuditChainHead
from govern.actor import Actor
from govern.audit.service import record
from govern.audit.signing import CheckpointSigner
from govern.evidence import bundle

REPORT_FORMATS = ("csv", "json", "pdf")

README = """# govern evidence bundle

Period: {since} to {until} (UTC). Produced {generated_at} by {actor}, at audit chain head event {head_seq}
({head_hash}).

## What is in it

- `reports/` — every compliance report of the period (access, leavers, accounts, policy, credentials, reviews)
  in CSV, JSON and PDF. Each states its period, the data it is based on and the chain head it was produced at.
- `audit/events.jsonl` — the audit events of the period, one JSON object per line (events {first_seq}-{last_seq}),
  extended back to the signed checkpoint before the period (or the first event of the chain) so that its start is
  proven, and forward to the first signed checkpoint after it so that every event is covered by a signature.
- `audit/checkpoints.jsonl` — the signed checkpoints among those events.
- `audit/keys.json` — the public keys that signed them, with their validity periods.
- `manifest.json` — the SHA-256 of every file; `SHA256SUMS` — the same, for `sha256sum -c`;
  `manifest.sig` — an Ed25519 signature of the manifest by the audit signing key, so nothing can be left out.

## How to verify it without govern's database

1. Check the files: `sha256sum -c SHA256SUMS` (every line must say OK), and compare the hashes with
   `manifest.json`.
2. Obtain the public keys independently: from govern's published keys (`GET /api/v1/audit/keys`), from your
   own earlier copy, or from the Vault Transit key's public halves. Compare them with `audit/keys.json`.
3. Check every event. For each line of `audit/events.jsonl`, in order:
   - `seq` is one more than the previous line's, and `prev_hash` equals the previous line's `hash`;
   - `hash` is the hex SHA-256 of the UTF-8 bytes of the event's canonical JSON: an object with exactly the keys
     `action, actor, client_addr, occurred_at, prev_hash, request_id, seq, summary, target, v`, keys sorted at
     every level, no whitespace (`separators=(",", ":")`), non-ASCII characters written as themselves
     (Python: `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()`).
4. Check `manifest.sig`: `signature` (base64) is a valid Ed25519 signature, by the key named `key_id`, of the
   UTF-8 bytes `govern-evidence-manifest:v1\nsha256=<hex SHA-256 of manifest.json>\n`.
5. Check every checkpoint in `audit/checkpoints.jsonl`: the event with that `seq` has exactly that `hash`
   (`head_hash`), and `signature` (base64) is a valid Ed25519 signature, by the public key named `key_id`, of the
   UTF-8 bytes
   `govern-audit-checkpoint:v1\\nseq=<seq>\\nhead=<head_hash>\\nsigned_at=<signed_at>\\nkey=<key_id>\\n`,
   with `signed_at` inside that key's validity period.
6. The first event must be event 1 (its `prev_hash` is 64 zeros) or be sealed by a checkpoint, and the last event
   must be sealed by a checkpoint; then nothing in the bundle can have been changed, removed or reordered without
   the check failing.

With govern installed (no database needed), steps 1 and 3 to 6 are one command:

    govern audit verify --bundle this-bundle.zip --public-key keys-you-obtained.json
"""


EVENT_PIECE = 1000  # events gathered before a piece is written into the zip (and progress is told)


@dataclass
class ExportProgress:
    """How far an export is: units are events written plus report rows written (each report counted once per
    streamed format); `stage` says what is being written."""

    total: int = 0
    done: int = 0
    stage: str = "starting"


Progress = Callable[[ExportProgress], None]


@dataclass(frozen=True)
class ExportOutcome:
    events: int
    first_seq: int | None
    last_seq: int | None
    size: int
    sha256: str


@dataclass(frozen=True)
class Sealed:
    """What the short first transaction of an export decided: the events to carry and the checkpoints sealing them."""

    head_seq: int
    head_hash: str
    anchor: int
    sealing: int


def seal_for_export(session: Session, actor: Actor, signer: CheckpointSigner, since: datetime, until: datetime) -> Sealed:
    """Audit the export and sign the head, so the bundle ends on a checkpoint that covers the export itself.

    The caller commits right after: the chain head row stays locked only for this, not while the bundle is written."""
    record(session, actor, "audit:evidence:export", "evidence_bundle", f"{canonical_time(since)}/{canonical_time(until)}",
           since=since, until=until)
    session.flush()
    sign_checkpoint(session, signer)
    head = session.get(AuditChainHead, 1, populate_existing=True)
    first, last = seq_range_for_times(session, since, until)
    anchor = next((c.seq for c in reversed(stored_checkpoints(session, 1, first)) if c.seq <= first), 1)
    later = stored_checkpoints(session, max(last or first, first))
    sealing = later[0].seq if later else head.last_seq
    return Sealed(head.last_seq, head.last_hash, anchor, sealing)


def _report_rows(report) -> int:
    return sum(section.count for section in report.sections)


def write_evidence(session: Session, signer: CheckpointSigner, settings, actor: Actor, since: datetime, until: datetime,
                   sealed: Sealed, target: BinaryIO, progress: Progress | None = None) -> ExportOutcome:
    """Write the bundle into `target` as it is read: events by seq on a server-side cursor, reports row by row.
    Read only; memory stays bounded whatever the period."""
    from govern.reports.render import REPORT_FORMATS_STREAMED, stream_report
    from govern.reports.service import REPORTS, Period, build_report

    period = Period(since, until)
    events_total = sealed.sealing - sealed.anchor + 1 if sealed.anchor <= sealed.sealing else 0
    reports = [build_report(session, name, period, settings) for name in REPORTS]  # figures only: rows stream later
    state = ExportProgress(total=events_total + sum(_report_rows(r) * len(REPORT_FORMATS_STREAMED) for r in reports))

    def advance(count: int, stage: str | None = None) -> None:
        state.done += count
        if stage:
            state.stage = stage
        if progress is not None:
            progress(state)

    writer = bundle.BundleWriter(target)
    first_seq = last_seq = None
    written = 0
    advance(0, "audit events")
    with writer.entry(bundle.EVENTS) as write:
        piece: list[bytes] = []
        for event in stored_events(session, sealed.anchor, sealed.sealing) if events_total else ():
            first_seq = event.seq if first_seq is None else first_seq
            last_seq = event.seq
            piece.append(orjson.dumps(event.as_json()) + b"\n")
            if len(piece) >= EVENT_PIECE:
                write(b"".join(piece))
                written += len(piece)
                advance(len(piece))
                piece = []
        if piece:
            write(b"".join(piece))
            written += len(piece)
            advance(len(piece))
    writer.add(bundle.CHECKPOINTS, b"".join(orjson.dumps(bundle.checkpoint_json(c)) + b"\n"
                                          for c in stored_checkpoints(session, sealed.anchor, sealed.sealing)))
    writer.add(bundle.KEYS, orjson.dumps({"keys": [bundle.key_json(k) for k in trusted_keys_from_signer(session, signer)]},
                                         option=orjson.OPT_INDENT_2))
    for report in reports:
        for fmt in REPORT_FORMATS:
            advance(0, f"reports/{report.name}.{fmt}")
            with writer.entry(f"reports/{report.name}.{fmt}") as write:
                for chunk in stream_report(report, fmt, on_rows=advance if fmt in REPORT_FORMATS_STREAMED else None):
                    write(chunk)
    generated_at = canonical_time(datetime.now(since.tzinfo))
    manifest = {
        "period": {"from": canonical_time(since), "to": canonical_time(until)}, "generated_at": generated_at,
        "generated_by": actor.id, "chain_head": {"seq": sealed.head_seq, "hash": sealed.head_hash},
        "events": {"first_seq": first_seq, "last_seq": last_seq, "sealed_by_checkpoint_at": sealed.sealing},
    }
    readme = README.format(since=canonical_time(since), until=canonical_time(until), generated_at=generated_at,
                           actor=actor.id, head_seq=sealed.head_seq, head_hash=sealed.head_hash,
                           first_seq=first_seq or "-", last_seq=last_seq or "-")
    writer.finish(manifest, readme, sign=signer.sign)
    advance(0, "done")
    return ExportOutcome(written, first_seq, last_seq, 0, "")


def export_evidence_to(session: Session, actor: Actor, signer: CheckpointSigner, settings, since: datetime,
                       until: datetime, path: Path, commit: Callable[[], None],
                       progress: Progress | None = None) -> ExportOutcome:
    """The bundle for [since, until) written to `path` (through a temporary file beside it, renamed when whole).

    Two transactions: the export's audit event and checkpoint (committed by `commit`), then the read."""
    sealed = seal_for_export(session, actor, signer, since, until)
    commit()
    from govern.reports.service import read_consistently

    read_consistently(session)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as target:
            outcome = write_evidence(session, signer, settings, actor, since, until, sealed, target, progress)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with path.open("rb") as written:
        while piece := written.read(1 << 20):
            digest.update(piece)
    return ExportOutcome(outcome.events, outcome.first_seq, outcome.last_seq, path.stat().st_size, digest.hexdigest())


def export_evidence(session: Session, actor: Actor, signer: CheckpointSigner, settings, since: datetime,
                    until: datetime) -> bytes:
    """The bundle for [since, until) in memory, in the caller's transaction (small periods and tests)."""
    sealed = seal_for_export(session, actor, signer, since, until)
    buffer = io.BytesIO()
    write_evidence(session, signer, settings, actor, since, until, sealed, buffer)
    return buffer.getvalue()

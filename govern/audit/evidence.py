"""Exporting the evidence bundle of a period: every report, the period's audit events sealed by a signed checkpoint."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from govern.audit import bundle
from govern.audit.chain import canonical_time
from govern.audit.checkpoints import (
    seq_range_for_times,
    sign_checkpoint,
    stored_checkpoints,
    stored_events,
    trusted_keys_from_signer,
)
from govern.audit.models import AuditChainHead
from govern.audit.service import Actor, record
from govern.audit.signing import CheckpointSigner

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


def _render_reports(session: Session, settings, since: datetime, until: datetime) -> dict[str, bytes]:
    from govern.reports.render import render_report
    from govern.reports.service import REPORTS, Period, build_report

    files: dict[str, bytes] = {}
    period = Period(since, until)
    for name in REPORTS:
        report = build_report(session, name, period, settings)
        for fmt in REPORT_FORMATS:
            files[f"reports/{name}.{fmt}"] = render_report(report, fmt)
    return files


def export_evidence(session: Session, actor: Actor, signer: CheckpointSigner, settings, since: datetime,
                    until: datetime) -> bytes:
    """The bundle for [since, until); the export itself is audited and sealed by the checkpoint the bundle ends with."""
    record(session, actor, "audit:evidence:export", "evidence_bundle", f"{canonical_time(since)}/{canonical_time(until)}",
           since=since, until=until)
    session.flush()
    sign_checkpoint(session, signer)
    head = session.get(AuditChainHead, 1)
    first, last = seq_range_for_times(session, since, until)
    anchor = next((c.seq for c in reversed(stored_checkpoints(session, 1, first)) if c.seq <= first), 1)
    checkpoints = stored_checkpoints(session, anchor)
    sealing = next((c.seq for c in checkpoints if last is None or c.seq >= max(last, first)), head.last_seq)
    first = anchor
    events = list(stored_events(session, first, sealing)) if first <= sealing else []
    files = {
        bundle.EVENTS: b"".join(orjson.dumps(event.as_json()) + b"\n" for event in events),
        bundle.CHECKPOINTS: b"".join(orjson.dumps(bundle.checkpoint_json(c)) + b"\n" for c in checkpoints if c.seq <= sealing),
        bundle.KEYS: orjson.dumps({"keys": [bundle.key_json(k) for k in trusted_keys_from_signer(session, signer)]},
                                  option=orjson.OPT_INDENT_2),
        **_render_reports(session, settings, since, until),
    }
    generated_at = canonical_time(datetime.now(since.tzinfo))
    first_seq, last_seq = (events[0].seq, events[-1].seq) if events else (None, None)
    manifest = {
        "period": {"from": canonical_time(since), "to": canonical_time(until)}, "generated_at": generated_at,
        "generated_by": actor.id, "chain_head": {"seq": head.last_seq, "hash": head.last_hash},
        "events": {"first_seq": first_seq, "last_seq": last_seq, "sealed_by_checkpoint_at": sealing},
    }
    readme = README.format(since=canonical_time(since), until=canonical_time(until), generated_at=generated_at,
                           actor=actor.id, head_seq=head.last_seq, head_hash=head.last_hash,
                           first_seq=first_seq or "-", last_seq=last_seq or "-")
    return bundle.write_bundle(files, manifest, readme, sign=signer.sign)

"""Signing the audit chain head: checkpoints, when one is due, and the signing keys' publication and rotation.

Reading the trail back (stored events and checkpoints, verification) lives in govern.audit.trail."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.models import AuditCheckpoint, AuditSigningKey
from govern.audit.service import record
from govern.audit.signing import ALGORITHM, CheckpointSigner, SigningKey, SigningKeyMissing, checkpoint_message
from govern.audit.trail import chain_head, latest_checkpoint, published_keys
from govern.db import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CheckpointPolicy:
    every_events: int
    every_minutes: int


def sync_keys(session: Session, signer: CheckpointSigner, now: datetime | None = None,
              held: list[SigningKey] | None = None) -> list[AuditSigningKey]:
    """Publish the signer's public keys (`held`, if already read): a new key is valid from now; every older one ends
    when the next begins."""
    moment = now or utcnow()
    held = held if held is not None else signer.keys()
    known = {row.key_id: row for row in session.scalars(select(AuditSigningKey))}
    for key in held:
        if key.key_id not in known:
            row = AuditSigningKey(key_id=key.key_id, algorithm=ALGORITHM, public_key=key.public_key_b64,
                                  source=key.source, valid_from=moment, valid_until=None)
            session.add(row)
            known[key.key_id] = row
    current = held[-1].key_id
    for row in known.values():
        if row.key_id != current and row.valid_until is None and row.source == signer.source:
            row.valid_until = moment
    session.flush()
    return sorted(known.values(), key=lambda row: (row.valid_from, row.id or 0))


SIGNING_ACTOR = Actor.system("audit-signing")


def signing_keys(session: Session, signer: CheckpointSigner) -> list[SigningKey]:
    """The signer's keys, on the signing path only: where the signer has no key, one is made.

    A key made where keys were already published replaces a lost one (Vault lost the Transit key): that is never
    silent (decision 0032). It is audited in this transaction, logged as an alert, and its ids never reuse a
    published one; checkpoints the lost key signed verify only against its published public key from then on.
    """
    try:
        return signer.keys()
    except SigningKeyMissing as missing:
        reason = str(missing)
    lost = [row.key_id for row in published_keys(session) if row.source == signer.source]
    new = signer.create(lost)
    if lost:
        log.error("audit_signing_key_replaced", alert=True, key_id=new.key_id, lost_key_ids=lost, reason=reason)
        record(session, SIGNING_ACTOR, "audit:signing_key:replace", "audit_signing_key", new.key_id,
               before={"key_ids": lost}, after={"key_id": new.key_id, "public_key": new.public_key_b64},
               reason=f"{reason}: a new key was made; checkpoints signed before verify against the published keys")
    return signer.keys()


def sign_checkpoint(session: Session, signer: CheckpointSigner, now: datetime | None = None) -> AuditCheckpoint | None:
    """Sign the chain head as this transaction sees it; nothing when the head is already sealed or empty."""
    held = signing_keys(session, signer)
    head = chain_head(session, fresh=True)  # replacing a lost key records an event, which moves the head
    latest = latest_checkpoint(session)
    if head.last_seq == 0 or (latest is not None and latest.seq == head.last_seq):
        return None
    moment = now or utcnow()
    sync_keys(session, signer, moment, held)
    key_id = held[-1].key_id
    signed_key_id, signature = signer.sign(checkpoint_message(head.last_seq, head.last_hash, moment, key_id))
    if signed_key_id != key_id:  # the key rotated between the two calls: sign again with the message naming it
        sync_keys(session, signer, moment)
        key_id, (signed_key_id, signature) = signed_key_id, signer.sign(
            checkpoint_message(head.last_seq, head.last_hash, moment, signed_key_id))
    checkpoint = AuditCheckpoint(seq=head.last_seq, head_hash=head.last_hash, signed_at=moment, key_id=signed_key_id,
                                 signature=base64.b64encode(signature).decode())
    session.add(checkpoint)
    session.flush()
    return checkpoint


def checkpoint_due(session: Session, policy: CheckpointPolicy, now: datetime | None = None) -> bool:
    head = chain_head(session)
    latest = latest_checkpoint(session)
    if head.last_seq == 0:
        return False
    if latest is None:
        return True
    unsealed = head.last_seq - latest.seq
    moment = now or utcnow()
    return unsealed >= policy.every_events or (unsealed > 0 and moment - latest.signed_at >= timedelta(minutes=policy.every_minutes))


def rotate_key(session: Session, actor: Actor, signer: CheckpointSigner, reason: str) -> SigningKey:
    """Seal the head with the old key, make a new key current, publish it, and sign again with it; audited."""
    sign_checkpoint(session, signer)
    old = signer.keys()[-1]
    new = signer.rotate()
    sync_keys(session, signer)
    record(session, actor, "audit:signing_key:rotate", "audit_signing_key", new.key_id,
           before={"key_id": old.key_id}, after={"key_id": new.key_id, "public_key": new.public_key_b64}, reason=reason)
    sign_checkpoint(session, signer)
    return new

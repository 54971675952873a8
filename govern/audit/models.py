"""The audit trail: an append-only, hash-chained list of events, and the chain head that seals its end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id", "seq"),  # an account's or a person's history
        Index("ix_audit_events_occurred_at_seq", "occurred_at", "seq"),  # a period's events, newest first
        Index("ix_audit_events_actor_seq", "actor", "seq"),  # one actor's events, newest first
        Index("ix_audit_events_action_seq", "action", "seq"),  # one action's events, newest first
        # ix_audit_events_about_account and _person (PostgreSQL, migration 8b8e0f1a2b3c): an expression index over
        # what the event is about (govern/audit/subjects.py) and seq, for an account's or a person's whole history
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(128))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(255))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    encoding_version: Mapped[int]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row: the last sequence number and hash, so a deleted tail is detectable."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditSigningKey(Base):
    """A public key that signs checkpoints, with the period it signed in; the private half never enters the database."""

    __tablename__ = "audit_signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(128), unique=True)
    algorithm: Mapped[str] = mapped_column(String(32), default="ed25519")
    public_key: Mapped[str] = mapped_column(String(128))  # base64 of the raw 32-byte Ed25519 public key
    source: Mapped[str] = mapped_column(String(32))  # "local" (a key file) or "vault-transit"
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]  # set when the key is rotated out; None while it signs


class AuditCheckpoint(Base):
    """A signature over the chain head at one moment: whoever holds the public key can check the chain up to `seq`."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(128))
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519 signature of checkpoint_message()


class LegalHold(Base):
    """While a hold is in place, retention deletes nothing of the data kinds it names."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data_kinds: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(2000))
    placed_by: Mapped[str] = mapped_column(String(255))
    placed_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(255))
    released_at: Mapped[datetime | None]


class AuditStreamCursor(Base):
    """How far the SIEM stream has shipped to one sink; the row is locked while a batch ships, so hosts never both ship it."""

    __tablename__ = "audit_stream_cursors"

    sink: Mapped[str] = mapped_column(String(512), primary_key=True)  # the target as configured: file:/..., syslog://...
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


class AuditVerification(Base):
    """A whole-trail verification with the signer's keys (the daily job, `govern audit verify`): the API answers from
    the latest one and checks only the events since, so a read never walks ten million events."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime]
    verified_by: Mapped[str] = mapped_column(String(255))
    ok: Mapped[bool]
    events_checked: Mapped[int] = mapped_column(BigInteger)
    checkpoints_checked: Mapped[int]
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    first_failure: Mapped[str | None] = mapped_column(String(2000))

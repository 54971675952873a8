"""Pure hash-chain logic: the canonical encoding of an event and its hash (govern.audit.verification walks a trail)."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring  # what json.dumps(..., ensure_ascii=False) writes a string as
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from govern.secret_value import SecretValue

GENESIS_HASH = "0" * 64
ENCODING_VERSION = 1


class UnauditableValue(TypeError):
    """A value that must never enter an audit event (a secret) or cannot be encoded."""


def _refuse(value: Any) -> Any:
    if isinstance(value, SecretValue):
        raise UnauditableValue("a secret value must never be written to the audit trail")
    if isinstance(value, datetime):
        return canonical_time(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (str, int)):
        return value.value  # enums
    raise UnauditableValue(f"cannot audit a value of type {type(value).__name__}")


def canonical_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Built once: json.dumps with non-default arguments builds a new encoder on every call, and audited writes are hot.
_PLAIN = json.JSONEncoder(ensure_ascii=False, default=_refuse)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_refuse)


def normalise_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so what is hashed is exactly what the database will hold (keys become strings)."""
    return json.loads(_PLAIN.encode(summary))


@dataclass(frozen=True)
class ChainedFields:
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    summary: Mapping[str, Any]
    request_id: str | None
    client_addr: str | None
    encoding_version: int
    prev_hash: str


@dataclass(frozen=True)
class CanonicalParts:
    """The canonical encoding of an event around its two chained values, the previous hash and the sequence number.

    canonical = before_prev_hash + prev_hash + before_seq + str(seq) + after_seq, exactly the sorted,
    compact JSON of the event; PostgreSQL joins the parts itself when it appends under the chain-head lock.
    """

    before_prev_hash: str
    before_seq: str
    after_seq: str

    def joined(self, prev_hash: str, seq: int) -> bytes:
        return f"{self.before_prev_hash}{prev_hash}{self.before_seq}{seq}{self.after_seq}".encode()


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII as itself: how summaries are stored, so the stored text is canonical."""
    return _CANONICAL.encode(value)


def _member(key: str, value: Any) -> str:
    if isinstance(value, str):
        encoded = encode_basestring(value)
    elif value is None:
        encoded = "null"
    else:
        encoded = _CANONICAL.encode(value)
    return encode_basestring(key) + ":" + encoded


def canonical_parts(fields: ChainedFields, summary_text: str | None = None) -> CanonicalParts:
    """Every member but prev_hash and seq, in sorted key order: action, actor, client_addr, occurred_at,
    prev_hash, request_id, seq, summary, target, v. `summary_text` is canonical_json(fields.summary) if already made."""
    if fields.encoding_version != ENCODING_VERSION:
        raise ValueError(f"unknown audit encoding version {fields.encoding_version}")
    leading = [
        _member("action", fields.action), _member("actor", fields.actor), _member("client_addr", fields.client_addr),
        _member("occurred_at", canonical_time(fields.occurred_at)),
    ]
    trailing = [
        '"summary":' + (summary_text if summary_text is not None else canonical_json(fields.summary)),
        _member("target", [fields.target_type, fields.target_id]),
        _member("v", fields.encoding_version),
    ]
    return CanonicalParts(
        before_prev_hash="{" + ",".join(leading) + ',"prev_hash":"',
        before_seq='",' + _member("request_id", fields.request_id) + ',"seq":',
        after_seq="," + ",".join(trailing) + "}",
    )


def canonical_bytes(fields: ChainedFields) -> bytes:
    return canonical_parts(fields).joined(fields.prev_hash, fields.seq)


def event_hash(fields: ChainedFields) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()

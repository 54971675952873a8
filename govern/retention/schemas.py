"""Retention and legal hold request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.retention.kinds import ALL_KINDS, KNOWN_KINDS
from govern.retention.service import MAX_NAME_LENGTH, MAX_REASON_LENGTH, MIN_REASON_LENGTH
from govern.schemas_common import StrictBoolean

_KIND_NAMES = [*KNOWN_KINDS, ALL_KINDS]


class LegalHoldSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    data_kinds = fields.List(fields.String())
    reason = fields.String()
    placed_by = fields.String()
    placed_at = fields.DateTime()
    released_by = fields.String(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    active = fields.Function(lambda hold: hold.released_at is None)


class LegalHoldPlaceSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NAME_LENGTH))
    data_kinds = fields.List(
        fields.String(validate=validate.OneOf(_KIND_NAMES)), required=True, validate=validate.Length(min=1, max=len(_KIND_NAMES)),
        metadata={"description": f"Kinds the hold keeps: {', '.join(KNOWN_KINDS)}, or [\"{ALL_KINDS}\"] for all."},
    )
    reason = fields.String(required=True, validate=validate.Length(min=MIN_REASON_LENGTH, max=MAX_REASON_LENGTH))


class LegalHoldReleaseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=MIN_REASON_LENGTH, max=MAX_REASON_LENGTH))


class LegalHoldListArgs(Schema):
    active = fields.Boolean(load_default=False, metadata={"description": "Only holds still in place."})


class PurgeArgs(Schema):
    dry_run = StrictBoolean(load_default=True, metadata={
        "description": "Report what would be deleted; delete nothing. The default: deleting needs an explicit false."})


class DataKindSchema(Schema):
    kind = fields.String()
    description = fields.String()
    age_basis = fields.String(metadata={"description": "What 'older than the cutoff' is measured on."})
    retention_days = fields.Integer()
    default_days = fields.Integer()
    deleted_by_govern = fields.Boolean(metadata={"description": "False for the audit trail: its retention is a minimum."})


class KindOutcomeSchema(Schema):
    kind = fields.String()
    retention_days = fields.Integer()
    cutoff = fields.String(metadata={"description": "ISO 8601: rows strictly older than this are past their retention."})
    outcome = fields.String(metadata={"description": "deleted, would_delete, held or kept"})
    eligible = fields.Integer(metadata={"description": "Rows older than the cutoff."})
    count = fields.Integer(metadata={"description": "Rows deleted (or, in a dry run, that would be); 0 when held or kept."})
    more = fields.Boolean(metadata={"description": "Rows past the cutoff remain beyond this run's bound; the next run carries on."})
    reason = fields.String(allow_none=True)
    held_by = fields.List(fields.Integer())


class PurgeResultSchema(Schema):
    dry_run = fields.Boolean()
    kinds = fields.List(fields.Nested(KindOutcomeSchema))


class RetentionSchema(Schema):
    kinds = fields.List(fields.Nested(DataKindSchema))
    retention_days = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "In force: GOVERN_RETENTION_DAYS over the defaults."})
    holds = fields.List(fields.Nested(LegalHoldSchema), metadata={"description": "Holds in place."})
    plan = fields.List(fields.Nested(KindOutcomeSchema), metadata={"description": "What a purge would do now."})

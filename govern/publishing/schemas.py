"""Request and response shapes of the approvals API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.publishing.models import ApprovalStatus


class ApprovalSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_handle = fields.Function(lambda a: a.account.handle)
    person_id = fields.Integer()
    requested_by = fields.String()
    network_action = fields.String()
    text = fields.Function(lambda a: a.params.get("text"))
    findings = fields.List(fields.Dict())
    pack_version = fields.String()
    status = fields.Function(lambda a: a.status.value)
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)


class ApprovalQuerySchema(Schema):
    status = fields.Enum(ApprovalStatus, by_value=True, load_default=ApprovalStatus.PENDING)


class ApprovalDecisionSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=4000))

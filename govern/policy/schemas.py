"""Policy request and response schemas: evaluate, violations, exceptions, impostor candidates."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.policy.exceptions import ExceptionScope
from govern.policy.workflow_models import ViolationStatus
from govern.schemas_common import Integer

MAX_TEXT = 1_000_000  # 1 MB of text is evaluated; more is refused with a clear error


class EvaluateSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=MAX_TEXT))
    media = fields.List(fields.String(), load_default=list, metadata={"description": "base64 images (or data: URLs)"})
    account_id = Integer(load_default=None, allow_none=True)
    network = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))


class FindingSchema(Schema):
    entity = fields.String()
    kind = fields.String()
    rule = fields.String()
    category = fields.String()
    start = fields.Integer()
    end = fields.Integer()
    action = fields.String()
    severity = fields.String()
    media_index = fields.Integer()
    explanation = fields.String()
    preview = fields.String()


class DecisionSchema(Schema):
    decision = fields.String()
    pack_version = fields.String()
    findings = fields.List(fields.Nested(FindingSchema))


class PacksSchema(Schema):
    version = fields.String()
    rules = fields.Integer()
    packs = fields.List(fields.String())


class ViolationSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    account_handle = fields.Function(lambda v: v.account.handle)
    content_kind = fields.Function(lambda v: v.content_kind.value)
    external_id = fields.String()
    decision = fields.Function(lambda v: v.decision.value)
    findings = fields.List(fields.Dict())
    masked_text = fields.String()
    pack_version = fields.String()
    status = fields.Function(lambda v: v.status.value)
    assignee = fields.String(allow_none=True)
    response_taken = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    detected_at = fields.DateTime()
    closed_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class ViolationQuerySchema(Schema):
    status = fields.Enum(ViolationStatus, by_value=True, load_default=None)
    account_id = Integer(load_default=None)


class ViolationUpdateSchema(Schema):
    status = fields.Enum(ViolationStatus, by_value=True, required=True)
    assignee = fields.String(load_default=None, validate=validate.Length(max=255))
    note = fields.String(load_default=None, validate=validate.Length(max=4000))


SCOPE_HELP = ("value: this value for this rule, on every account; value_account: this value for this rule on the "
              "violation's account; rule_account: this rule, for anything, on the violation's account")


class ExceptionSchema(Schema):
    id = fields.Integer()
    scope = fields.Function(lambda e: e.scope.value, metadata={"description": SCOPE_HELP})
    rule = fields.String()
    entity = fields.String()
    account_id = fields.Integer(allow_none=True)
    account_handle = fields.Function(lambda e: e.account.handle if e.account else None)
    preview = fields.String(metadata={"description": "The value masked, as the violation showed it; the value itself "
                                                     "is kept only as a keyed digest, never returned"})
    reason = fields.String()
    violation_id = fields.Integer(allow_none=True)
    pack_version = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    active = fields.Boolean()
    removed_by = fields.String(allow_none=True)
    removed_at = fields.DateTime(allow_none=True)
    removal_reason = fields.String(allow_none=True)


class ExceptionQuerySchema(Schema):
    include_removed = fields.Boolean(load_default=False)
    account_id = Integer(load_default=None)
    rule = fields.String(load_default=None, validate=validate.Length(max=128))


class ExceptionCreateSchema(Schema):
    violation_id = Integer(required=True, metadata={"description": "The false positive the exception grows from; "
                                                                   "an open violation is marked a false positive"})
    scope = fields.Enum(ExceptionScope, by_value=True, required=True, metadata={"description": SCOPE_HELP})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ExceptionRemoveSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=4000))


class ScanReportSchema(Schema):
    accounts = fields.Integer()
    items = fields.Integer()
    violations = fields.Integer()
    hidden = fields.Integer()
    failed_accounts = fields.Integer()

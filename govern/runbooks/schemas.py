"""Request and response shapes of the runbooks and incidents API. The service checks the values (422 problem+json);
these give the structure and the OpenAPI. Names are distinct from the pauses' (RunbookScope, not Scope)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.pauses.models import PauseScope
from govern.pauses.schemas import ScopeValue
from govern.runbooks.models import IncidentStatus
from govern.runbooks.service import CONTACT_TYPES, LANGUAGES, MAX_ESCALATE_AFTER, MAX_TEXT, current_stage, timeline_label


class RunbookScopeSchema(Schema):
    type = fields.Enum(PauseScope, by_value=True, required=True,
                       metadata={"description": "all, business_unit, network (its key) or account (its id)"})
    value = ScopeValue(load_default=None, metadata={"type": ["string", "integer", "null"]})


class RunbookContactSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(CONTACT_TYPES))
    value = fields.String(required=True, validate=validate.Length(min=1, max=320),
                          metadata={"description": "a person's id, a console role, or an e-mail address"})


class RunbookStageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    contacts = fields.List(fields.Nested(RunbookContactSchema), required=True)
    escalate_after_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_ESCALATE_AFTER),
        metadata={"description": "optional: an incident still open at this stage after this many minutes is escalated "
                                 "to the next stage automatically (none: only by hand)"})


class RunbookStepSchema(Schema):
    key = fields.String(load_default=None, validate=validate.Length(max=40),
                        metadata={"description": "stable key (step-1, step-2... when left out)"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner = fields.Nested(RunbookContactSchema, load_default=None, allow_none=True)


class RunbookStatementInSchema(Schema):
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    network = fields.String(load_default=None, allow_none=True, metadata={"description": "a network key; none for any"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class RunbookWriteSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    scope = fields.Nested(RunbookScopeSchema, required=True)
    severities = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True)
    stages = fields.List(fields.Nested(RunbookStageSchema), required=True,
                         metadata={"description": "who to tell, stage by stage; the first stage is told on activation"})
    steps = fields.List(fields.Nested(RunbookStepSchema), load_default=list)
    statements = fields.List(fields.Nested(RunbookStatementInSchema), load_default=list,
                             metadata={"description": "holding statements to add (pre-approved once a second person approves each)"})
    pause_on_activate = fields.Boolean(load_default=True)
    auto_activate = fields.Boolean(load_default=False, metadata={"description": "a crisis alert on an account in scope activates it"})
    auto_severity = fields.String(load_default=None, allow_none=True)


class RunbookPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=MAX_TEXT))
    scope = fields.Nested(RunbookScopeSchema)
    severities = fields.List(fields.String(validate=validate.Length(min=1, max=40)))
    stages = fields.List(fields.Nested(RunbookStageSchema))
    steps = fields.List(fields.Nested(RunbookStepSchema))
    statements = fields.List(fields.Nested(RunbookStatementInSchema))
    pause_on_activate = fields.Boolean()
    auto_activate = fields.Boolean()
    auto_severity = fields.String(allow_none=True)


class RunbookStatementSchema(Schema):
    id = fields.Integer()
    language = fields.String()
    network = fields.String(allow_none=True)
    text = fields.String()
    author = fields.String()
    author_name = fields.String()
    approved = fields.Boolean()
    approved_by = fields.String(allow_none=True)
    approved_by_name = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)


class RunbookSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    scope = fields.Function(lambda r: {"type": r.scope_type.value, "value": r.scope_value},
                            metadata={"type": "object"})
    severities = fields.List(fields.String())
    stages = fields.List(fields.Nested(RunbookStageSchema))
    steps = fields.List(fields.Nested(RunbookStepSchema))
    statements = fields.List(fields.Nested(RunbookStatementSchema))
    pause_on_activate = fields.Boolean()
    auto_activate = fields.Boolean()
    auto_severity = fields.String(allow_none=True)
    created_by = fields.String()
    created_by_name = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RunbookActivateSchema(Schema):
    severity = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=MAX_TEXT))
    pause = fields.Boolean(load_default=None, allow_none=True,
                           metadata={"description": "pause the runbook's scope; the runbook's own setting when left out"})


class IncidentEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    label = fields.Function(lambda e: timeline_label(e.kind))
    at = fields.DateTime()
    actor_id = fields.String()
    actor_name = fields.String()
    details = fields.Dict()


class StatementReleaseSchema(Schema):
    id = fields.Integer()
    incident_id = fields.Integer()
    statement_id = fields.Integer()
    account_id = fields.Integer()
    status = fields.Function(lambda r: r.status.value)
    requested_by = fields.String()
    requested_by_name = fields.String()
    requested_at = fields.DateTime()
    confirmed_by = fields.String(allow_none=True)
    confirmed_by_name = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    external_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class IncidentSchema(Schema):
    id = fields.Integer()
    runbook_id = fields.Integer()
    runbook_name = fields.Function(lambda i: i.runbook.name)
    status = fields.Function(lambda i: i.status.value)
    severity = fields.String()
    reason = fields.String()
    alert_id = fields.Integer(allow_none=True)
    pause_id = fields.Integer(allow_none=True)
    opened_by = fields.String()
    opened_by_name = fields.String()
    opened_at = fields.DateTime()
    steps_done = fields.Dict()
    stage = fields.Integer(metadata={"description": "the runbook stage reached: 0 is the first, told on activation"})
    stage_name = fields.Function(lambda i: (current_stage(i) or {}).get("name"), metadata={"type": ["string", "null"]})
    stage_since = fields.Function(lambda i: (i.stage_since or i.opened_at).isoformat(),
                                  metadata={"type": "string", "format": "date-time",
                                            "description": "when the incident reached its stage"})
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    closed_by_name = fields.String(allow_none=True)
    close_note = fields.String(allow_none=True)
    timeline = fields.List(fields.Nested(IncidentEventSchema))


class IncidentQuerySchema(Schema):
    status = fields.Enum(IncidentStatus, by_value=True, load_default=None)


class IncidentCloseSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT))


class IncidentEscalateSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT),
                         metadata={"description": "why, for the timeline and the audit event (optional)"})


class StatementReleaseRequestSchema(Schema):
    statement_id = fields.Integer(required=True, strict=True)
    account_id = fields.Integer(required=True, strict=True)


class IncidentReportQuerySchema(Schema):
    lang = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))

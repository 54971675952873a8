"""Request and response shapes of the pauses API (the console's pause form reads the same fields)."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate

from govern.db import utcnow
from govern.pauses.models import PauseScope
from govern.pauses.service import MAX_REASON
from govern.schemas_common import AwareDateTime


class ScopeValue(fields.Field):
    """A business unit or network key (a string), or an account id (an integer or its digits); null for everything."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("Must be a string or an integer.")
        if len(str(value)) > 255:
            raise ValidationError("At most 255 characters.")
        return value


class ScopeSchema(Schema):
    type = fields.Enum(PauseScope, by_value=True, required=True,
                       metadata={"description": "all, business_unit, network (its key) or account (its id)"})
    value = ScopeValue(load_default=None, metadata={"description": "which business unit, network or account; "
                                                                   "none for all", "type": ["string", "integer", "null"]})


class PauseRequestSchema(Schema):
    scope = fields.Nested(ScopeSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=MAX_REASON))
    resume_at = AwareDateTime(load_default=None, allow_none=True, ahead=timedelta(days=366),
                              metadata={"description": "resume automatically at this time (optional)"})


class ResumeRequestSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_REASON))


class PauseQuerySchema(Schema):
    active = fields.Boolean(load_default=None, truthy={"true"}, falsy={"false"}, metadata={"description": "only active (true) or only ended (false) pauses"})


class PauseSchema(Schema):
    id = fields.Integer()
    scope = fields.Function(lambda p: {"type": p.scope_type.value, "value": p.scope_value})
    reason = fields.String()
    active = fields.Function(lambda p: p.is_active(utcnow()))
    paused_by = fields.String()
    paused_by_name = fields.String()
    paused_at = fields.DateTime()
    resume_at = fields.DateTime(allow_none=True)
    resumed_at = fields.Function(lambda p: _ended_at(p), allow_none=True,
                                 metadata={"type": ["string", "null"], "format": "date-time"})
    resumed_by = fields.String(allow_none=True)
    resumed_by_name = fields.String(allow_none=True)
    resume_note = fields.String(allow_none=True)
    auto_resumed = fields.Function(lambda p: p.auto_resumed or (p.resumed_at is None and not p.is_active(utcnow())))


def _ended_at(pause) -> str | None:
    """When the pause ended: resumed, or its resume time once passed (before the periodic job wrote it down)."""
    ended = pause.resumed_at or (pause.resume_at if not pause.is_active(utcnow()) else None)
    return ended.isoformat() if ended else None

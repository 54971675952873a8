"""/api/v1/audit/events: the audit trail, newest first."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from govern.audit import service
from govern.auth.roles import Permission
from govern.extensions import db
from govern.grants.schemas import AwareDateTime
from govern.web.authz import requires

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The tamper-evident audit trail")


class AuditEventSchema(Schema):
    seq = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    summary = fields.Dict()
    request_id = fields.String(allow_none=True)
    client_addr = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditListArgs(Schema):
    actor = fields.String(validate=validate.Length(max=255))
    action = fields.String(validate=validate.Length(max=128), metadata={"description": "Prefix, e.g. 'grants:'"})
    target_type = fields.String(validate=validate.Length(max=64))
    target_id = fields.String(validate=validate.Length(max=255))
    since = AwareDateTime()
    until = AwareDateTime()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    before_seq = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={"description": "Keyset cursor: next_before_seq of the previous page."})


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_before_seq = fields.Integer(allow_none=True)


@blp.route("/events")
class AuditEvents(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditPage)
    def get(self, args):
        """Audit events, newest first, filtered."""
        limit, before_seq = args.pop("limit"), args.pop("before_seq")
        events = list(db.session.scalars(service.events_query(service.EventFilter(**args), before_seq).limit(limit + 1)))
        more = len(events) > limit
        return {"items": events[:limit], "next_before_seq": events[limit - 1].seq if more else None}

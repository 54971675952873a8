"""Grant request and response schemas."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from govern.grants.models import GrantRole
from govern.schemas_common import AwareDateTime, Integer, PageArgs, page_schema


# A grant is reviewed and renewed, not given for a working life: an expiry 80 years out is a typo.
MAX_GRANT_AHEAD = timedelta(days=5 * 365 + 1)
MAX_GRANT_AHEAD_TEXT = "5 years"


class GrantAccountSchema(Schema):
    id = fields.Integer()
    network = fields.Function(lambda a: a.network.key)
    handle = fields.String()
    display_name = fields.String()


class GrantPersonSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    email = fields.String(allow_none=True)


class GrantSchema(Schema):
    id = fields.Integer()
    person = fields.Nested(GrantPersonSchema)
    account = fields.Nested(GrantAccountSchema)
    role = fields.Enum(GrantRole, by_value=True)
    state = fields.Method("_state")
    granted_by = fields.String()
    reason = fields.String()
    starts_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)
    revoke_reason = fields.String(allow_none=True)

    def _state(self, grant):
        from govern.db import utcnow

        return grant.state_at(utcnow())


class GrantCreateSchema(Schema):
    person_id = Integer(required=True, validate=validate.Range(min=1))
    account_id = Integer(required=True, validate=validate.Range(min=1))
    role = fields.Enum(GrantRole, by_value=True, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    starts_at = AwareDateTime(load_default=None, ahead=MAX_GRANT_AHEAD, ahead_text=MAX_GRANT_AHEAD_TEXT)
    expires_at = AwareDateTime(load_default=None, ahead=MAX_GRANT_AHEAD, ahead_text=MAX_GRANT_AHEAD_TEXT)

    @validates_schema
    def _window(self, data, **kwargs):
        starts, expires = data.get("starts_at"), data.get("expires_at")
        if starts and expires and expires <= starts:
            raise ValidationError("must be after starts_at", "expires_at")


class RevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class GrantListArgs(PageArgs):
    person_id = Integer(validate=validate.Range(min=1))
    account_id = Integer(validate=validate.Range(min=1))
    role = fields.Enum(GrantRole, by_value=True)
    state = fields.String(load_default="active", validate=validate.OneOf(["active", "expired", "revoked", "scheduled", "all"]))


GrantPage = page_schema(GrantSchema, "GrantPage")


class OwnerGrantListArgs(PageArgs):
    """An account's or a person's grants: those in force (default), every other one, or all."""

    state = fields.String(load_default="active", validate=validate.OneOf(["active", "not_in_force", "all"]))


CountedGrantPage = Schema.from_dict(
    {
        "items": fields.List(fields.Nested(GrantSchema)),
        "next_cursor": fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; null on the last page."}),
        "total": fields.Integer(metadata={"description": "How many grants match in all, over every page."}),
    },
    name="CountedGrantPage",
)

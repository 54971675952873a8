"""Account request and response schemas, shared by the API and the console."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.accounts.models import AccountStatus
from govern.schemas_common import Integer, PageArgs, page_schema

_text = validate.Length(min=1, max=255)
_tags = fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=50))


class NetworkSchema(Schema):
    key = fields.String()
    kind = fields.Function(lambda n: n.kind.value)
    display_name = fields.String()
    base_url = fields.String(allow_none=True)


class OwnerSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    email = fields.String(allow_none=True)


class AccountSchema(Schema):
    id = fields.Integer(dump_only=True)
    network = fields.Function(lambda a: a.network.key)
    handle = fields.String()
    external_id = fields.String(allow_none=True)
    display_name = fields.String()
    business_unit = fields.String(allow_none=True)
    owner = fields.Nested(OwnerSchema, allow_none=True)
    status = fields.Enum(AccountStatus, by_value=True)
    notes = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    verified_at = fields.DateTime(allow_none=True)
    retired_at = fields.DateTime(allow_none=True)


class AccountCreateSchema(Schema):
    network = fields.String(required=True, validate=validate.Length(min=1, max=64))
    handle = fields.String(required=True, validate=_text)
    display_name = fields.String(required=True, validate=_text)
    external_id = fields.String(load_default=None, validate=_text)
    business_unit = fields.String(load_default=None, validate=_text)
    owner_id = Integer(load_default=None, validate=validate.Range(min=1))
    status = fields.Enum(AccountStatus, by_value=True, load_default=AccountStatus.ACTIVE,
                         validate=validate.OneOf([AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.UNMANAGED]))
    notes = fields.String(load_default=None, validate=validate.Length(max=10_000))
    tags = _tags


class AccountUpdateSchema(Schema):
    handle = fields.String(validate=_text)
    display_name = fields.String(validate=_text)
    external_id = fields.String(allow_none=True, validate=_text)
    business_unit = fields.String(allow_none=True, validate=_text)
    owner_id = Integer(allow_none=True, validate=validate.Range(min=1))
    status = fields.Enum(AccountStatus, by_value=True,
                         validate=validate.OneOf([AccountStatus.ACTIVE, AccountStatus.SUSPENDED, AccountStatus.UNMANAGED]))
    notes = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    tags = _tags


class RetireSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class AccountListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=200))
    network = fields.String(validate=validate.Length(max=64))
    status = fields.Enum(AccountStatus, by_value=True)
    business_unit = fields.String(validate=validate.Length(max=255))
    owner_id = Integer(validate=validate.Range(min=1))
    tag = fields.String(validate=validate.Length(max=64))
    health = fields.String(validate=validate.OneOf(["connected", "needs_reconnect", "not_connected"]), metadata={
        "description": "connected (healthy or expiring), needs_reconnect (the network stopped the tokens, or "
                       "they were disconnected) or not_connected (never connected)."})
    sort = fields.String(load_default="handle", validate=validate.OneOf(
        ["handle", "display_name", "business_unit", "status", "created_at", "id"]))


AccountPage = page_schema(AccountSchema, "AccountPage")

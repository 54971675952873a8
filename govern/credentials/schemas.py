"""Legacy credential request and response schemas; passwords and seeds are load-only, except in the one reveal answer."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.credentials.models import DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES, MIN_REASON_LENGTH, MIN_WINDOW_MINUTES
from govern.db import utcnow
from govern.schemas_common import Integer


class CredentialStoreSchema(Schema):
    username = fields.String(load_default=None, validate=validate.Length(min=1, max=320),
                             metadata={"description": "The account's login name; required the first time."})
    password = fields.String(load_only=True, load_default=None, validate=validate.Length(min=1, max=4096),
                             metadata={"description": "Write-only. A new password clears 'rotate now'."})
    totp_seed = fields.String(load_only=True, load_default=None, validate=validate.Length(min=1, max=256),
                              metadata={"description": "Write-only base32 seed (spaces and lower case are accepted)."})


class CheckoutSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    state = fields.Method("_state", metadata={"description": "pending, active, expired, checked_in, cancelled or denied"})
    requested_by = fields.String()
    requester_person_id = fields.Integer()
    reason = fields.String()
    requested_at = fields.DateTime()
    window_minutes = fields.Integer()
    approved_by = fields.String(allow_none=True)
    approver_person_id = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    starts_at = fields.DateTime(allow_none=True)
    ends_at = fields.DateTime(allow_none=True)
    revealed_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    ended_reason = fields.Function(lambda c: c.ended_reason.value if c.ended_reason else None)
    end_note = fields.String(allow_none=True)

    def _state(self, checkout):
        return checkout.state_at(utcnow())


class CredentialSchema(Schema):
    account_id = fields.Function(lambda view: view["credential"].account_id)
    username = fields.Function(lambda view: view["credential"].username)
    has_password = fields.Function(lambda view: view["credential"].has_password)
    has_totp = fields.Function(lambda view: view["credential"].has_totp)
    store_version = fields.Function(lambda view: view["credential"].store_version)
    rotate_now = fields.Function(lambda view: view["credential"].rotate_now)
    rotate_reason = fields.Function(lambda view: view["credential"].rotate_reason)
    last_rotated_at = fields.Function(lambda view: _iso(view["credential"].last_rotated_at))
    updated_by = fields.Function(lambda view: view["credential"].updated_by)
    updated_at = fields.Function(lambda view: _iso(view["credential"].updated_at))
    active_checkout = fields.Nested(CheckoutSchema, allow_none=True)


def _iso(moment):
    return moment.isoformat() if moment else None


class TotpCodeSchema(Schema):
    code = fields.String()
    valid_for_seconds = fields.Integer()


class CheckoutRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=MIN_REASON_LENGTH, max=2000))
    window_minutes = Integer(load_default=DEFAULT_WINDOW_MINUTES, validate=validate.Range(min=MIN_WINDOW_MINUTES, max=MAX_WINDOW_MINUTES))


class CheckoutListArgs(Schema):
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DenySchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class RevealSchema(Schema):
    checkout_id = fields.Integer()
    password = fields.Function(lambda view: view["password"].reveal(),
                               metadata={"description": "The only place govern ever shows a password."})
    ends_at = fields.DateTime()

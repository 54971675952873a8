"""Request and response schemas of govern's own users (console sessions)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

# No control characters: they are never part of an address or a reason, and PostgreSQL refuses NUL outright.
_PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="must not contain control characters")


class SignOutEverywhereSchema(Schema):
    email = fields.String(required=True, validate=[validate.Length(min=3, max=320), _PRINTABLE],
                          metadata={"description": "The console user's email address (case-insensitive)."})
    reason = fields.String(required=True, validate=[validate.Length(min=3, max=500), _PRINTABLE],
                           metadata={"description": "Why, for the audit trail: e.g. 'laptop stolen'."})


class SignedOutEverywhereSchema(Schema):
    email = fields.String()
    sessions_ended = fields.Integer()

"""Notification, delivery and webhook endpoint documents; an endpoint's URL and signing secret are write-only, the
secret answered once, on creation."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from govern.locales import SUPPORTED_LOCALES
from govern.notifications.models import DeliveryState, WebhookKind


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    message = fields.String()
    details = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class WebhookEndpointSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Function(lambda e: e.kind.value, metadata={"description": "generic, slack or teams"})
    locale = fields.String(metadata={"description": "The language its messages are written in: en, ar or he."})
    url_origin = fields.String(metadata={"description": "The address's scheme and host; the rest is kept in the secret store."})
    created_by = fields.String()
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)


class WebhookCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    url = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=2000),
                        metadata={"description": "Write-only: kept in the secret store, never shown again."})
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in WebhookKind]))
    locale = fields.String(load_default="en", validate=validate.OneOf(SUPPORTED_LOCALES))


class WebhookCreatedSchema(WebhookEndpointSchema):
    signing_secret = fields.String(metadata={"description": "HMAC-SHA256 key of the X-Govern-Signature header: shown in "
                                                            "this answer only."})


class DeliverySchema(Schema):
    id = fields.Integer()
    channel = fields.Function(lambda d: d.channel.value)
    state = fields.Function(lambda d: d.state.value, metadata={"description": "pending, delivered or failed"})
    kind = fields.String()
    notification_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)
    webhook_id = fields.Integer(allow_none=True)
    locale = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class DeliveryListArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf([s.value for s in DeliveryState]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=200))

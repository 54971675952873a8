"""Broker request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from govern.adapters.networks.base import MAX_EXTRA_PARAMS, check_extra_authorize_params
from govern.broker.actions import ACTION_CAPABILITIES
from govern.schemas_common import Integer

_url = fields.Url(require_tld=False, schemes={"http", "https"}, load_default=None, validate=validate.Length(max=1024),
                  metadata={"pattern": "^https?://[^/?#\\s]+"})


class NetworkAppSchema(Schema):
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    client_secret = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=4096))
    authorize_url = _url
    token_url = _url
    revocation_url = _url
    whoami_url = _url
    api_url = _url
    scopes = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=None)
    extra_authorize_params = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=None, validate=lambda value: _extra_params_valid(value),
        metadata={"description": f"Extra authorization request parameters (at most {MAX_EXTRA_PARAMS}), e.g. "
                                 '{"ui_locales": "ar", "access_type": "offline"}; never state, code_challenge, '
                                 "redirect_uri, client_id, response_type or scope."},
    )


def _extra_params_valid(value: dict | None) -> bool:
    try:
        check_extra_authorize_params(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return True


class NetworkAppOut(Schema):
    network = fields.Function(lambda app: app.network.key)
    client_id = fields.String()
    authorize_url = fields.String(allow_none=True)
    token_url = fields.String(allow_none=True)
    revocation_url = fields.String(allow_none=True)
    whoami_url = fields.String(allow_none=True)
    api_url = fields.String(allow_none=True)
    scopes = fields.List(fields.String(), allow_none=True)
    extra_authorize_params = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    updated_at = fields.DateTime()


class ConnectStartSchema(Schema):
    network = fields.String(required=True, validate=validate.Length(min=1, max=64))
    account_id = Integer(load_default=None, validate=validate.Range(min=1))
    connector_person_id = Integer(
        load_default=None, validate=validate.Range(min=1),
        metadata={"description": "Set when the token hangs on this person's own login (a connector risk)."},
    )


class ConnectStartOut(Schema):
    authorize_url = fields.String()


class ConnectionSchema(Schema):
    account_id = fields.Integer()
    health = fields.Function(lambda view: view["health"].value)
    stops_working_at = fields.DateTime(allow_none=True)
    store = fields.Function(lambda view: view["connection"].store_kind)
    store_version = fields.Function(lambda view: view["connection"].store_version)
    token_type = fields.Function(lambda view: view["connection"].token_type)
    scopes = fields.Function(lambda view: view["connection"].scopes)
    expires_at = fields.Function(lambda view: view["connection"].expires_at.isoformat() if view["connection"].expires_at else None)
    refresh_expires_at = fields.Function(lambda view: view["connection"].refresh_expires_at.isoformat() if view["connection"].refresh_expires_at else None)
    connected_by = fields.Function(lambda view: view["connection"].connected_by)
    connector_risk = fields.Function(lambda view: view["connection"].connector_is_personal)
    last_refreshed_at = fields.Function(lambda view: view["connection"].last_refreshed_at.isoformat() if view["connection"].last_refreshed_at else None)
    last_used_at = fields.Function(lambda view: view["connection"].last_used_at.isoformat() if view["connection"].last_used_at else None)
    health_detail = fields.Function(lambda view: view["connection"].health_detail)


class ConnectionRefreshSchema(ConnectionSchema):
    refreshed = fields.Boolean(metadata={"description": "False when nothing was refreshed (see refresh_result)."})
    refresh_result = fields.String(metadata={"description": "refreshed, no_refresh_token (nothing to refresh: the connection "
                                                           "is unchanged), not_due, failed or needs_reconnect"})
    refresh_note = fields.String(allow_none=True)


class DisconnectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))


class ActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(sorted(ACTION_CAPABILITIES)))
    params = fields.Dict(keys=fields.String(), load_default=dict)


class ActionResultSchema(Schema):
    action = fields.String()
    outcome = fields.String()
    result = fields.Raw()


class HandoffRequestSchema(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    ttl_seconds = Integer(load_default=120, validate=validate.Range(min=1, max=300))


class HandoffOut(Schema):
    handoff_id = fields.Integer()
    wrapping_token = fields.String(metadata={"description": "Single use; unwrap within ttl_seconds. Shown once."})
    accessor = fields.String()
    expires_at = fields.DateTime()


class UnwrapSchema(Schema):
    # Vault's tokens are printable ASCII; anything else could not even be sent to Vault in a header (it was a 500).
    wrapping_token = fields.String(required=True, load_only=True,
                                   validate=[validate.Length(min=1, max=512), validate.Regexp(r"^[!-~]+$", error="Not a Vault token.")])


class CompromiseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))

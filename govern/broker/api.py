"""/api/v1: register network apps, connect accounts, inspect and refresh connections, hand-offs. (Brokered actions go
through publishing: govern.publishing.api.)"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.broker import handoffs, service
from govern.broker.context import BrokerContext, get_connection
from govern.broker.schemas import (
    CompromiseSchema,
    HandoffOut,
    HandoffRequestSchema,
    ConnectionRefreshSchema,
    ConnectionSchema,
    ConnectStartOut,
    ConnectStartSchema,
    DisconnectSchema,
    NetworkAppOut,
    NetworkAppSchema,
    UnwrapSchema,
)
from govern.extensions import db
from govern.secret_value import SecretValue
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("broker", __name__, url_prefix="/api/v1", description="Token brokering: connect accounts and act through govern")


def broker() -> BrokerContext:
    return app_services.broker()


def connection_view(account_id: int) -> dict:
    connection = get_connection(db.session, account_id)
    health, stops_working_at = service.health_of(connection)
    return {"account_id": account_id, "connection": connection, "health": health, "stops_working_at": stops_working_at}


@blp.route("/networks/<key>/app")
class NetworkAppResource(MethodView):
    @requires(Permission.BROKER_CONFIGURE)
    @blp.arguments(NetworkAppSchema)
    @blp.response(200, NetworkAppOut)
    def put(self, data, key):
        """Register govern's OAuth app on a network (client secret goes to the secret store)."""
        secret = SecretValue(data.pop("client_secret"))
        client_id, scopes, extra = data.pop("client_id"), data.pop("scopes"), data.pop("extra_authorize_params")
        return service.register_network_app(db.session, broker(), current_actor(), key, client_id, secret, data, scopes,
                                            extra_authorize_params=extra)


@blp.route("/connections")
class ConnectStart(MethodView):
    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.arguments(ConnectStartSchema)
    @blp.response(201, ConnectStartOut)
    def post(self, data):
        """Start connecting an account; send the person's browser to authorize_url."""
        network_key = data.pop("network")
        return {"authorize_url": service.start_connect(db.session, broker(), current_actor(), network_key, **data)}


@blp.route("/accounts/<int:account_id>/connection")
class ConnectionResource(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.response(200, ConnectionSchema)
    def get(self, account_id):
        """The account's connection: health, forecast, scopes, who connected it. Never the token."""
        return connection_view(account_id)

    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.arguments(DisconnectSchema)
    @blp.response(200, ConnectionSchema)
    def delete(self, data, account_id):
        """Revoke the account's tokens at the network and destroy every stored version."""
        service.disconnect(db.session, broker(), current_actor(), account_id, data["reason"])
        return connection_view(account_id)


@blp.route("/accounts/<int:account_id>/connection/refresh")
class ConnectionRefresh(MethodView):
    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.response(200, ConnectionRefreshSchema)
    def post(self, account_id):
        """Refresh the account's tokens now; without a refresh token (a Facebook Page) nothing changes and it says so."""
        outcome = service.refresh_tokens(db.session, broker(), current_actor(), account_id, force=True)
        return {**connection_view(account_id), "refreshed": outcome.refreshed, "refresh_result": outcome.result.value,
                "refresh_note": outcome.note}


@blp.route("/accounts/<int:account_id>/handoffs")
class AccountHandoffs(MethodView):
    @requires(Permission.BROKER_HANDOFF)
    @blp.arguments(HandoffRequestSchema)
    @blp.response(201, HandoffOut)
    def post(self, data, account_id):
        """Issue a single-use Vault-wrapped copy of the access token (Vault only; at most 5 minutes)."""
        principal = current_principal()
        handoff, token = handoffs.issue_handoff(
            db.session, broker(), current_actor(), principal.person_id, account_id, data["purpose"], data["ttl_seconds"]
        )
        return {"handoff_id": handoff.id, "wrapping_token": token.reveal(), "accessor": handoff.accessor, "expires_at": handoff.expires_at}


@blp.route("/handoffs/unwrap", methods=["POST"])
@public
@blp.arguments(UnwrapSchema)
def unwrap(data):
    """Unwrap a hand-off (the wrapping token is the credential); a second unwrap is refused and alerts."""
    unwrapped = handoffs.unwrap_handoff(db.session, broker(), current_actor(), SecretValue(data["wrapping_token"]),
                                        app_services.throttle())
    response = jsonify({name: value.reveal() for name, value in unwrapped.items()})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/accounts/<int:account_id>/compromise")
class AccountCompromise(MethodView):
    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.arguments(CompromiseSchema)
    @blp.response(200, ConnectionSchema)
    def post(self, data, account_id):
        """Treat the account as compromised: revoke and destroy its tokens and hand-offs, suspend and flag it."""
        service.mark_compromised(db.session, broker(), current_actor(), account_id, data["reason"])
        return connection_view(account_id)

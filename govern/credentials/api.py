"""/api/v1: store legacy credentials, TOTP codes, and break-glass password checkouts."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.adapters.secret_store import SecretStore
from govern.auth.roles import Permission
from govern.credentials import service
from govern.credentials.schemas import (
    CheckoutListArgs,
    CheckoutRequestSchema,
    CheckoutSchema,
    CredentialSchema,
    CredentialStoreSchema,
    DenySchema,
    RevealSchema,
    TotpCodeSchema,
)
from govern.extensions import db
from govern.secret_value import SecretValue
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("credentials", __name__, url_prefix="/api/v1", description="Legacy passwords and TOTP seeds: codes and break-glass checkouts")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def secret_store() -> SecretStore:
    return app_services.broker().store


def credential_view(account_id: int) -> dict:
    service.close_expired_on_read(db.session, current_actor(), account_id)
    return {"credential": service.get_credential(db.session, account_id), "active_checkout": service.active_checkout(db.session, account_id)}


def _secret(value: str | None) -> SecretValue | None:
    return SecretValue(value) if value is not None else None


@blp.route("/accounts/<int:account_id>/credentials")
class Credentials(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.response(200, CredentialSchema)
    def get(self, account_id):
        """What is stored (never the values), whether the password must be rotated, and any open checkout window."""
        return credential_view(account_id)

    @requires(Permission.ACCOUNTS_CONNECT)
    @blp.arguments(CredentialStoreSchema)
    @blp.response(200, CredentialSchema)
    def put(self, data, account_id):
        """Store the username, password and/or TOTP seed; fields left out keep their stored value."""
        service.store_credentials(db.session, secret_store(), current_actor(), account_id, data["username"],
                                  _secret(data["password"]), _secret(data["totp_seed"]))
        return credential_view(account_id)


@blp.route("/accounts/<int:account_id>/credentials/totp")
class TotpCode(MethodView):
    @requires(Permission.BROKER_USE)
    @blp.response(200, TotpCodeSchema)
    def post(self, account_id):
        """The current TOTP code, for a person with any grant on the account; the seed never leaves govern."""
        principal = current_principal()
        return service.totp_code(db.session, secret_store(), current_actor(), principal.person_id, account_id), 200, NO_STORE


@blp.route("/accounts/<int:account_id>/checkouts")
class AccountCheckouts(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.arguments(CheckoutListArgs, location="query")
    @blp.response(200, CheckoutSchema(many=True))
    def get(self, args, account_id):
        """The account's checkouts, newest first."""
        service.close_expired_on_read(db.session, current_actor(), account_id)
        return service.list_checkouts(db.session, account_id, args["limit"])

    @requires(Permission.BROKER_USE)
    @blp.arguments(CheckoutRequestSchema)
    @blp.response(201, CheckoutSchema)
    def post(self, data, account_id):
        """Ask to see the password (admin or publisher grant, a reason); a second person must approve."""
        return service.request_checkout(db.session, current_actor(), current_principal().person_id, account_id,
                                        data["reason"], data["window_minutes"])


@blp.route("/checkouts/<int:checkout_id>/approve")
class CheckoutApprove(MethodView):
    @requires(Permission.GRANTS_WRITE)
    @blp.response(200, CheckoutSchema)
    def post(self, checkout_id):
        """Approve someone else's checkout (governance or admin); the window starts now."""
        principal = current_principal()
        return service.approve_checkout(db.session, current_actor(), principal.person_id, principal.role, checkout_id)


@blp.route("/checkouts/<int:checkout_id>/deny")
class CheckoutDeny(MethodView):
    @requires(Permission.GRANTS_WRITE)
    @blp.arguments(DenySchema)
    @blp.response(200, CheckoutSchema)
    def post(self, data, checkout_id):
        """Refuse a pending checkout or end an open one early (governance or admin)."""
        principal = current_principal()
        return service.deny_checkout(db.session, current_actor(), principal.person_id, principal.role, checkout_id, data["reason"])


@blp.route("/checkouts/<int:checkout_id>/reveal")
class CheckoutReveal(MethodView):
    @requires(Permission.BROKER_USE)
    @blp.response(200, RevealSchema)
    def post(self, checkout_id):
        """Show the password to the requester while the approved window is open. Audited; never cached."""
        password, ends_at = service.reveal_password(db.session, secret_store(), current_actor(), current_principal().person_id, checkout_id)
        return {"checkout_id": checkout_id, "password": password, "ends_at": ends_at}, 200, NO_STORE


@blp.route("/checkouts/<int:checkout_id>/check-in")
class CheckoutCheckIn(MethodView):
    @requires(Permission.BROKER_USE)
    @blp.response(200, CheckoutSchema)
    def post(self, checkout_id):
        """Done with the password: close the window (a pending request is cancelled). The password is flagged for rotation."""
        return service.check_in(db.session, current_actor(), current_principal().person_id, checkout_id)

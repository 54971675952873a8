"""/api/v1/accounts and /api/v1/networks: parse, authorise, one service call, serialise."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.accounts import service
from govern.accounts.schemas import (
    AccountCreateSchema,
    AccountListArgs,
    AccountPage,
    AccountSchema,
    AccountUpdateSchema,
    NetworkSchema,
    RetireSchema,
)
from govern.auth.roles import Permission
from govern.broker import service as broker
from govern.extensions import db
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="The inventory of corporate social accounts")


def account_filter(args: dict) -> service.AccountFilter:
    """The list's filters as the service takes them; the connection's health is the broker's to say."""
    health = args.pop("health", None)
    return service.AccountFilter(**args, condition=broker.account_health_condition(health) if health else None)


@blp.route("/networks")
class Networks(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.response(200, NetworkSchema(many=True))
    def get(self):
        """The social networks govern knows."""
        return service.list_networks(db.session)


@blp.route("/accounts")
class Accounts(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.arguments(AccountListArgs, location="query")
    @blp.response(200, AccountPage)
    def get(self, args):
        """List accounts, filtered, with keyset pagination."""
        paging = {k: args.pop(k) for k in ("sort", "limit", "cursor")}
        return service.list_accounts(db.session, account_filter(args), **paging)

    @requires(Permission.ACCOUNTS_WRITE)
    @blp.arguments(AccountCreateSchema)
    @blp.response(201, AccountSchema)
    def post(self, data):
        """Add an account to the inventory."""
        return service.create_account(db.session, current_actor(), **data)


@blp.route("/accounts/<int:account_id>")
class AccountDetail(MethodView):
    @requires(Permission.ACCOUNTS_READ)
    @blp.response(200, AccountSchema)
    def get(self, account_id):
        """One account."""
        return service.get_account(db.session, account_id)

    @requires(Permission.ACCOUNTS_WRITE)
    @blp.arguments(AccountUpdateSchema)
    @blp.response(200, AccountSchema)
    def patch(self, changes, account_id):
        """Change an account's inventory fields."""
        return service.update_account(db.session, current_actor(), account_id, changes)


@blp.route("/accounts/<int:account_id>/retire")
class AccountRetire(MethodView):
    @requires(Permission.ACCOUNTS_WRITE)
    @blp.arguments(RetireSchema)
    @blp.response(200, AccountSchema)
    def post(self, data, account_id):
        """Retire an account; every grant on it is revoked."""
        return service.retire_account(db.session, current_actor(), account_id, data["reason"])

"""/api/v1/grants: who may act on which account."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.auth.roles import Permission
from govern.extensions import db
from govern.grants import service
from govern.accounts.service import get_account
from govern.grants.schemas import (
    CountedGrantPage,
    GrantCreateSchema,
    GrantListArgs,
    GrantPage,
    GrantSchema,
    OwnerGrantListArgs,
    RevokeSchema,
)
from govern.people.service import get_person
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("grants", __name__, url_prefix="/api/v1", description="Access grants: person x account x role")


@blp.route("/grants")
class Grants(MethodView):
    @requires(Permission.GRANTS_READ)
    @blp.arguments(GrantListArgs, location="query")
    @blp.response(200, GrantPage)
    def get(self, args):
        """List grants; by default only those in force now (expired ones stop counting at their expiry)."""
        paging = {k: args.pop(k) for k in ("limit", "cursor")}
        return service.list_grants(db.session, service.GrantFilter(**args), **paging)

    @requires(Permission.GRANTS_WRITE)
    @blp.arguments(GrantCreateSchema)
    @blp.response(201, GrantSchema)
    def post(self, data):
        """Grant a person a role on an account, optionally until a given time."""
        return service.create_grant(db.session, current_actor(), **data)


@blp.route("/grants/<int:grant_id>")
class GrantDetail(MethodView):
    @requires(Permission.GRANTS_READ)
    @blp.response(200, GrantSchema)
    def get(self, grant_id):
        """One grant."""
        return service.get_grant(db.session, grant_id)


@blp.route("/grants/<int:grant_id>/revoke")
class GrantRevoke(MethodView):
    @requires(Permission.GRANTS_WRITE)
    @blp.arguments(RevokeSchema)
    @blp.response(200, GrantSchema)
    def post(self, data, grant_id):
        """Revoke a grant now."""
        return service.revoke_grant(db.session, current_actor(), grant_id, data["reason"])


@blp.route("/accounts/<int:account_id>/grants")
class AccountGrants(MethodView):
    @requires(Permission.GRANTS_READ)
    @blp.arguments(OwnerGrantListArgs, location="query")
    @blp.response(200, CountedGrantPage)
    def get(self, args, account_id):
        """An account's grants, newest first, a page at a time, with how many there are in all."""
        get_account(db.session, account_id)
        return service.grants_page(db.session, service.GrantFilter(account_id=account_id, state=args["state"]),
                                   args["limit"], args["cursor"])


@blp.route("/people/<int:person_id>/grants")
class PersonGrants(MethodView):
    @requires(Permission.GRANTS_READ)
    @blp.arguments(OwnerGrantListArgs, location="query")
    @blp.response(200, CountedGrantPage)
    def get(self, args, person_id):
        """A person's grants, newest first, a page at a time, with how many there are in all."""
        get_person(db.session, person_id)
        return service.grants_page(db.session, service.GrantFilter(person_id=person_id, state=args["state"]),
                                   args["limit"], args["cursor"])

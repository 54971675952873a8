"""/api/v1/retention and /api/v1/legal-holds: retention per data kind, the purge, and legal holds."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.db import utcnow
from govern.extensions import db
from govern.retention import service
from govern.retention.schemas import (
    LegalHoldListArgs,
    LegalHoldPlaceSchema,
    LegalHoldReleaseSchema,
    LegalHoldSchema,
    PurgeArgs,
    PurgeResultSchema,
    RetentionSchema,
)
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("retention", __name__, url_prefix="/api/v1", description="Data retention and legal holds")


def configured_days() -> dict[str, int]:
    return app_services.settings().retention_days


@blp.route("/retention")
class Retention(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.response(200, RetentionSchema)
    def get(self):
        """Data kinds and their retention, the holds in place, and what a purge would do now."""
        return service.retention_overview(db.session, configured_days())


@blp.route("/retention/purge")
class Purge(MethodView):
    @requires(Permission.AUDIT_MANAGE)
    @blp.arguments(PurgeArgs, required=False)
    @blp.response(200, PurgeResultSchema)
    def post(self, data):
        """Purge now (the daily job does the same); held kinds and the audit trail are never touched."""
        outcomes = service.purge(db.session, current_actor(), utcnow(), data["dry_run"], configured_days())
        return {"dry_run": data["dry_run"], "kinds": [outcome.as_document() for outcome in outcomes]}


@blp.route("/legal-holds")
class LegalHolds(MethodView):
    @requires(Permission.AUDIT_READ)
    @blp.arguments(LegalHoldListArgs, location="query")
    @blp.response(200, LegalHoldSchema(many=True))
    def get(self, args):
        """Legal holds, newest first."""
        return service.list_holds(db.session, active_only=args["active"])

    @requires(Permission.AUDIT_MANAGE)
    @blp.arguments(LegalHoldPlaceSchema)
    @blp.response(201, LegalHoldSchema)
    def post(self, data):
        """Place a hold: retention deletes nothing of the named kinds until it is released."""
        return service.place_hold(db.session, current_actor(), data["name"], data["data_kinds"], data["reason"])


@blp.route("/legal-holds/<int:hold_id>/release")
class LegalHoldRelease(MethodView):
    @requires(Permission.AUDIT_MANAGE)
    @blp.arguments(LegalHoldReleaseSchema)
    @blp.response(200, LegalHoldSchema)
    def post(self, data, hold_id):
        """Release a hold, saying why; the next purge deletes what it kept."""
        return service.release_hold(db.session, current_actor(), hold_id, data["reason"])

"""/api/v1/pauses: pause publishing for a scope, list and read pauses, resume one (a second person)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.auth.roles import Permission
from govern.extensions import db
from govern.pauses import service
from govern.pauses.schemas import PauseQuerySchema, PauseRequestSchema, PauseSchema, ResumeRequestSchema
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("pauses", __name__, url_prefix="/api/v1",
                description="Pause All: stop publishing for everything, a business unit, a network or an account")


@blp.route("/pauses")
class Pauses(MethodView):
    @requires(Permission.PAUSES_READ)
    @blp.arguments(PauseQuerySchema, location="query")
    @blp.response(200, PauseSchema(many=True))
    def get(self, query):
        """Pauses, newest first: active and past (filter with `active`)."""
        return service.list_pauses(db.session, query["active"])

    @requires(Permission.PUBLISHING_PAUSE)
    @blp.arguments(PauseRequestSchema)
    @blp.response(201, PauseSchema)
    def post(self, data):
        """Pause now: publish, reply and delete_post on accounts in scope answer 423, hand-offs are refused, approvals
        do not publish; hide_comment goes on. In force in every process once this answers."""
        return service.pause(db.session, current_actor(), current_principal().person_id, data["scope"]["type"],
                             data["scope"]["value"], data["reason"], data["resume_at"])


@blp.route("/pauses/<int:pause_id>")
class Pause(MethodView):
    @requires(Permission.PAUSES_READ)
    @blp.response(200, PauseSchema)
    def get(self, pause_id):
        """One pause."""
        return service.get_pause(db.session, pause_id)


@blp.route("/pauses/<int:pause_id>/resume")
class Resume(MethodView):
    @requires(Permission.PUBLISHING_PAUSE)
    @blp.arguments(ResumeRequestSchema)
    @blp.response(200, PauseSchema)
    def post(self, data, pause_id):
        """Resume: a second person; the one who paused gets 409 (second-person-required)."""
        return service.resume(db.session, current_actor(), current_principal().person_id, pause_id, data["note"])

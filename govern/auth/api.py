"""/api/v1/console-users: an administrator ends every console session of a user ("sign out everywhere")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.auth import sessions
from govern.auth.roles import Permission
from govern.auth.schemas import SignedOutEverywhereSchema, SignOutEverywhereSchema
from govern.extensions import db
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("console_users", __name__, url_prefix="/api/v1", description="govern's console users and their sessions")


@blp.route("/console-users/sign-out-everywhere")
class SignOutEverywhere(MethodView):
    @requires(Permission.SESSIONS_MANAGE)
    @blp.arguments(SignOutEverywhereSchema)
    @blp.response(200, SignedOutEverywhereSchema)
    def post(self, data):
        """End every console session of the user at once (a lost laptop, a cookie that may have been copied); audited."""
        user, ended = sessions.sign_out_everywhere(db.session, current_actor(), data["email"], data["reason"])
        return {"email": user.email, "sessions_ended": ended}

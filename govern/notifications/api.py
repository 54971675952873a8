"""/api/v1/notifications: what govern has to tell the caller's person."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from govern.auth.roles import Permission
from govern.extensions import db
from govern.notifications import service
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Notifications for the caller")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    message = fields.String()
    details = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


@blp.route("/notifications")
class Notifications(MethodView):
    @requires(Permission.CONSOLE_USE)
    @blp.response(200, NotificationSchema(many=True))
    def get(self):
        """Unread notifications of the person the caller acts for, newest first."""
        return service.unread_for(db.session, current_principal().person_id)


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @requires(Permission.CONSOLE_USE)
    @blp.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one notification read."""
        return service.mark_read(db.session, current_actor(), current_principal().person_id, notification_id)

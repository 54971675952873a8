"""/api/v1/notifications: what govern has to tell the caller's person; for administrators, the webhook endpoints and
the state of every e-mail and webhook delivery."""

from __future__ import annotations

from types import SimpleNamespace

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.extensions import db
from govern.notifications import delivery, endpoints, service
from govern.notifications.models import DeliveryState, WebhookKind
from govern.notifications.schemas import (
    DeliveryListArgs,
    DeliverySchema,
    NotificationSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookEndpointSchema,
)
from govern.secret_value import SecretValue
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="Notifications, their deliveries and webhooks")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


@blp.route("/notifications/webhooks")
class Webhooks(MethodView):
    @requires(Permission.ADMIN_MANAGE)
    @blp.response(200, WebhookEndpointSchema(many=True))
    def get(self):
        """Webhook endpoints (removed ones last); never their address beyond its origin, never their secret."""
        return endpoints.list_endpoints(db.session)

    @requires(Permission.ADMIN_MANAGE)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookCreatedSchema)
    def post(self, data):
        """Add an endpoint. The answer holds its signing secret, this once."""
        endpoint, secret = endpoints.add_endpoint(db.session, app_services.broker().store, current_actor(), data["name"],
                                                  SecretValue(data["url"]), WebhookKind(data["kind"]), data["locale"])
        shown = {name: getattr(endpoint, name) for name in WebhookEndpointSchema().fields}
        return SimpleNamespace(**shown, signing_secret=secret.reveal()), 201, NO_STORE


@blp.route("/notifications/webhooks/<int:endpoint_id>")
class Webhook(MethodView):
    @requires(Permission.ADMIN_MANAGE)
    @blp.response(200, WebhookEndpointSchema)
    def delete(self, endpoint_id):
        """Remove an endpoint: nothing more is posted to it, and its address and secret are destroyed."""
        return endpoints.remove_endpoint(db.session, app_services.broker().store, current_actor(), endpoint_id)


@blp.route("/notifications/deliveries")
class Deliveries(MethodView):
    @requires(Permission.ADMIN_MANAGE)
    @blp.arguments(DeliveryListArgs, location="query")
    @blp.response(200, DeliverySchema(many=True))
    def get(self, args):
        """E-mail and webhook deliveries, newest first: pending (with the next try), delivered or failed."""
        state = DeliveryState(args["state"]) if args["state"] else None
        return delivery.list_deliveries(db.session, state, args["limit"])


@blp.route("/notifications/deliveries/<int:delivery_id>/retry")
class DeliveryRetry(MethodView):
    @requires(Permission.ADMIN_MANAGE)
    @blp.response(200, DeliverySchema)
    def post(self, delivery_id):
        """Try a failed delivery again now."""
        return delivery.retry(db.session, current_actor(), delivery_id)

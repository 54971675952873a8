"""/api/v1/alerts: spikes of inbound volume and crisis keywords on the accounts, and acknowledging them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern.alerts import service
from govern.alerts.schemas import AcknowledgeSchema, AlertListArgs, AlertPage, AlertSchema
from govern.auth.roles import Permission
from govern.extensions import db
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("alerts", __name__, url_prefix="/api/v1",
                description="Alerts: spikes of inbound comments and messages, and crisis keywords, per account")


@blp.route("/alerts")
class Alerts(MethodView):
    @requires(Permission.ALERTS_READ)
    @blp.arguments(AlertListArgs, location="query")
    @blp.response(200, AlertPage)
    def get(self, args):
        """Alerts, newest first; filter by account, kind (spike, keyword) and status (open, acknowledged)."""
        paging = {key: args.pop(key) for key in ("limit", "cursor")}
        return service.list_alerts(db.session, service.AlertFilter(**args), **paging)


@blp.route("/alerts/<int:alert_id>")
class AlertDetail(MethodView):
    @requires(Permission.ALERTS_READ)
    @blp.response(200, AlertSchema)
    def get(self, alert_id):
        """One alert."""
        return service.get_alert(db.session, alert_id)


@blp.route("/alerts/<int:alert_id>/acknowledge")
class AlertAcknowledge(MethodView):
    @requires(Permission.ALERTS_ACKNOWLEDGE)
    @blp.arguments(AcknowledgeSchema)
    @blp.response(200, AlertSchema)
    def post(self, data, alert_id):
        """Say the alert is seen and handled (409 when it already was), with an optional note; audited."""
        return service.acknowledge(db.session, current_actor(), alert_id, data["note"])

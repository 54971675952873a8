"""/api/v1: brokered actions through the policy's gate, posts awaiting approval, scans of what is published."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.broker.schemas import ActionResultSchema, ActionSchema
from govern.extensions import db
from govern.jobs import enqueue_after_commit
from govern.outbox import service as outbox
from govern.outbox.schemas import JobSchema
from govern.publishing import service, tasks
from govern.publishing.schemas import ApprovalDecisionSchema, ApprovalQuerySchema, ApprovalSchema
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("publishing", __name__, url_prefix="/api/v1",
                description="Publishing: act on accounts through the policy's gate, approvals, scans of what is published")


@blp.route("/accounts/<int:account_id>/actions")
class AccountActions(MethodView):
    @requires(Permission.BROKER_USE)
    @blp.arguments(ActionSchema)
    @blp.response(200, ActionResultSchema)
    def post(self, data, account_id):
        """Act on the account through govern: grant checked, token used server-side, result returned, audited."""
        outcome = service.act(db.session, app_services.publisher(), current_actor(), current_principal().person_id,
                              account_id, data["action"], data["params"])
        if outcome.awaiting_approval:
            pending = {"approval_id": outcome.approval.id, **outcome.decision.document()}
            return {"action": data["action"], "outcome": "pending_approval", "result": pending}, 202
        return {"action": data["action"], "outcome": "ok", "result": outcome.result}


@blp.route("/policy/scans")
class Scans(MethodView):
    @requires(Permission.POLICY_DECIDE)
    @blp.response(202, JobSchema)
    def post(self):
        """Scan every connected account's recent posts and comments now: a job, stored with this request and run once
        after it (`delivered` is false until the broker has it; read its state at /policy/scans/{job_id})."""
        return outbox.job_document(enqueue_after_commit(db.session, tasks.scan_published))


@blp.route("/policy/scans/<job_id>")
class Scan(MethodView):
    @requires(Permission.POLICY_REVIEW)
    @blp.response(200, JobSchema)
    def get(self, job_id):
        """A scan asked for on demand: pending, delivered (waiting for a worker), done or failed."""
        return outbox.job_document(outbox.get_job(db.session, job_id, [tasks.scan_published.name]))


@blp.route("/policy/approvals")
class Approvals(MethodView):
    @requires(Permission.POLICY_REVIEW)
    @blp.arguments(ApprovalQuerySchema, location="query")
    @blp.response(200, ApprovalSchema(many=True))
    def get(self, query):
        """Posts the policy sent for approval."""
        return service.list_approvals(db.session, query["status"])


@blp.route("/policy/approvals/<int:approval_id>/approve")
class Approve(MethodView):
    @requires(Permission.POLICY_DECIDE)
    @blp.arguments(ApprovalDecisionSchema)
    @blp.response(200, ApprovalSchema)
    def post(self, data, approval_id):
        """Approve: the post goes out now for the person who wrote it (checked again against the packs in force)."""
        return service.approve(db.session, app_services.publisher(), current_actor(), approval_id, data["note"])


@blp.route("/policy/approvals/<int:approval_id>/reject")
class Reject(MethodView):
    @requires(Permission.POLICY_DECIDE)
    @blp.arguments(ApprovalDecisionSchema)
    @blp.response(200, ApprovalSchema)
    def post(self, data, approval_id):
        """Reject, saying why."""
        return service.reject(db.session, current_actor(), approval_id, data["note"] or "")

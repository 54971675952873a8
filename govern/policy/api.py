"""/api/v1/policy: evaluate a post, the packs in force, the violations queue and its exceptions."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.audit.service import record
from govern.auth.roles import Permission
from govern.extensions import db
from govern.policy import service
from govern.policy.schemas import (
    DecisionSchema,
    EvaluateSchema,
    ExceptionCreateSchema,
    ExceptionQuerySchema,
    ExceptionRemoveSchema,
    ExceptionSchema,
    PacksSchema,
    ViolationQuerySchema,
    ViolationSchema,
    ViolationUpdateSchema,
)
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

blp = Blueprint("policy", __name__, url_prefix="/api/v1/policy", description="The social media policy: decisions, violations, approvals")


def runtime() -> service.PolicyRuntime:
    return app_services.policy()


@blp.route("/evaluate")
class Evaluate(MethodView):
    @requires(Permission.POLICY_EVALUATE)
    @blp.arguments(EvaluateSchema)
    @blp.response(200, DecisionSchema)
    def post(self, data):
        """Evaluate a post (text and images) for an account or network; nothing is published or stored."""
        decision = service.evaluate(db.session, runtime(), data["text"], account_id=data["account_id"],
                                    network=data["network"], media=service.decode_media(data["media"]))
        return service.decision_document(decision)


@blp.route("/packs")
class Packs(MethodView):
    @requires(Permission.POLICY_EVALUATE)
    @blp.response(200, PacksSchema)
    def get(self):
        """The packs in force: their content hash (every decision records it) and how many rules they hold."""
        return service.packs_summary(runtime())

    @requires(Permission.POLICY_MANAGE)
    @blp.response(200, PacksSchema)
    def post(self):
        """Reload the packs from disk; a pack that does not validate is refused and the ones in force stay."""
        before = runtime().version
        after = runtime().reload()
        record(db.session, current_actor(), "policy:packs:reload", "policy_packs", after, before=before)
        return service.packs_summary(runtime())


@blp.route("/violations")
class Violations(MethodView):
    @requires(Permission.POLICY_REVIEW)
    @blp.arguments(ViolationQuerySchema, location="query")
    @blp.response(200, ViolationSchema(many=True))
    def get(self, query):
        """Published posts and comments that break a rule, newest first."""
        return service.list_violations(db.session, query["status"], query["account_id"])


@blp.route("/violations/<int:violation_id>")
class ViolationResource(MethodView):
    @requires(Permission.POLICY_DECIDE)
    @blp.arguments(ViolationUpdateSchema)
    @blp.response(200, ViolationSchema)
    def patch(self, data, violation_id):
        """Assign, resolve, or mark a false positive (closing needs a note)."""
        return service.update_violation(db.session, current_actor(), violation_id, data["status"],
                                        assignee=data["assignee"], note=data["note"])


@blp.route("/exceptions")
class Exceptions(MethodView):
    @requires(Permission.POLICY_REVIEW)
    @blp.arguments(ExceptionQuerySchema, location="query")
    @blp.response(200, ExceptionSchema(many=True))
    def get(self, query):
        """Scoped exceptions learned from false positives, newest first (removed ones too with include_removed)."""
        return service.list_exceptions(db.session, include_removed=query["include_removed"],
                                       account_id=query["account_id"], rule=query["rule"])

    @requires(Permission.POLICY_DECIDE)
    @blp.arguments(ExceptionCreateSchema)
    @blp.response(201, ExceptionSchema(many=True))
    def post(self, data):
        """Except what a false positive found, in the scope chosen; an open violation is marked a false positive.
        The next evaluation honours it. One exception per rule (and value) of the violation."""
        return service.add_exceptions(db.session, current_actor(), runtime().version, data["violation_id"],
                                      data["scope"], data["reason"])


@blp.route("/exceptions/<int:exception_id>")
class ExceptionResource(MethodView):
    @requires(Permission.POLICY_DECIDE)
    @blp.arguments(ExceptionRemoveSchema)
    @blp.response(200, ExceptionSchema)
    def delete(self, data, exception_id):
        """Remove an exception: the next evaluation flags what it lifted again. It stays listed as removed."""
        return service.remove_exception(db.session, current_actor(), exception_id, data["reason"])

"""/api/v1: posts (compose, edit, submit, approve, reject, cancel), approval rules, and outside approvers' links."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from govern import app_services
from govern.auth.roles import Permission
from govern.extensions import db
from govern.publishing import approvals, external_approvals, posts
from govern.publishing.schemas import (
    ApprovalRuleSchema, ApprovalRuleUpdateSchema, ExternalLinkRequestSchema, ExternalLinkSchema, PostCancelSchema,
    PostCreateSchema, PostDecisionSchema, PostQuerySchema, PostRejectionSchema, PostSchema, PostUpdateSchema,
)
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

blp = Blueprint("posts", __name__, url_prefix="/api/v1",
                description="Posts for one or more accounts, their approval steps, approval rules, outside approvers' links")


def approval_ttl() -> timedelta:
    return timedelta(days=app_services.settings().post_approval_ttl_days)


def approver() -> approvals.Approver:
    principal = current_principal()
    return approvals.Approver(current_actor(), principal.person_id, principal.role.value)


@blp.route("/posts")
class Posts(MethodView):
    @requires(Permission.POSTS_READ)
    @blp.arguments(PostQuerySchema, location="query")
    @blp.response(200, PostSchema(many=True))
    def get(self, query):
        """Posts, newest first; filter by state and by account."""
        return posts.list_posts(db.session, query["state"], query["account_id"])

    @requires(Permission.POSTS_WRITE)
    @blp.arguments(PostCreateSchema)
    @blp.response(201, PostSchema)
    def post(self, data):
        """Compose a post for one or more accounts (one target each); `submit: true` submits it at once."""
        submit = data.pop("submit")
        post = posts.create_post(db.session, current_actor(), current_principal().person_id, data.pop("account_ids"),
                                 data.pop("text"), **data)
        if submit:
            posts.submit_post(db.session, app_services.publisher(), current_actor(), post.id, ttl=approval_ttl())
        return post


@blp.route("/posts/<int:post_id>")
class OnePost(MethodView):
    @requires(Permission.POSTS_READ)
    @blp.response(200, PostSchema)
    def get(self, post_id):
        """A post with its targets' states and its approval steps (who approved, until when)."""
        return posts.get_post(db.session, post_id)

    @requires(Permission.POSTS_WRITE)
    @blp.arguments(PostUpdateSchema)
    @blp.response(200, PostSchema)
    def patch(self, data, post_id):
        """Edit a post not yet out: every approval given so far is reset; a submitted post is submitted again."""
        return posts.update_post(db.session, app_services.publisher(), current_actor(), post_id, data, ttl=approval_ttl())


@blp.route("/posts/<int:post_id>/submit")
class Submit(MethodView):
    @requires(Permission.POSTS_WRITE)
    @blp.response(200, PostSchema)
    def post(self, post_id):
        """The policy checks it (422 with the findings when it blocks); then it waits for its approval steps, or is
        scheduled, or goes out now when none apply."""
        return posts.submit_post(db.session, app_services.publisher(), current_actor(), post_id, ttl=approval_ttl())


@blp.route("/posts/<int:post_id>/approve")
class Approve(MethodView):
    @requires(Permission.POSTS_APPROVE)
    @blp.arguments(PostDecisionSchema)
    @blp.response(200, PostSchema)
    def post(self, data, post_id):
        """Approve the step waiting on you (403 if no waiting step names you or your role, or it is your own post)."""
        return approvals.approve(db.session, app_services.publisher(), approver(), post_id, data["note"], ttl=approval_ttl())


@blp.route("/posts/<int:post_id>/reject")
class Reject(MethodView):
    @requires(Permission.POSTS_APPROVE)
    @blp.arguments(PostRejectionSchema)
    @blp.response(200, PostSchema)
    def post(self, data, post_id):
        """Reject, saying why: the post goes back to its author as a draft, and the author is told."""
        return approvals.reject(db.session, approver(), post_id, data["reason"])


@blp.route("/posts/<int:post_id>/cancel")
class Cancel(MethodView):
    @requires(Permission.POSTS_WRITE)
    @blp.arguments(PostCancelSchema)
    @blp.response(200, PostSchema)
    def post(self, data, post_id):
        """Cancel a post not yet out."""
        return posts.cancel_post(db.session, current_actor(), post_id, data["reason"])


@blp.route("/posts/<int:post_id>/external-approvals")
class ExternalApprovals(MethodView):
    @requires(Permission.POSTS_WRITE)
    @blp.arguments(ExternalLinkRequestSchema)
    @blp.response(201, ExternalLinkSchema)
    def post(self, data, post_id):
        """A single-use, expiring link for an outside approver a step names by e-mail; the URL is shown once."""
        link, token = external_approvals.create_link(
            db.session, current_actor(), current_app.secret_key, post_id, data["name"], data["email"],
            ttl=timedelta(hours=data["expires_in_hours"]))
        url = app_services.settings().base_url.rstrip("/") + f"/external-approvals/{token.reveal()}"
        return {"id": link.id, "post_id": link.post_id, "approver_name": link.approver_name,
                "approver_email": link.approver_email, "expires_at": link.expires_at, "url": url}


@blp.route("/approval-rules")
class ApprovalRules(MethodView):
    @requires(Permission.POSTS_READ)
    @blp.response(200, ApprovalRuleSchema(many=True))
    def get(self):
        """Every approval rule: its scope and its ordered steps."""
        return approvals.list_rules(db.session)

    @requires(Permission.APPROVAL_RULES_MANAGE)
    @blp.arguments(ApprovalRuleSchema)
    @blp.response(201, ApprovalRuleSchema)
    def post(self, data):
        """A rule for a scope (all, business_unit, network, account); for each account the most specific rule applies."""
        return approvals.create_rule(db.session, current_actor(), data["name"], data["scope_type"], data["scope_value"],
                                     data["steps"])


@blp.route("/approval-rules/<int:rule_id>")
class ApprovalRule(MethodView):
    @requires(Permission.POSTS_READ)
    @blp.response(200, ApprovalRuleSchema)
    def get(self, rule_id):
        """One approval rule."""
        return approvals.get_rule(db.session, rule_id)

    @requires(Permission.APPROVAL_RULES_MANAGE)
    @blp.arguments(ApprovalRuleUpdateSchema)
    @blp.response(200, ApprovalRuleSchema)
    def patch(self, data, rule_id):
        """Change a rule; posts already submitted keep the steps they were submitted under."""
        return approvals.update_rule(db.session, current_actor(), rule_id, data)

    @requires(Permission.APPROVAL_RULES_MANAGE)
    @blp.response(204)
    def delete(self, rule_id):
        """Remove a rule."""
        approvals.delete_rule(db.session, current_actor(), rule_id)


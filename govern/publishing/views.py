"""The publishing console pages: a post written on an account's card goes through the gate, an approval if the policy
asks for one, and the broker; governance approves or rejects the posts that wait."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import app_services
from govern.auth.roles import Permission
from govern.console.blueprint import ConsolePages
from govern.console.responses import account_page, refusal, refuse
from govern.console.templating import isolate
from govern.errors import DomainError
from govern.extensions import db
from govern.people.models import Person
from govern.policy.views import MAX_NOTE, ShownFinding, reader_explanation
from govern.publishing import calendar_views, post_views
from govern.publishing import service as publishing
from govern.publishing.models import PublishApproval
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()


@routes.post("/accounts/<int:account_id>/publish")
@requires(Permission.BROKER_USE)
def publish(account_id: int):
    text = request.form.get("text", "").strip()
    if not text:
        return account_page(account_id, 422, failed_form="publish", errors={"text": _("Write the post first.")})
    try:
        outcome = publishing.act(db.session, app_services.publisher(), current_actor(), current_principal().person_id,
                                 account_id, "publish", {"text": text[:5000]})
    except DomainError as error:
        return refuse(error, account_page, account_id, reason=_publish_refusal, failed_form="publish")
    if outcome.awaiting_approval:
        flash(_("The policy sends this post to a governance approver first (approval %(id)s); it is not published yet.",
                id=outcome.approval.id), "info")
        return redirect(url_for(".account", account_id=account_id))
    flash(_("Published through govern (post %(id)s).", id=outcome.result.get("id", "?")), "success")
    return redirect(url_for(".account", account_id=account_id))


def _publish_refusal(error: DomainError) -> str:
    """A blocked post says why in the reader's language: each finding's explanation from its pack's ar/he text."""
    reason = refusal(error)
    if not isinstance(error, publishing.PolicyBlocked):
        return reason
    findings = error.decision.document()["findings"][:3]
    return _("The policy blocks this post, so it was not published: %(explanations)s",
             explanations="; ".join(reader_explanation(finding) for finding in findings))


# --- approvals ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalRow:
    approval: PublishApproval
    requester: Person | None
    findings: list[ShownFinding]
    text: str


def _approval_rows(session: Session) -> list[ApprovalRow]:
    approvals = publishing.list_approvals(session)
    person_ids = {approval.person_id for approval in approvals}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))} if person_ids else {}
    return [ApprovalRow(approval, people.get(approval.person_id), ShownFinding.numbered(approval.findings or []),
                        str((approval.params or {}).get("text", ""))) for approval in approvals]


def _approvals_page(status: int = 200, **form_state):
    return render_template("publishing/approvals.html", rows=_approval_rows(db.session), **form_state), status


def _approval_refusal(error: DomainError) -> str:
    reason = refusal(error)
    if isinstance(error, publishing.PolicyBlocked):
        rules = ", ".join(sorted({finding.rule for finding in error.decision.findings}))
        return _("The policy in force now blocks this post (%(rules)s), so it was not published. Reject it and tell "
                 "the author why.", rules=isolate(rules))
    return _("The post was not published: %(reason)s", reason=isolate(reason))


@routes.get("/policy/approvals")
@requires(Permission.POLICY_REVIEW)
def policy_approvals():
    return _approvals_page()


@routes.post("/policy/approvals/<int:approval_id>/approve")
@requires(Permission.POLICY_DECIDE)
def policy_approve(approval_id: int):
    """The post goes out now for the person who wrote it, checked again against the packs in force."""
    note = request.form.get("note", "").strip()[:MAX_NOTE] or None
    try:
        publishing.approve(db.session, app_services.publisher(), current_actor(), approval_id, note)
    except DomainError as error:
        flash(_approval_refusal(error), "error")
        return _approvals_page(error.status)
    flash(_("Approval %(id)s approved: the post was published.", id=approval_id), "success")
    return redirect(url_for(".policy_approvals"))


@routes.post("/policy/approvals/<int:approval_id>/reject")
@requires(Permission.POLICY_DECIDE)
def policy_reject(approval_id: int):
    note = request.form.get("note", "").strip()
    if not note or len(note) > MAX_NOTE:
        flash(_("Write why the post is rejected (at most %(count)s characters): its author reads this.", count=MAX_NOTE), "error")
        return _approvals_page(422, failed_form=f"approval-{approval_id}")
    try:
        publishing.reject(db.session, current_actor(), approval_id, note)
    except DomainError as error:
        flash(_("The post was not rejected: %(reason)s", reason=isolate(refusal(error))), "error")
        return _approvals_page(error.status)
    flash(_("Approval %(id)s rejected; the post was not published.", id=approval_id), "success")
    return redirect(url_for(".policy_approvals"))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
    post_views.register(console)
    calendar_views.register(console)

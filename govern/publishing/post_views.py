"""The posts console pages: the queue, the compose form, a post with its targets and approval steps (approve, reject),
and the page an outside approver opens from their single-use link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from govern import app_services
from govern.accounts.models import AccountStatus, Network, SocialAccount
from govern.auth.roles import Permission, Role
from govern.console import confirm
from govern.console.blueprint import ConsolePages
from govern.console.forms import split_entries
from govern.console.labels import label
from govern.console.responses import refusal
from govern.console.templating import isolate
from govern.errors import N_, DomainError
from govern.extensions import db
from govern.people.models import Person
from govern.people.service import find_people
from govern.publishing import approvals, external_approvals, posts
from govern.publishing.models import ApprovalRule, PostState, RuleScope, StepMode
from govern.scim import group_membership
from govern.web.authz import public, requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()
MAX_REASON = 4000


def _ttl() -> timedelta:
    return timedelta(days=app_services.settings().post_approval_ttl_days)


def _approver() -> approvals.Approver:
    principal = current_principal()
    return approvals.Approver(current_actor(), principal.person_id, principal.role.value)


def _state_arg() -> PostState | None:
    try:
        return PostState(request.args.get("state") or "") if request.args.get("state") else None
    except ValueError:
        return None


@routes.get("/posts")
@requires(Permission.POSTS_READ)
def posts_queue():
    account_id = request.args.get("account_id", type=int)
    rows = posts.list_posts(db.session, _state_arg(), account_id)
    return render_template("publishing/posts.html", rows=rows, states=list(PostState), accounts=_accounts(),
                           chosen_state=request.args.get("state", ""), chosen_account=account_id)


def _accounts() -> list[SocialAccount]:
    return list(db.session.scalars(select(SocialAccount).where(SocialAccount.status == AccountStatus.ACTIVE)
                                   .order_by(SocialAccount.handle).limit(500)))


def _compose_page(status: int = 200, errors: dict[str, str] | None = None):
    return render_template("publishing/compose.html", accounts=_accounts(), errors=errors or {}), status


@routes.get("/posts/new")
@requires(Permission.POSTS_WRITE)
def compose_post():
    return _compose_page()


def _composed() -> tuple[dict, dict[str, str]]:
    """The compose form read into the service's arguments, or what is wrong with it."""
    form, errors = request.form, {}
    account_ids = [int(a) for a in form.getlist("account_ids") if a.isdigit()]
    if not account_ids:
        errors["account_ids"] = _("Choose at least one account.")
    if not form.get("text", "").strip():
        errors["text"] = _("Write the post first.")
    scheduled_at = None
    if form.get("scheduled_at"):
        try:
            scheduled_at = datetime.fromisoformat(form["scheduled_at"]).replace(tzinfo=UTC)
        except ValueError:
            errors["scheduled_at"] = _("Give the time as a date and a time (UTC).")
    variants = {}
    if form.get("variant_network", "").strip() and form.get("variant_text", "").strip():
        variants[form["variant_network"].strip()[:64]] = {"text": form["variant_text"].strip()[:5000], "media": []}
    return {"account_ids": account_ids, "text": form.get("text", "").strip()[:5000], "variants": variants,
            "scheduled_at": scheduled_at}, errors


@routes.post("/posts/new")
@requires(Permission.POSTS_WRITE)
def create_post():
    data, errors = _composed()
    if errors:
        return _compose_page(422, errors)
    try:
        post = posts.create_post(db.session, current_actor(), current_principal().person_id, data.pop("account_ids"),
                                 data.pop("text"), **data)
        if request.form.get("submit_now"):
            posts.submit_post(db.session, app_services.publisher(), current_actor(), post.id, ttl=_ttl())
    except DomainError as error:
        flash(_("The post was not saved: %(reason)s", reason=isolate(refusal(error))), "error")
        return _compose_page(error.status)
    flash(_("Post %(id)s saved.", id=post.id), "success")
    return redirect(url_for(".post_page", post_id=post.id))


def _post_page(post_id: int, status: int = 200):
    post = posts.get_post(db.session, post_id)
    return render_template("publishing/post.html", post=post, steps=approvals.progress(post)), status


@routes.get("/posts/<int:post_id>")
@requires(Permission.POSTS_READ)
def post_page(post_id: int):
    try:
        return _post_page(post_id)
    except DomainError as error:
        flash(refusal(error), "error")
        return redirect(url_for(".posts_queue"))


def _act(post_id: int, done: str, call):
    """Run one decision on a post and come back to its page, saying what happened or why it did not."""
    try:
        call()
    except DomainError as error:
        flash(_("Nothing was changed: %(reason)s", reason=isolate(refusal(error))), "error")
        return redirect(url_for(".post_page", post_id=post_id) if db.session.get(posts.Post, post_id) else url_for(".posts_queue"))
    flash(done, "success")
    return redirect(url_for(".post_page", post_id=post_id))


@routes.post("/posts/<int:post_id>/submit")
@requires(Permission.POSTS_WRITE)
def submit_post(post_id: int):
    return _act(post_id, _("Post submitted."), lambda: posts.submit_post(
        db.session, app_services.publisher(), current_actor(), post_id, ttl=_ttl()))


@routes.post("/posts/<int:post_id>/approve")
@requires(Permission.POSTS_APPROVE)
def approve_post(post_id: int):
    note = request.form.get("note", "").strip()[:MAX_REASON] or None
    return _act(post_id, _("Your approval was recorded."), lambda: approvals.approve(
        db.session, app_services.publisher(), _approver(), post_id, note, ttl=_ttl()))


@routes.post("/posts/<int:post_id>/reject")
@requires(Permission.POSTS_APPROVE)
def reject_post(post_id: int):
    reason = request.form.get("reason", "").strip()[:MAX_REASON]
    return _act(post_id, _("The post went back to its author with your reason."),
                lambda: approvals.reject(db.session, _approver(), post_id, reason))


@routes.post("/posts/<int:post_id>/cancel")
@requires(Permission.POSTS_WRITE)
def cancel_post(post_id: int):
    return _act(post_id, _("Post cancelled."), lambda: posts.cancel_post(db.session, current_actor(), post_id))


# --- approval rules ---------------------------------------------------------------------------------
RULE_STEP_ROWS = 3
RULE_SCOPE_LABELS = {
    RuleScope.ALL: N_("Every account"),
    RuleScope.BUSINESS_UNIT: N_("A business unit"),
    RuleScope.NETWORK: N_("A network"),
    RuleScope.ACCOUNT: N_("One account (its id)"),
}


def rule_scope_label(scope: RuleScope) -> str:
    return _(RULE_SCOPE_LABELS[scope])


def role_label(value: str) -> str:
    """A role code (as stored in a step) in the reader's language; the code itself if it is no longer a role."""
    try:
        return label(Role(value))
    except ValueError:
        return value


def _rules_page(status: int = 200, errors: dict[str, str] | None = None, page_refusal: str | None = None):
    return render_template("publishing/rules.html", rules=approvals.list_rules(db.session), scopes=list(RuleScope),
                           roles=list(Role), groups=group_membership.all_groups(db.session),
                           step_rows=range(1, RULE_STEP_ROWS + 1), errors=errors or {},
                           page_refusal=page_refusal), status


@routes.get("/posts/rules")
@requires(Permission.POSTS_READ)
def approval_rules():
    return _rules_page()


def _people(text: str) -> tuple[list[int], list[str]]:
    """People named by id or e-mail address: their ids, and what did not name anybody."""
    found, unknown = find_people(db.session, split_entries(text)[:50])
    return [person.id for person in found], unknown


def _unknown_scope(scope_type: RuleScope, value: str) -> str | None:
    """Why a rule's scope value names nothing (a rule for a network or business unit nobody has never applies)."""
    if scope_type is RuleScope.ACCOUNT:
        if not value.isdigit() or len(value) > 12:
            return _("An account is named by its id (a number).")
        if db.session.get(SocialAccount, int(value)) is None:
            return _("There is no account %(value)s.", value=isolate(value))
    elif scope_type is RuleScope.NETWORK:
        if db.session.scalar(select(Network.id).where(Network.key == value)) is None:
            return _("There is no network %(value)s.", value=isolate(value))
    elif scope_type is RuleScope.BUSINESS_UNIT:
        if db.session.scalar(select(SocialAccount.id).where(SocialAccount.business_unit == value).limit(1)) is None:
            return _("No account belongs to business unit %(value)s.", value=isolate(value))
    return None


def _rule_form(step_rows: int = RULE_STEP_ROWS) -> tuple[dict, dict[str, str]]:
    """The rule form (new or edited) read into the service's arguments, or what is wrong with it, by field."""
    form, errors = request.form, {}
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = _("Give the rule a name (at most 200 characters).")
    try:
        scope_type = RuleScope(form.get("scope_type", ""))
    except ValueError:
        scope_type = RuleScope.ALL
        errors["scope_type"] = _("Choose what the rule covers.")
    scope_value = form.get("scope_value", "").strip()[:255] or None
    if scope_type is not RuleScope.ALL and scope_value is None:
        errors["scope_value"] = _("Say which business unit, network or account the rule covers.")
    if scope_value is not None and "scope_value" not in errors:
        problem = _unknown_scope(scope_type, scope_value)
        if problem:
            errors["scope_value"] = problem
    roles = {role.value for role in Role}
    steps = []
    for row in range(1, step_rows + 1):
        chosen = list(dict.fromkeys(form.getlist(f"step{row}_roles")))
        if stale := [r for r in chosen if r not in roles]:
            errors[f"step{row}_roles"] = _("%(value)s is no longer a role; untick it to save the rule.",
                                           value=isolate(stale[0][:64]))
        groups = list(dict.fromkeys(g[:36] for g in form.getlist(f"step{row}_groups") if g.strip()))[:20]
        gone = [g for g in groups if g not in group_membership.group_names(db.session, groups)]
        if gone:
            errors[f"step{row}_groups"] = _("There is no directory group %(value)s any more; choose from the list again.",
                                            value=isolate(gone[0]))
        people, unknown = _people(form.get(f"step{row}_people", ""))
        externals = [e.lower() for e in split_entries(form.get(f"step{row}_externals", ""))[:50]]
        if unknown:
            errors[f"step{row}_people"] = _("Nobody is known as %(who)s.", who=isolate(", ".join(unknown)))
        bad = [e for e in externals if "@" not in e or len(e) > 320 or any(ch in e for ch in "<> ")]
        if bad:
            errors[f"step{row}_externals"] = _("%(value)s is not an e-mail address.", value=isolate(bad[0][:64]))
        if not (chosen or groups or people or externals or form.get(f"step{row}_people", "").strip()):
            continue
        mode = form.get(f"step{row}_mode", "any")
        steps.append({"mode": mode if mode in {m.value for m in StepMode} else "any", "roles": chosen, "people": people,
                      "externals": externals, "groups": groups})
    if not steps and not any(key.startswith("step") for key in errors):
        errors["step1"] = _("Name at least one approver in the first step.")
    return {"name": name, "scope_type": scope_type, "scope_value": scope_value, "steps": steps}, errors


@routes.post("/posts/rules")
@requires(Permission.APPROVAL_RULES_MANAGE)
def create_approval_rule():
    data, errors = _rule_form()
    if errors:
        return _rules_page(400, errors)
    try:
        rule = approvals.create_rule(db.session, current_actor(), data["name"], data["scope_type"], data["scope_value"],
                                     data["steps"])
    except DomainError as error:
        return _rules_page(error.status, page_refusal=refusal(error))
    flash(_("Approval rule %(name)s saved.", name=isolate(rule.name)), "success")
    return redirect(url_for(".approval_rules"))


def _step_rows(rule: ApprovalRule) -> int:
    """As many step rows as the rule has steps (a rule made over the API may have more than the form's three)."""
    return max(RULE_STEP_ROWS, len(rule.steps or []))


def _rule_values(rule: ApprovalRule) -> MultiDict:
    """The rule as the form would send it: what the edit page opens with."""
    values = MultiDict({"name": rule.name, "scope_type": rule.scope_type.value, "scope_value": rule.scope_value or ""})
    for row, step in enumerate(rule.steps or [], start=1):
        values.add(f"step{row}_mode", step.get("mode", "any"))
        values.setlist(f"step{row}_roles", list(step.get("roles") or []))
        values.setlist(f"step{row}_groups", list(step.get("groups") or []))
        values.add(f"step{row}_people", ", ".join(str(p) for p in step.get("people") or []))
        values.add(f"step{row}_externals", ", ".join(step.get("externals") or []))
    return values


def _rule_edit_page(rule: ApprovalRule, values: MultiDict, status: int = 200, errors: dict[str, str] | None = None,
                    page_refusal: str | None = None):
    rows = max(_step_rows(rule), len([k for k in values if k.startswith("step") and k.endswith("_mode")]))
    return render_template("publishing/rule_edit.html", rule=rule, values=values, scopes=list(RuleScope),
                           roles=list(Role), groups=group_membership.all_groups(db.session),
                           step_rows=range(1, rows + 1), errors=errors or {}, page_refusal=page_refusal), status


@routes.get("/posts/rules/<int:rule_id>/edit")
@requires(Permission.APPROVAL_RULES_MANAGE)
def edit_approval_rule(rule_id: int):
    try:
        rule = approvals.get_rule(db.session, rule_id)
    except DomainError as error:
        flash(refusal(error), "error")
        return redirect(url_for(".approval_rules"))
    return _rule_edit_page(rule, _rule_values(rule))


@routes.post("/posts/rules/<int:rule_id>/edit")
@requires(Permission.APPROVAL_RULES_MANAGE)
def update_approval_rule(rule_id: int):
    try:
        rule = approvals.get_rule(db.session, rule_id)
    except DomainError as error:
        flash(refusal(error), "error")
        return redirect(url_for(".approval_rules"))
    data, errors = _rule_form(_step_rows(rule))
    if errors:
        return _rule_edit_page(rule, request.form, 400, errors)
    try:
        # The API's PATCH service: the same checks and the same audit event.
        rule = approvals.update_rule(db.session, current_actor(), rule_id, data)
    except DomainError as error:
        db.session.rollback()
        return _rule_edit_page(approvals.get_rule(db.session, rule_id), request.form, error.status,
                               page_refusal=refusal(error))
    flash(_("Approval rule %(name)s saved.", name=isolate(rule.name)), "success")
    return redirect(url_for(".approval_rules"))


@routes.post("/posts/rules/<int:rule_id>/delete")
@requires(Permission.APPROVAL_RULES_MANAGE)
def delete_approval_rule(rule_id: int):
    try:
        rule = approvals.get_rule(db.session, rule_id)
    except DomainError as error:
        return confirm.already_done(refusal(error), url_for(".approval_rules"))
    if not confirm.confirmed():
        return confirm.ask(title=_("Delete the approval rule"),
                           consequence=_("You are about to delete approval rule %(name)s: posts submitted from now on no "
                                         "longer need its steps. Posts already submitted keep them.",
                                         name=isolate(rule.name)),
                           button=_("Delete the rule"), cancel=url_for(".approval_rules"), irreversible=True)
    approvals.delete_rule(db.session, current_actor(), rule_id)
    flash(_("Approval rule %(name)s deleted.", name=isolate(rule.name)), "success")
    return redirect(url_for(".approval_rules"))


# --- the outside approver's page --------------------------------------------------------------------
def _link_gone():
    return render_template("publishing/external.html", post=None, link=None), 404


@routes.get("/external-approvals/<token>")
@public
def external_approval(token: str):
    try:
        link, post = external_approvals.open_link(db.session, current_app.secret_key, token)
    except DomainError:
        return _link_gone()
    return render_template("publishing/external.html", post=post, link=link)


@routes.post("/external-approvals/<token>")
@public
def external_decision(token: str):
    approve = request.form.get("decision") == "approve"
    try:
        post = external_approvals.decide(db.session, app_services.publisher(), current_app.secret_key, token, approve,
                                         request.form.get("reason", "").strip()[:MAX_REASON], client_addr=request.remote_addr,
                                         ttl=_ttl())
    except external_approvals.LinkUnusable:
        return _link_gone()
    except DomainError as error:
        db.session.rollback()
        try:
            link, post = external_approvals.open_link(db.session, current_app.secret_key, token)
        except DomainError:
            return _link_gone()
        flash(refusal(error), "error")
        return render_template("publishing/external.html", post=post, link=link), error.status
    return render_template("publishing/external.html", post=None, link=None, decided=post is not None, approved=approve)


def register(console: Blueprint) -> None:
    routes.register(console)


POST_STATE_LABELS = {
    PostState.DRAFT: N_("Draft"),
    PostState.AWAITING_APPROVAL: N_("Awaiting approval"),
    PostState.SCHEDULED: N_("Scheduled"),
    PostState.PUBLISHING: N_("Publishing"),
    PostState.PUBLISHED: N_("Published"),
    PostState.FAILED: N_("Failed"),
    PostState.BLOCKED: N_("Blocked by policy"),
    PostState.CANCELLED: N_("Cancelled"),
    PostState.HELD: N_("Held by a pause"),
}


def post_state_label(state: PostState) -> str:
    return _(POST_STATE_LABELS[state])


def group_label(group_id: str, saved_names: dict | None = None) -> str:
    """A directory group in a step: its name now; marked when SCIM deleted it or it has no member govern knows
    (then nobody can fill it, and the post waits until an administrator changes the rule)."""
    name = group_membership.group_names(db.session, [group_id]).get(group_id)
    if name is None:
        return _("Group: %(name)s (deleted)", name=isolate((saved_names or {}).get(group_id) or group_id))
    if not group_membership.member_counts(db.session, [group_id]):
        return _("Group: %(name)s (no members)", name=isolate(name))
    return _("Group: %(name)s", name=isolate(name))


def approver_label(slot: str, group_names: dict | None = None) -> str:
    """A step's approver as the page shows it: a person's name, a directory group, a role, or an outside e-mail."""
    kind, _sep, value = slot.partition(":")
    if kind == "person":
        person = db.session.get(Person, int(value))
        return person.display_name if person is not None else value
    if kind == "group":
        return group_label(value, group_names)
    if kind == "role":
        return _("anyone with the %(role)s role", role=role_label(value))
    return value


def step_approvers(step: dict) -> list[str]:
    """A rule's step's approvers in words: people by name, groups, roles in the reader's language, outside e-mails."""
    return ([approver_label(f"person:{person}") for person in step.get("people") or []]
            + [group_label(group, step.get("group_names")) for group in step.get("groups") or []]
            + [approver_label(f"role:{role}") for role in step.get("roles") or []] + list(step.get("externals") or []))


routes.template_globals(post_state_label, approver_label, rule_scope_label, role_label, step_approvers)

"""Approval rules and the decisions on a post: which steps apply, who may fill them, approve, reject, reset on edit.

A rule covers a scope (everything, a business unit, a network, an account) with ordered steps; each step names people,
directory groups (SCIM), roles and outside e-mail addresses and needs any one or all of them. For each account of a post, the most specific rule
applies (account, then network, then business unit, then all; the lowest id among equals); the post needs every
applicable rule's steps, in order (docs/decisions/0072-posts-and-approval-rules.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import N_, Conflict, DomainError, InvalidOperation, NotFound
from govern.notifications.service import notify
from govern.policy.engine.findings import Action, Decision
from govern.publishing import post_publish
from govern.publishing.approval_progress import StepProgress, fully_approved, progress, step_slots
from govern.publishing.models import (
    SCOPE_SPECIFICITY, ApprovalDecision, ApprovalRule, Post, PostState, PostTarget, RuleScope, StepMode, Verdict,
)
from govern.publishing.service import Publisher
from govern.scim import group_membership

DEFAULT_APPROVAL_TTL = timedelta(days=7)
POLICY_STEP = {"mode": StepMode.ANY.value, "people": [], "roles": ["governance", "admin"], "externals": []}
MAX_STEP_GROUPS = 20
AWAITING_MESSAGE = N_("A post is waiting for your approval; open it to approve or reject it.")


class SelfApproval(DomainError):
    status = 403
    title = "Forbidden"


class NotAnApprover(DomainError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Approver:
    """Who is deciding: a console user or API client (person and role), or an outside approver (an e-mail)."""

    actor: Actor
    person_id: int | None = None
    role: str | None = None
    email: str | None = None

    def slots(self, groups: list[str] | tuple[str, ...] = ()) -> list[str]:
        """What this approver can fill, the most specific first: their person slot, then the directory groups they
        are a member of (`groups`, read at decision time), then their role."""
        if self.email is not None:
            return [f"external:{self.email.lower()}"]
        return (([f"person:{self.person_id}"] if self.person_id is not None else []) + [f"group:{g}" for g in groups]
                + ([f"role:{self.role}"] if self.role else []))


def approver_slots(session: Session, approver: Approver) -> list[str]:
    """The approver's slots now: a person's directory groups are those SCIM says they are a member of at this moment."""
    groups = group_membership.groups_of(session, approver.person_id) if approver.person_id is not None and approver.email is None else []
    return approver.slots(groups)


# --- rules ------------------------------------------------------------------------------------------
def _clean_groups(session: Session, index: int, groups: list[Any]) -> tuple[list[str], dict[str, str]]:
    """The step's directory groups (SCIM group ids), each of which must exist now, and their names to show later."""
    wanted = sorted({str(g).strip() for g in groups if str(g).strip()})
    if len(wanted) > MAX_STEP_GROUPS:
        raise InvalidOperation("step %(index)s names more than %(limit)s directory groups", index=index, limit=MAX_STEP_GROUPS)
    names = group_membership.group_names(session, wanted)
    missing = [g for g in wanted if g not in names]
    if missing:
        raise InvalidOperation("step %(index)s names a directory group that does not exist: %(value)s", index=index,
                               value=", ".join(g[:64] for g in missing[:5]))
    return wanted, {g: names[g] for g in wanted}


def _clean_steps(session: Session, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not steps:
        raise InvalidOperation("an approval rule needs at least one step")
    cleaned = []
    for index, step in enumerate(steps, start=1):
        entry = {"mode": StepMode(step.get("mode") or "any").value, "people": sorted({int(p) for p in step.get("people") or []}),
                 "roles": sorted({str(r) for r in step.get("roles") or []}),
                 "externals": sorted({str(e).strip().lower() for e in step.get("externals") or []})}
        if step.get("groups"):
            entry["groups"], entry["group_names"] = _clean_groups(session, index, list(step["groups"]))
        if not step_slots(entry):
            raise InvalidOperation("step %(index)s names no approver", index=index)
        cleaned.append(entry)
    return cleaned


def _check_scope(scope_type: RuleScope, scope_value: str | None) -> str | None:
    value = (scope_value or "").strip() or None
    if scope_type is RuleScope.ALL:
        return None
    if value is None:
        raise InvalidOperation("a %(scope)s rule needs a scope value", scope=scope_type.value)
    return value


def create_rule(session: Session, actor: Actor, name: str, scope_type: RuleScope, scope_value: str | None,
                steps: list[dict[str, Any]]) -> ApprovalRule:
    rule = ApprovalRule(name=name.strip(), scope_type=scope_type, scope_value=_check_scope(scope_type, scope_value),
                        steps=_clean_steps(session, steps), created_by=actor.id)
    session.add(rule)
    session.flush()
    record(session, actor, "publishing:approval_rule:create", "approval_rule", rule.id, name=rule.name,
           scope=[scope_type.value, rule.scope_value], steps=rule.steps)
    return rule


def get_rule(session: Session, rule_id: int) -> ApprovalRule:
    rule = session.get(ApprovalRule, rule_id)
    if rule is None:
        raise NotFound("approval rule %(rule_id)s does not exist", rule_id=rule_id)
    return rule


def list_rules(session: Session) -> list[ApprovalRule]:
    return list(session.scalars(select(ApprovalRule).order_by(ApprovalRule.id)))


def update_rule(session: Session, actor: Actor, rule_id: int, changes: dict[str, Any]) -> ApprovalRule:
    """Posts already submitted keep the steps they were submitted under; the change applies to the next submit."""
    rule = get_rule(session, rule_id)
    if "name" in changes:
        rule.name = changes["name"].strip()
    if "scope_type" in changes or "scope_value" in changes:
        scope_type = changes.get("scope_type", rule.scope_type)
        rule.scope_type, rule.scope_value = scope_type, _check_scope(scope_type, changes.get("scope_value", rule.scope_value))
    if "steps" in changes:
        rule.steps = _clean_steps(session, changes["steps"])
    session.flush()
    record(session, actor, "publishing:approval_rule:update", "approval_rule", rule.id, name=rule.name,
           scope=[rule.scope_type.value, rule.scope_value], steps=rule.steps)
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    rule = get_rule(session, rule_id)
    record(session, actor, "publishing:approval_rule:delete", "approval_rule", rule.id, name=rule.name)
    session.delete(rule)
    session.flush()


def _rule_for(rules: list[ApprovalRule], target: PostTarget) -> ApprovalRule | None:
    account = target.account
    matching = [rule for rule in rules if
                rule.scope_type is RuleScope.ALL
                or (rule.scope_type is RuleScope.ACCOUNT and rule.scope_value == str(account.id))
                or (rule.scope_type is RuleScope.NETWORK and rule.scope_value == account.network.key)
                or (rule.scope_type is RuleScope.BUSINESS_UNIT and account.business_unit is not None
                    and rule.scope_value == account.business_unit)]
    return max(matching, key=lambda rule: (SCOPE_SPECIFICITY[rule.scope_type], -rule.id), default=None)


def applicable_rules(session: Session, post: Post, decisions: dict[int, Decision | None]) -> list[dict[str, Any]]:
    """The steps a post must pass, fixed when it is submitted: each account's most specific rule (once per rule), and
    the policy's own governance step for an account the policy sends to approval when no rule covers it."""
    rules = list_rules(session)
    applied: dict[Any, dict[str, Any]] = {}
    for target in post.targets:
        rule = _rule_for(rules, target)
        if rule is not None:
            entry = applied.setdefault(rule.id, {"rule_id": rule.id, "name": rule.name, "steps": rule.steps, "accounts": []})
        elif (decision := decisions.get(target.account_id)) is not None and decision.decision is Action.REQUIRE_APPROVAL:
            entry = applied.setdefault("policy", {"rule_id": None, "name": "policy", "steps": [POLICY_STEP], "accounts": []})
        else:
            continue
        entry["accounts"].append(target.account_id)
    return list(applied.values())


# --- deciding ---------------------------------------------------------------------------------------
def locked_post(session: Session, post_id: int) -> Post:
    post = session.scalar(select(Post).where(Post.id == post_id).with_for_update(of=Post))
    if post is None:
        raise NotFound("post %(post_id)s does not exist", post_id=post_id)
    return post


def _refuse_self(post: Post, approver: Approver) -> None:
    if approver.actor.id == post.created_by or (approver.person_id is not None and approver.person_id == post.author_person_id):
        raise SelfApproval("nobody approves or rejects their own post")


def _awaiting(post: Post) -> None:
    if post.state is not PostState.AWAITING_APPROVAL:
        raise Conflict("post %(post_id)s is not waiting for approval (%(state)s)", post_id=post.id, state=post.state.value)


def _fillable(session: Session, post: Post, approver: Approver, now: datetime) -> list[tuple[StepProgress, str]]:
    """For each rule's current step, the one slot this approver fills there (at most one per step: a step that needs
    all of its approvers cannot be passed by one person holding two of its slots); none in a step of a rule whose
    earlier step this approver already approved (the steps are meant for different people)."""
    slots = approver_slots(session, approver)
    mine = set(slots)
    chosen = []
    steps = progress(post, now)
    for step in steps:
        if not step.current:
            continue
        earlier = [s for s in steps if s.rule_id == step.rule_id and s.index < step.index]
        if any(d.approver_actor_id == approver.actor.id for s in earlier for d in s.approved_by):
            continue
        if any(d.approver_actor_id == approver.actor.id for d in step.approved_by):
            continue
        filled = {d.slot for d in step.approved_by}
        open_slots = [slot for slot in slots if slot in step.slots and slot not in filled]
        if open_slots and mine:
            chosen.append((step, open_slots[0]))
    return chosen


def expiry_for(post: Post, now: datetime, ttl: timedelta) -> datetime:
    """An approval lasts the configured period, and never past the post's scheduled time."""
    ends = now + ttl
    return min(ends, post.scheduled_at) if post.scheduled_at is not None else ends


def approve(session: Session, publisher: Publisher, approver: Approver, post_id: int, note: str | None = None, *,
            ttl: timedelta = DEFAULT_APPROVAL_TTL, now: datetime | None = None) -> Post:
    """Fill this approver's slot in each current step; on the last one the post is scheduled or published now."""
    now = now or utcnow()
    post = locked_post(session, post_id)
    _refuse_self(post, approver)
    _awaiting(post)
    if post.scheduled_at is not None and post.scheduled_at <= now:
        raise Conflict("the scheduled time of post %(post_id)s has passed; edit the post to choose a new time", post_id=post.id)
    waiting_before = _current_keys(post, now)
    fillable = _fillable(session, post, approver, now)
    if not fillable:
        raise NotAnApprover("you are not an approver of a step waiting on post %(post_id)s", post_id=post.id)
    for step, slot in fillable:
        decision = ApprovalDecision(post_id=post.id, post_version=post.version, rule_id=step.rule_id, step_index=step.index,
                                    slot=slot, verdict=Verdict.APPROVED, approver_actor_id=approver.actor.id,
                                    approver_name=approver.email or approver.actor.name, note=note, decided_at=now,
                                    expires_at=expiry_for(post, now, ttl))
        session.add(decision)
        session.flush()
        record(session, approver.actor, "publishing:post:approve", "post", post.id, decision_id=decision.id,
               rule_id=step.rule_id, step=step.index + 1, slot=slot, version=post.version, note=note,
               approver_email=approver.email, expires_at=decision.expires_at.isoformat())
    session.expire(post, ["decisions"])
    if fully_approved(post, now):
        release(session, publisher, approver.actor, post, now)
    else:
        announce_current_steps(session, post, now, already=waiting_before)
    return post


def _current_keys(post: Post, now: datetime) -> set[tuple[int | None, int]]:
    return {(step.rule_id, step.index) for step in progress(post, now) if step.current}


def step_people(session: Session, step: StepProgress) -> list[int]:
    """Who can fill a step, as people to tell: those it names, the members of its directory groups now, and the
    enabled console users holding its roles (outside approvers get their link from whoever creates it)."""
    people: set[int] = set()
    groups: list[str] = []
    roles: list[Role] = []
    for slot in step.slots:
        kind, _sep, value = slot.partition(":")
        if kind == "person" and value.isdigit():
            people.add(int(value))
        elif kind == "group":
            groups.append(value)
        elif kind == "role" and value in {r.value for r in Role}:
            roles.append(Role(value))
    people.update(group_membership.members_of(session, groups))
    if roles:
        people.update(pid for pid in session.scalars(
            select(ConsoleUser.person_id).where(ConsoleUser.role.in_(roles), ConsoleUser.disabled_at.is_(None),
                                                ConsoleUser.person_id.is_not(None))) if pid is not None)
    return sorted(people)


def announce_current_steps(session: Session, post: Post, now: datetime,
                           already: set[tuple[int | None, int]] | frozenset = frozenset()) -> list[int]:
    """Tell the approvers of each step the post has just reached (not those told before) that it waits for them;
    never its author. Returns the people told."""
    told: list[int] = []
    for step in progress(post, now):
        if not step.current or (step.rule_id, step.index) in already:
            continue
        for person_id in step_people(session, step):
            if person_id == post.author_person_id or person_id in told:
                continue
            notify(session, person_id, "post_awaiting_approval", "post", post.id, AWAITING_MESSAGE,
                   rule=step.rule_name, step=step.index + 1)
            told.append(person_id)
    return told


def release(session: Session, publisher: Publisher, actor: Actor, post: Post, now: datetime) -> None:
    """Approved (or needing no approval): scheduled for its time, or out now."""
    post.approved_at = now
    _set_state(session, actor, post, PostState.SCHEDULED, "publishing:post:schedule", scheduled_at=post.scheduled_at)
    if post.scheduled_at is None:
        post_publish.publish_now(session, publisher, actor, post)


def reject(session: Session, approver: Approver, post_id: int, reason: str, *, now: datetime | None = None) -> Post:
    """Back to its author as a draft, with the reason; the decisions given so far are set aside."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidOperation("say why the post is rejected; the person who wrote it reads this")
    now = now or utcnow()
    post = locked_post(session, post_id)
    _refuse_self(post, approver)
    _awaiting(post)
    slots = approver_slots(session, approver)
    current = [step for step in progress(post, now) if step.current and set(slots) & set(step.slots)]
    if not current:
        raise NotAnApprover("you are not an approver of a step waiting on post %(post_id)s", post_id=post.id)
    step = current[0]
    session.add(ApprovalDecision(post_id=post.id, post_version=post.version, rule_id=step.rule_id, step_index=step.index,
                                 slot=[s for s in slots if s in step.slots][0], verdict=Verdict.REJECTED,
                                 approver_actor_id=approver.actor.id, approver_name=approver.email or approver.actor.name,
                                 note=reason, decided_at=now, expires_at=now, void=True))
    void_decisions(session, post)
    post.rejection_reason = reason
    _set_state(session, approver.actor, post, PostState.DRAFT, "publishing:post:reject", reason=reason,
               rule_id=step.rule_id, step=step.index + 1, approver_email=approver.email)
    if post.author_person_id is not None:
        notify(session, post.author_person_id, "post_rejected", "post", post.id,
               "A post you wrote was rejected; read why on the post's page.", reason=reason)
    return post


def void_decisions(session: Session, post: Post) -> int:
    """Set aside every decision still counting (an edit, a rejection): the post needs approval again."""
    live = [d for d in session.scalars(select(ApprovalDecision).where(ApprovalDecision.post_id == post.id,
                                                                     ApprovalDecision.void.is_(False)))]
    for decision in live:
        decision.void = True
    session.flush()
    session.expire(post, ["decisions"])
    return len(live)


def _set_state(session: Session, actor: Actor, post: Post, state: PostState, action: str, **details: Any) -> None:
    previous = post.state
    post.state = state
    for target in post.targets:
        if target.state not in (PostState.PUBLISHED, PostState.FAILED, PostState.BLOCKED) or state is PostState.DRAFT:
            target.state = state
    session.flush()
    record(session, actor, action, "post", post.id, state_from=previous.value, state_to=state.value,
           **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in details.items()})

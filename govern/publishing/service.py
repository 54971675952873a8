"""The publish path: the policy's gate, then an approval when the policy asks for one, then the broker's action."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.broker import service as broker
from govern.broker.context import BrokerContext
from govern.db import utcnow
from govern.errors import DomainError, InvalidOperation, NotFound
from govern.policy.engine.findings import Action, Decision
from govern.policy.service import PolicyRuntime, decode_media, evaluate
from govern.publishing.models import ApprovalStatus, PublishApproval

CONTENT_ACTIONS = frozenset({"publish", "reply"})  # what the policy gate checks before it goes out


@dataclass(frozen=True)
class Publisher:
    """The broker, and the policy in force when GOVERN_POLICY_ENFORCED is on (None: posts go out unchecked)."""

    broker: BrokerContext
    policy: PolicyRuntime | None = None


class PolicyBlocked(DomainError):
    status = 422
    title = "Blocked by policy"
    keeps_audit = True  # the refused attempt, with its findings, stays on the record
    message_argument = 0  # worded by the class

    def __init__(self, decision: Decision) -> None:
        rules = ", ".join(sorted({f.rule for f in decision.findings}))
        super().__init__("the policy blocks this (%(rules)s): %(explanations)s", rules=rules,
                         explanations="; ".join(f.explanation for f in decision.findings[:3]))
        self.decision = decision

    def problem_members(self) -> dict[str, Any]:
        return self.decision.document()


class PublishStatus(str, enum.Enum):
    DONE = "done"  # the broker took the action at the network
    AWAITING_APPROVAL = "awaiting_approval"  # the policy sent it to a governance approver; nothing went out


@dataclass(frozen=True)
class PublishOutcome:
    """What became of an action: done (with the network's answer) or waiting for an approver. A block is a refusal
    (PolicyBlocked), not an outcome."""

    status: PublishStatus
    result: dict[str, Any] | None = None
    approval: PublishApproval | None = None
    decision: Decision | None = None

    @property
    def awaiting_approval(self) -> bool:
        return self.status is PublishStatus.AWAITING_APPROVAL


def act(
    session: Session, publisher: Publisher, actor: Actor, person_id: int | None, account_id: int, action: str,
    params: dict[str, Any], *, approved: PublishApproval | None = None,
) -> PublishOutcome:
    """Take an action on an account through the broker; a post or reply passes the policy's gate first.

    Block stops it, require_approval queues it for an approver, warn lets it pass. An approved post is checked again
    under the packs in force now: a block still stops it.
    """
    prepared = broker.prepare_action(session, publisher.broker, actor, person_id, account_id, action, params)
    text = str(params.get("text", ""))
    try:
        decision = gate(session, publisher.policy, account_id, action, params) if publisher.policy is not None else None
    except PolicyBlocked as blocked:
        broker.record_stopped(session, actor, prepared, "blocked", text=blocked.decision.masked(text),
                              **blocked.decision.document())
        raise
    except BaseException:
        prepared.cancel()
        raise
    if decision is None:
        notes = {"approval_id": approved.id} if approved is not None else None
        return PublishOutcome(PublishStatus.DONE, broker.complete_action(session, publisher.broker, actor, prepared,
                                                                         audit_notes=notes))
    if decision.decision is Action.REQUIRE_APPROVAL and approved is None:
        prepared.cancel()
        approval = _request_approval(session, actor, person_id, account_id, action, params, text, decision)
        return PublishOutcome(PublishStatus.AWAITING_APPROVAL, approval=approval, decision=decision)
    notes = {**({"approval_id": approved.id} if approved is not None else {}), **decision.document()}
    result = broker.complete_action(session, publisher.broker, actor, prepared,
                                    audited_params={**params, "text": decision.masked(text)}, audit_notes=notes)
    return PublishOutcome(PublishStatus.DONE, result, decision=decision)


def gate(session: Session, runtime: PolicyRuntime, account_id: int, action: str, params: dict[str, Any]) -> Decision | None:
    """The policy's decision on a post or reply (None for any other action); a block is refused (PolicyBlocked)."""
    if action not in CONTENT_ACTIONS:
        return None
    decision = evaluate(session, runtime, str(params.get("text", "")), account_id=account_id,
                        media=decode_media(list(params.get("media") or [])))
    if decision.decision is Action.BLOCK:
        raise PolicyBlocked(decision)
    return decision


def _request_approval(
    session: Session, actor: Actor, person_id: int | None, account_id: int, action: str, params: dict[str, Any], text: str,
    decision: Decision,
) -> PublishApproval:
    approval = PublishApproval(
        account_id=account_id, person_id=person_id, requested_by=actor.id, network_action=action, params=params,
        findings=[finding.document() for finding in decision.findings], pack_version=decision.pack_version,
    )
    session.add(approval)
    session.flush()
    record(session, actor, "policy:approval:request", "publish_approval", approval.id, account_id=account_id,
           network_action=action, person_id=person_id, text=decision.masked(text), **decision.document())
    return approval


# --- approvals --------------------------------------------------------------------------------
def list_approvals(session: Session, status: ApprovalStatus | None = ApprovalStatus.PENDING) -> list[PublishApproval]:
    query = select(PublishApproval).order_by(PublishApproval.requested_at.desc())
    if status is not None:
        query = query.where(PublishApproval.status == status)
    return list(session.scalars(query.limit(500)))


def pending_approval(session: Session, approval_id: int, *, for_update: bool = True) -> PublishApproval:
    query = select(PublishApproval).where(PublishApproval.id == approval_id)
    approval = session.scalar(query.with_for_update(of=PublishApproval) if for_update else query)
    if approval is None:
        raise NotFound("approval %(approval_id)s does not exist", approval_id=approval_id)
    if approval.status is not ApprovalStatus.PENDING:
        raise InvalidOperation("approval %(approval_id)s was already decided (%(value)s)", approval_id=approval_id, value=approval.status.value)
    return approval


def close_approval(
    session: Session, actor: Actor, approval: PublishApproval, status: ApprovalStatus, note: str | None,
    result: dict[str, Any] | None = None,
) -> PublishApproval:
    approval.status, approval.decided_by, approval.decided_at = status, actor.id, utcnow()
    approval.decision_note, approval.result = note, result
    session.flush()
    record(session, actor, f"policy:approval:{status.value}", "publish_approval", approval.id,
           account_id=approval.account_id, note=note)
    return approval


def approve(session: Session, publisher: Publisher, actor: Actor, approval_id: int, note: str | None) -> PublishApproval:
    """Publish the waiting post for the person who wrote it (their grant is checked again), then close the approval."""
    approval = pending_approval(session, approval_id)
    if actor.id == approval.requested_by:
        raise InvalidOperation("the person who asked to publish cannot approve their own post")
    outcome = act(session, publisher, actor, approval.person_id, approval.account_id, approval.network_action,
                  dict(approval.params), approved=approval)
    return close_approval(session, actor, approval, ApprovalStatus.APPROVED, note, result=outcome.result)


def reject(session: Session, actor: Actor, approval_id: int, note: str) -> PublishApproval:
    if not (note or "").strip():
        raise InvalidOperation("say why the post is rejected; the person who wrote it reads this")
    return close_approval(session, actor, pending_approval(session, approval_id), ApprovalStatus.REJECTED, note.strip())

"""Scanning what is already published: every connected account's recent posts and comments, read through the broker and
checked against the policy; what breaks a rule is queued, a blocked comment hidden, the owner told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.broker.context import ActionFailed
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.broker.service import perform_action
from govern.errors import DomainError
from govern.policy.engine.findings import Action
from govern.policy.service import evaluate, record_scanned_item
from govern.policy.workflow_models import ContentKind, PolicyViolation
from govern.publishing.service import Publisher

log = structlog.get_logger(__name__)

SCAN_PURPOSE = "policy scan"
POSTS_PER_SCAN = 25


@dataclass
class ScanReport:
    accounts: int = 0
    items: int = 0
    violations: int = 0
    hidden: int = 0
    failed_accounts: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def scannable_account_ids(session: Session) -> list[int]:
    return list(session.scalars(
        select(AccountConnection.account_id).join(SocialAccount, SocialAccount.id == AccountConnection.account_id).where(
            SocialAccount.status == AccountStatus.ACTIVE,
            AccountConnection.health.not_in([ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED]),
        ).order_by(AccountConnection.account_id)
    ))


def scan_account(session: Session, publisher: Publisher, actor: Actor, account_id: int, report: ScanReport) -> None:
    """Read the account's recent posts and their comments through the broker, and queue what breaks a rule.

    A comment the policy blocks is hidden at the network; anything else that breaks a rule is
    queued and its account's owner is told.
    """
    context = publisher.broker
    report.accounts += 1
    inbound: list[dict[str, Any]] = []
    posts = _items(perform_action(session, context, actor, None, account_id, "list_recent_posts", {}, system_purpose=SCAN_PURPOSE))
    for post in posts[:POSTS_PER_SCAN]:
        _check(session, publisher, actor, account_id, ContentKind.POST, post, report)
        comments = perform_action(session, context, actor, None, account_id, "list_comments", {"post_id": str(post["id"])},
                                  system_purpose=SCAN_PURPOSE)
        for comment in _items(comments):
            inbound.append(_inbound("comment", comment))
            if not comment.get("hidden"):
                _check(session, publisher, actor, account_id, ContentKind.COMMENT, comment, report)
    # Hidden comments count too: they were inbound, and a crisis word in one still matters (alerts count each once).
    signals.inbound_items_read.send(session, account_id=account_id, items=inbound)


def _inbound(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    created = item.get("created_at") or item.get("created_time") or item.get("timestamp")
    return {"kind": kind, "id": str(item["id"]), "text": str(item.get("text") or item.get("message") or ""),
            "created_at": created if isinstance(created, str) else None}


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    items = answer.get("data", answer.get("items", []))
    return [item for item in items if isinstance(item, dict) and item.get("id") is not None] if isinstance(items, list) else []


def _check(session, publisher: Publisher, actor, account_id: int, kind: ContentKind, item: dict[str, Any], report: ScanReport) -> None:
    report.items += 1
    text = str(item.get("text") or item.get("message") or "")
    decision = evaluate(session, publisher.policy, text, account_id=account_id)
    violation = record_scanned_item(session, actor, account_id, kind, str(item["id"]), text, decision,
                                    value_key=publisher.policy.exception_key)
    if violation is None:
        return
    report.violations += 1
    if kind is ContentKind.COMMENT and decision.decision is Action.BLOCK:
        _hide(session, publisher.broker, actor, account_id, violation, report)
    else:
        _tell_owner(session, violation)


def _hide(session, context, actor, account_id: int, violation: PolicyViolation, report: ScanReport) -> None:
    try:
        perform_action(session, context, actor, None, account_id, "hide_comment", {"comment_id": violation.external_id},
                       system_purpose=SCAN_PURPOSE)
    except (ActionFailed, DomainError) as exc:
        log.warning("policy_hide_failed", account_id=account_id, violation_id=violation.id, error=str(exc))
        _tell_owner(session, violation)
        return
    violation.response_taken = "hidden"
    report.hidden += 1


def _tell_owner(session: Session, violation: PolicyViolation) -> None:
    owner_id = violation.account.owner_id
    if owner_id is None:
        return
    rules = ", ".join(sorted({finding["rule"] for finding in violation.findings}))
    signals.policy_violation_found.send(
        session, violation_id=violation.id, owner_id=owner_id,
        message=f"A {violation.content_kind.value} on {violation.account.handle} breaks the policy ({rules}).",
    )
    violation.response_taken = violation.response_taken or "owner_notified"


def scan_all(session: Session, publisher: Publisher, actor: Actor) -> ScanReport:
    """Every connected account in turn; one account that fails does not stop the others."""
    report = ScanReport()
    for account_id in scannable_account_ids(session):
        try:
            with session.begin_nested():
                scan_account(session, publisher, actor, account_id, report)
        except Exception as exc:  # noqa: BLE001 - one account's failure (network, store, data) must not stop the others
            report.failed_accounts += 1
            log.warning("policy_scan_account_failed", account_id=account_id, error=type(exc).__name__, detail=str(exc)[:200])
    return report

"""Refused sign-ins: the rate limits in front of every sign-in method, and which refusals are audited.

A refusal that anybody can cause without knowing a password (a wrong password, an unknown or used link, an ID token
that fails its checks) is noise: it is counted (govern.metrics) and counts against the limits, but writes no audit
event. A refusal of someone who proved who they are (a leaver, no role, a disabled user...) is audited. An address
over a limit is refused before any work is done; the first such refusal in a window writes one aggregated event,
"N refused sign-ins from X" (and one for all addresses together).
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.orm import Session

from govern import metrics
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.throttle import EVERYONE, NAME, Throttle, Verdict
from govern.errors import DomainError

log = structlog.get_logger("govern.sign_in")

SIGN_IN_REFUSED = "auth:session:sign_in_refused"
LIMIT_TARGET = "sign_in_limit"  # the aggregated event's target: the client address, or "*" for all addresses
ANONYMOUS_REASONS = frozenset({"bad_credentials", "invalid_link", "id_token_rejected", "forged_state"})


class SignInRefused(DomainError):
    """A sign-in was refused. `reason` is a stable code: the audit records it and the console words it.
    `limited_by` (name, address, everyone) and `retry_after` (seconds) say which limit refused it, when one did."""

    title = "Sign-in refused"
    keeps_audit = True  # an audited refusal (or the aggregated rate-limit event) must survive the refused request
    message_argument = 2  # SignInRefused(reason, template, ...)

    def __init__(self, reason: str, template: str, status: int = 403, *, limited_by: str | None = None,
                 retry_after: int | None = None, **params: Any) -> None:
        super().__init__(template, **params)
        self.reason = reason
        self.status = status
        self.limited_by = limited_by
        self.retry_after = retry_after


def _gate(method: str) -> str:
    return f"sign_in:{method}"


def guard(session: Session, actor: Actor, throttle: Throttle, method: str, name: str | None = None) -> None:
    """Refuse with 429 before anything is tried when this address (this name from it, or everyone) is over a limit."""
    verdict = throttle.check(_gate(method), actor.client_addr, name)
    if not verdict.limited:
        return
    metrics.count("sign_in_rate_limited", method=method, limited_by=verdict.rule.scope)
    _report_once(session, actor, throttle, method, verdict)
    limits = {"limited_by": verdict.rule.scope, "retry_after": verdict.retry_after, "seconds": verdict.retry_after}
    if verdict.rule.scope == NAME:
        raise SignInRefused("rate_limited", "too many refused sign-ins for this name from this address; try again in "
                            "%(seconds)s seconds", 429, **limits)
    if verdict.rule.scope == EVERYONE:
        raise SignInRefused("rate_limited", "too many refused sign-ins from everywhere just now; try again in "
                            "%(seconds)s seconds", 429, **limits)
    raise SignInRefused("rate_limited", "too many refused sign-ins from this address; try again in %(seconds)s seconds",
                        429, **limits)


def _report_once(session: Session, actor: Actor, throttle: Throttle, method: str, verdict: Verdict) -> None:
    """At most one audit event per address, and one for all addresses, per window."""
    rule = verdict.rule
    where = "*" if rule.scope == EVERYONE else (actor.client_addr or "unknown")
    if throttle.first_in_window(_gate(method), "sign_in_limit_report", where, rule.window_seconds):
        record(session, actor, SIGN_IN_REFUSED, LIMIT_TARGET, where, method=method, reason="rate_limited",
               limited_by=rule.scope, refused_in_window=rule.amount, window_seconds=rule.window_seconds,
               retry_after_seconds=verdict.retry_after)


def refused(session: Session, actor: Actor, throttle: Throttle, method: str, refusal: SignInRefused, *,
            target_type: str, target_id: str, name: str | None = None, **details: Any) -> None:
    """Count a refusal against the limits; audit it only when it is not anonymous noise."""
    throttle.count(_gate(method), actor.client_addr, name)
    if refusal.reason in ANONYMOUS_REASONS:
        metrics.count("sign_in_refused", method=method, reason=refusal.reason)
        return
    record(session, actor, SIGN_IN_REFUSED, target_type, target_id, method=method, reason=refusal.reason, **details)

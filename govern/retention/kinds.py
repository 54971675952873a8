"""The names of the data kinds retention knows and their default retention; no database imports, so config can read it."""

from __future__ import annotations

AUDIT_EVENTS = "audit_events"
ALL_KINDS = "*"  # a legal hold on every kind
MAX_RETENTION_DAYS = 36525  # 100 years: anything longer is a typo, not a policy

# Operational leftovers are kept a year; the audit trail at least seven (docs/decisions/0022).
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "notifications": 365,
    "sync_runs": 365,
    "policy_violations": 365,
    "policy_approvals": 365,
    "sign_in_links": 90,
    "jobs": 90,  # finished rows of the job outbox (docs/architecture.md, Jobs)
    "console_sessions": 90,
    AUDIT_EVENTS: 7 * 365 + 2,  # seven years, leap days included
}
KNOWN_KINDS: tuple[str, ...] = tuple(DEFAULT_RETENTION_DAYS)

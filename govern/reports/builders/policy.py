"""The policy report: violations by category, rule, account, language and month; blocked, approved, published."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.audit.models import AuditEvent
from govern.policy.engine.text import normalize
from govern.policy.workflow_models import PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.publishing.service import CONTENT_ACTIONS
from govern.reports.builders.common import ratio
from govern.reports.document import Chart, Period, ReportParts, Section, Text

CLOSED = (ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE)
_COLUMNS = [("violations", "Violations"), ("open", "Open"), ("resolved", "Resolved"),
            ("false_positives", "False positives")]


def language_of(text: str) -> str:
    """As the engine decides it: the scripts in the text (ar, he), English when there is neither."""
    return "+".join(sorted(normalize(text).scripts())) or "en"


def _tally(violations: list[PolicyViolation], keys_of) -> list[tuple]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for violation in violations:
        for key in keys_of(violation):
            counts[key]["violations"] += 1
            status = violation.status
            counts[key]["open" if status not in CLOSED else
                        "false_positives" if status is ViolationStatus.FALSE_POSITIVE else "resolved"] += 1
    return [(key, c["violations"], c["open"], c["resolved"], c["false_positives"])
            for key, c in sorted(counts.items(), key=lambda item: (-item[1]["violations"], item[0]))]


def build(session: Session, period: Period, settings) -> ReportParts:
    violations = list(session.scalars(select(PolicyViolation).where(
        PolicyViolation.detected_at >= period.start, PolicyViolation.detected_at < period.end,
    ).order_by(PolicyViolation.detected_at, PolicyViolation.id)).unique())
    approvals = list(session.scalars(select(PublishApproval).where(
        PublishApproval.requested_at >= period.start, PublishApproval.requested_at < period.end)).unique())
    outcomes: Counter = Counter()
    for action, summary in session.execute(select(AuditEvent.action, AuditEvent.summary).where(
            AuditEvent.action.in_([f"broker:action:{a}" for a in sorted(CONTENT_ACTIONS)]),
            AuditEvent.occurred_at >= period.start, AuditEvent.occurred_at < period.end)):
        outcomes[(summary or {}).get("outcome")] += 1
    closed = [v for v in violations if v.status in CLOSED]
    false_positives = sum(1 for v in violations if v.status is ViolationStatus.FALSE_POSITIVE)
    summary = {
        "violations_detected": len(violations),
        "violations_open": sum(1 for v in violations if v.status not in CLOSED),
        "violations_resolved": len(closed) - false_positives,
        "violations_false_positive": false_positives,
        "false_positive_rate": ratio(false_positives, len(closed)),
        "posts_blocked": outcomes["blocked"],
        "approvals_requested": len(approvals),
        "approvals_approved": sum(1 for a in approvals if a.status is ApprovalStatus.APPROVED),
        "approvals_rejected": sum(1 for a in approvals if a.status is ApprovalStatus.REJECTED),
        "approvals_pending": sum(1 for a in approvals if a.status is ApprovalStatus.PENDING),
        "posts_published": outcomes["ok"],
    }

    def categories(v):
        return sorted({str(f.get("category", "")) for f in v.findings} or {"(none)"})

    def rules(v):
        return sorted({str(f.get("rule", "")) for f in v.findings} or {"(none)"})

    by_category = _tally(violations, categories)
    sections = [
        Section.of("by_category", "Violations by category", [("category", "Category"), *_COLUMNS], by_category),
        Section.of("by_rule", "Violations by rule", [("rule", "Rule"), *_COLUMNS], _tally(violations, rules)),
        Section.of("by_account", "Violations by account", [("account", "Account"), *_COLUMNS],
                   _tally(violations, lambda v: [f"{v.account.network.key}:{v.account.handle}"]), rtl=("account",)),
        Section.of("by_language", "Violations by language", [("language", "Language"), *_COLUMNS],
                   _tally(violations, lambda v: [language_of(v.masked_text)])),
        Section.of("by_month", "Violations by month", [("month", "Month"), *_COLUMNS],
                   sorted(_tally(violations, lambda v: [v.detected_at.strftime("%Y-%m")]))),
        Section.of("violations", "Violations", [
            ("violation_id", "Violation"), ("detected_at", "Detected"), ("network", "Network"), ("account", "Account"),
            ("kind", "Kind"), ("decision", "Decision"), ("rules", "Rules"), ("status", "Status"),
            ("closed_by", "Closed by"), ("closed_at", "Closed"),
        ], [(v.id, v.detected_at, v.account.network.key, v.account.handle, v.content_kind.value, v.decision.value,
             " ".join(rules(v)), v.status.value, v.closed_by, v.closed_at) for v in violations], rtl=("account",)),
    ]
    basis = [
        Text("policy_violations detected in the period (categories and rules from their findings; language from the "
             "scripts of the masked text, as the engine decides it)"),
        Text("publish_approvals requested in the period"),
        Text("audit events broker:action:publish and broker:action:reply in the period: outcome blocked or ok (published)"),
        Text("false-positive rate = violations marked false positive / violations closed (resolved + false positive)"),
    ]
    return ReportParts(
        title="Policy report", basis=basis, summary=summary, sections=sections,
        charts=[Chart("Violations by category", tuple((row[0], row[1]) for row in by_category), unit="violations", codes="category")],
        frameworks=["SOC 2 CC6.1", "ISO 27001 A.5.15"],
    )

"""The access report: every grant in effect at the end of the period, and leavers who still hold one."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.grants.models import Grant
from govern.people.models import PersonStatus
from govern.reports.builders.common import review_models
from govern.reports.document import Chart, Period, ReportParts, Section

NOT_IN_DIRECTORY = "people_with_access_not_in_directory"


def last_certified(session: Session, grant_ids: list[int]) -> dict[int, Any]:
    """The latest "certified" decision of an access review per grant; empty when reviews are not installed."""
    models = review_models(session)
    if models is None or not grant_ids:
        return {}
    item = models.ReviewItem
    decisions = getattr(models, "ItemDecision", None)
    certified = decisions("certified") if decisions else "certified"
    rows = session.execute(
        select(item.grant_id, func.max(item.decided_at))
        .where(item.grant_id.in_(grant_ids), item.decision == certified).group_by(item.grant_id)
    )
    return {grant_id: decided_at for grant_id, decided_at in rows}


def build(session: Session, period: Period, settings) -> ReportParts:
    grants = list(session.scalars(
        select(Grant).where(Grant.is_effective_at(period.end)).order_by(Grant.account_id, Grant.person_id, Grant.id)
    ).unique())
    reviewed = last_certified(session, [grant.id for grant in grants])
    rows, stale = [], []
    for grant in grants:
        person, account = grant.person, grant.account
        rows.append((grant.id, person.display_name, person.username, person.status.value, account.network.key,
                     account.handle, grant.role.value, grant.granted_by, grant.reason, grant.starts_at,
                     grant.expires_at, reviewed.get(grant.id)))
        if person.status is not PersonStatus.ACTIVE:
            stale.append((grant.id, person.display_name, person.username, person.left_at, account.network.key,
                          account.handle, grant.role.value))
    people_gone = len({row[2] for row in stale})
    summary = {
        "effective_grants": len(grants),
        "people_with_access": len({grant.person_id for grant in grants}),
        "accounts_with_access": len({grant.account_id for grant in grants}),
        "grants_never_reviewed": sum(1 for grant in grants if grant.id not in reviewed),
        NOT_IN_DIRECTORY: people_gone,
    }
    alerts = []
    if people_gone:
        alerts.append(f"{people_gone} people no longer in the directory still have access ({len(stale)} grants): "
                      "revoke them now; this figure must be zero.")
    by_role = Counter(grant.role.value for grant in grants)
    sections = [Section.of("grants", "Effective grants", [
        ("grant_id", "Grant"), ("person", "Person"), ("username", "Username"), ("person_status", "Person status"),
        ("network", "Network"), ("account", "Account"), ("role", "Role"), ("granted_by", "Granted by"),
        ("reason", "Reason"), ("since", "Since"), ("expires", "Expires"), ("last_reviewed", "Last reviewed"),
    ], rows, rtl=("person", "account", "reason"))]
    sections.append(Section.of("not_in_directory", "People with access but no longer in the directory", [
        ("grant_id", "Grant"), ("person", "Person"), ("username", "Username"), ("left_at", "Left"),
        ("network", "Network"), ("account", "Account"), ("role", "Role"),
    ], stale, rtl=("person", "account"), note="Must be empty."))
    basis = [
        f"grants (table grants) in effect at {period.end.isoformat()}: not revoked, started, not expired",
        "people (table people) for names and directory status; social_accounts and networks for the accounts",
        "access reviews (table review_items): the latest 'certified' decision per grant"
        if review_models(session) else "access reviews: not installed, so 'last reviewed' is empty",
    ]
    return ReportParts(
        title="Access report", basis=basis, summary=summary, sections=sections, alerts=alerts,
        charts=[Chart("Effective grants by role", tuple(sorted(by_role.items())), unit="grants")],
        frameworks=["SOC 2 CC6.1, CC6.2, CC6.3", "ISO 27001 A.5.15, A.5.18", "NIST 800-53 AC-2"],
    )

"""The access report: every grant in effect at the end of the period, and leavers who still hold one.

One query per table, joined in SQL and streamed; the figures are SQL aggregates over the same filter."""

from __future__ import annotations

from sqlalchemy import distinct, func, null, select
from sqlalchemy.orm import Session

from govern.accounts.models import Network, SocialAccount
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.reports.builders.common import plain, review_models, streamed
from govern.reports.document import Chart, Period, ReportParts, Section, Text

NOT_IN_DIRECTORY = "people_with_access_not_in_directory"


def last_certified(session: Session):
    """(grant_id, decided_at) of the latest "certified" review decision per grant, as a subquery; None without reviews."""
    models = review_models(session)
    if models is None:
        return None
    item = models.ReviewItem
    decisions = getattr(models, "ItemDecision", None)
    certified = decisions("certified") if decisions else "certified"
    return (select(item.grant_id.label("grant_id"), func.max(item.decided_at).label("decided_at"))
            .where(item.decision == certified).group_by(item.grant_id).subquery("certified"))


def build(session: Session, period: Period, settings) -> ReportParts:
    effective = Grant.is_effective_at(period.end)
    reviewed = last_certified(session)
    joined = (Grant.__table__.join(Person.__table__, Person.id == Grant.person_id)
              .join(SocialAccount.__table__, SocialAccount.id == Grant.account_id)
              .join(Network.__table__, Network.id == SocialAccount.network_id))
    last_reviewed = reviewed.c.decided_at if reviewed is not None else None
    rows_query = select(Grant.id, Person.display_name, Person.username, Person.status, Network.key, SocialAccount.handle,
                        Grant.role, Grant.granted_by, Grant.reason, Grant.starts_at, Grant.expires_at,
                        last_reviewed if last_reviewed is not None else null().label("last_reviewed"))
    if reviewed is not None:
        joined = joined.outerjoin(reviewed, reviewed.c.grant_id == Grant.id)
    rows_query = (rows_query.select_from(joined).where(effective)
                  .order_by(Grant.account_id, Grant.person_id, Grant.id))
    gone = Person.status != PersonStatus.ACTIVE
    stale_query = (select(Grant.id, Person.display_name, Person.username, Person.left_at, Network.key,
                          SocialAccount.handle, Grant.role)
                   .select_from(Grant.__table__.join(Person.__table__, Person.id == Grant.person_id)
                                .join(SocialAccount.__table__, SocialAccount.id == Grant.account_id)
                                .join(Network.__table__, Network.id == SocialAccount.network_id))
                   .where(effective, gone).order_by(Grant.account_id, Grant.person_id, Grant.id))
    figures = session.execute(select(func.count(), func.count(distinct(Grant.person_id)),
                                     func.count(distinct(Grant.account_id))).where(effective)).one()
    never_reviewed = figures[0]
    if reviewed is not None:
        never_reviewed = session.scalar(select(func.count()).select_from(Grant.__table__.outerjoin(
            reviewed, reviewed.c.grant_id == Grant.id)).where(effective, reviewed.c.grant_id.is_(None)))
    stale_figures = session.execute(select(func.count(), func.count(distinct(Grant.person_id))).select_from(
        Grant.__table__.join(Person.__table__, Person.id == Grant.person_id)).where(effective, gone)).one()
    stale_grants, people_gone = int(stale_figures[0]), int(stale_figures[1])
    summary = {
        "effective_grants": int(figures[0]),
        "people_with_access": int(figures[1]),
        "accounts_with_access": int(figures[2]),
        "grants_never_reviewed": int(never_reviewed),
        NOT_IN_DIRECTORY: people_gone,
    }
    alerts = []
    if people_gone:
        alerts.append(Text("%(people)s people no longer in the directory still have access (%(grants)s grants): "
                           "revoke them now; this figure must be zero.", people=people_gone, grants=stale_grants))
    by_role = sorted((plain(role), int(count)) for role, count in session.execute(
        select(Grant.role, func.count()).where(effective).group_by(Grant.role)))
    sections = [Section.streamed("grants", "Effective grants", [
        ("grant_id", "Grant"), ("person", "Person"), ("username", "Username"), ("person_status", "Person status"),
        ("network", "Network"), ("account", "Account"), ("role", "Role"), ("granted_by", "Granted by"),
        ("reason", "Reason"), ("since", "Since"), ("expires", "Expires"), ("last_reviewed", "Last reviewed"),
    ], summary["effective_grants"], streamed(session, rows_query), rtl=("person", "account", "reason"))]
    sections.append(Section.streamed("not_in_directory", "People with access but no longer in the directory", [
        ("grant_id", "Grant"), ("person", "Person"), ("username", "Username"), ("left_at", "Left"),
        ("network", "Network"), ("account", "Account"), ("role", "Role"),
    ], stale_grants, streamed(session, stale_query), rtl=("person", "account"), note="Must be empty."))
    basis = [
        Text("grants (table grants) in effect at %(moment)s: not revoked, started, not expired", moment=period.end.isoformat()),
        Text("people (table people) for names and directory status; social_accounts and networks for the accounts"),
        Text("access reviews (table review_items): the latest 'certified' decision per grant")
        if reviewed is not None else Text("access reviews: not installed, so 'last reviewed' is empty"),
    ]
    return ReportParts(
        title="Access report", basis=basis, summary=summary, sections=sections, alerts=alerts,
        charts=[Chart("Effective grants by role", tuple(by_role), unit="grants", codes="role")],
        frameworks=["SOC 2 CC6.1, CC6.2, CC6.3", "ISO 27001 A.5.15, A.5.18", "NIST 800-53 AC-2"],
    )

"""The reviews report: access review campaigns and their decisions (needs govern.reviews; says so when absent)."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import String, and_, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from govern.accounts.models import Network, SocialAccount
from govern.people.models import Person
from govern.reports.builders.common import plain, ratio, review_models, streamed
from govern.reports.document import Chart, Period, ReportParts, Section, Text

DECISIONS = ("certified", "revoked", "revoked_at_deadline", "escalated")
FINAL = ("certified", "revoked", "revoked_at_deadline")  # escalated items still wait for governance
_CAMPAIGN_COLUMNS = [
    ("campaign_id", "Campaign"), ("name", "Name"), ("scope", "Scope"), ("status", "Status"), ("opened_by", "Opened by"),
    ("opened_at", "Opened"), ("deadline", "Deadline"), ("closed_at", "Closed"), ("items", "Items"),
    ("certified", "Certified"), ("revoked", "Revoked"), ("revoked_at_deadline", "Revoked at deadline"),
    ("escalated", "Escalated"), ("undecided", "Undecided"), ("completion", "Completion"),
]
_ITEM_COLUMNS = [
    ("campaign_id", "Campaign"), ("item_id", "Item"), ("grant_id", "Grant"), ("person", "Person"), ("network", "Network"),
    ("account", "Account"), ("role", "Role"), ("reviewer", "Reviewer"), ("decision", "Decision"),
    ("decided_by", "Decided by"), ("decided_at", "Decided"), ("comment", "Comment"),
]


def _empty(reason: str) -> ReportParts:
    summary = {"campaigns": 0, "items": 0, **{d: 0 for d in DECISIONS}, "undecided": 0, "completion": None}
    return ReportParts(
        title="Access reviews report", basis=[reason], summary=summary,
        sections=[Section.of("campaigns", "Campaigns", _CAMPAIGN_COLUMNS, []),
                  Section.of("items", "Decisions", _ITEM_COLUMNS, [], rtl=("person", "account", "reviewer", "comment"))],
        frameworks=["SOC 2 CC6.2, CC6.3", "ISO 27001 A.5.18", "NIST 800-53 AC-2(j)"],
    )


def build(session: Session, period: Period, settings) -> ReportParts:
    models = review_models(session)
    if models is None:
        return _empty(Text("access reviews are not installed (govern.reviews): no campaigns to report"))
    campaign_model, item_model = models.ReviewCampaign, models.ReviewItem
    # Campaigns that were open at some point in the period (a few per year: read whole).
    in_period = and_(campaign_model.opened_at < period.end,
                     or_(campaign_model.closed_at.is_(None), campaign_model.closed_at >= period.start))
    campaigns = list(session.scalars(select(campaign_model).where(in_period)
                                     .order_by(campaign_model.opened_at, campaign_model.id)))
    if not campaigns:
        parts = _empty(Text("review_campaigns open during the period and their review_items: none found"))
        return parts
    of_campaigns = item_model.campaign_id.in_(select(campaign_model.id).where(in_period))  # a subquery, never an id list
    per_campaign: dict[int, Counter] = defaultdict(Counter)
    for campaign_id, decision, count in session.execute(
            select(item_model.campaign_id, item_model.decision, func.count()).where(of_campaigns)
            .group_by(item_model.campaign_id, item_model.decision)):
        per_campaign[campaign_id][plain(decision) or "undecided"] += int(count)
    campaign_rows = []
    for c in campaigns:
        counts = per_campaign[c.id]
        total = sum(counts.values())
        campaign_rows.append((c.id, c.name, f"{plain(c.scope_kind)}:{c.scope_value}" if c.scope_value else plain(c.scope_kind),
                              plain(c.status), c.opened_by, c.opened_at, c.deadline, c.closed_at, total,
                              *(counts[d] for d in DECISIONS), counts["undecided"], ratio(sum(counts[d] for d in FINAL), total)))
    person, reviewer = aliased(Person), aliased(Person)
    items_query = (
        select(item_model.campaign_id, item_model.id, item_model.grant_id, person.display_name, Network.key,
               SocialAccount.handle, item_model.grant_role, reviewer.display_name,
               func.coalesce(type_coerce(item_model.decision, String(32)), literal("undecided")), item_model.decided_by, item_model.decided_at,
               item_model.comment)
        .select_from(item_model)
        .outerjoin(person, person.id == item_model.person_id)
        .outerjoin(SocialAccount, SocialAccount.id == item_model.account_id)
        .outerjoin(Network, Network.id == SocialAccount.network_id)
        .outerjoin(reviewer, reviewer.id == item_model.reviewer_person_id)
        .where(of_campaigns).order_by(item_model.campaign_id, item_model.id))
    totals = Counter()
    for counts in per_campaign.values():
        totals.update(counts)
    items = sum(totals.values())
    decided = sum(totals[d] for d in FINAL)
    summary = {"campaigns": len(campaigns), "items": items, **{d: totals[d] for d in DECISIONS},
               "undecided": totals["undecided"], "completion": ratio(decided, items)}
    alerts = []
    overdue = [c for c in campaigns if plain(c.status) != "closed" and c.deadline is not None and c.deadline < period.end]
    if overdue:
        alerts.append(Text("%(count)s campaigns are past their deadline and not closed.", count=len(overdue)))
    return ReportParts(
        title="Access reviews report",
        basis=[Text("review_campaigns open at some point in the period, and all their review_items"),
               Text("completion = items certified, revoked or revoked at the deadline / all items (escalated ones still wait)"),
               Text("people and social_accounts for names and handles")],
        summary=summary, alerts=alerts,
        sections=[Section.of("campaigns", "Campaigns", _CAMPAIGN_COLUMNS, campaign_rows, rtl=("name",)),
                  Section.streamed("items", "Decisions", _ITEM_COLUMNS, items, streamed(session, items_query),
                                   rtl=("person", "account", "reviewer", "comment"))],
        charts=[Chart("Review decisions", tuple((d, totals[d]) for d in (*DECISIONS, "undecided")), unit="items", codes="decision")],
        frameworks=["SOC 2 CC6.2, CC6.3", "ISO 27001 A.5.18", "NIST 800-53 AC-2(j)"],
    )

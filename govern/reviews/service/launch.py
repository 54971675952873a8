"""Before a campaign opens: what it would ask (items, reviewers, accounts) and which running campaigns already ask
about some of the same access, which opening then leaves out (decision 0059)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.db import utcnow
from govern.reviews import queries
from govern.reviews.models import ReviewCampaign, ScopeKind
from govern.reviews.service.campaigns import _checked_scope


@dataclass(frozen=True)
class Overlap:
    campaign: ReviewCampaign
    items: int  # grants in the scope still waiting for a decision in that campaign


@dataclass(frozen=True)
class LaunchPreview:
    items: int  # what opening now would snapshot (access already under review left out)
    reviewers: int  # people asked; governance not counted
    accounts: int
    for_governance: int  # items nobody owns: governance decides them
    overlaps: list[Overlap] = field(default_factory=list)

    @property
    def already_under_review(self) -> int:
        return sum(overlap.items for overlap in self.overlaps)


def preview_campaign(session: Session, scope_kind: ScopeKind, scope_value: str | None,
                     moment: datetime | None = None) -> LaunchPreview:
    """What opening a campaign over the scope now would do, counted with the opening statement itself."""
    moment = moment or utcnow()
    scope_value = _checked_scope(session, scope_kind, scope_value)
    items, reviewers, accounts, for_governance = session.execute(queries.preview_counts(scope_kind, scope_value, moment)).one()
    counts = dict(session.execute(queries.overlapping(scope_kind, scope_value, moment)).all())
    campaigns = {c.id: c for c in session.scalars(select(ReviewCampaign).where(ReviewCampaign.id.in_(counts)))} if counts else {}
    overlaps = [Overlap(campaigns[campaign_id], count) for campaign_id, count in sorted(counts.items()) if campaign_id in campaigns]
    return LaunchPreview(int(items or 0), int(reviewers or 0), int(accounts or 0), int(for_governance or 0), overlaps)

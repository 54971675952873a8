"""What the access review service shares: its limits, refusals, settings, who decides, and the audit facts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from govern.errors import Conflict, DomainError, InvalidOperation
from govern.reviews.models import DeadlineAction, ReviewCampaign, ReviewItem
from govern.reviews import queries

# Below this many, a deadline revocation never waits for a human, whatever share of a small campaign it is.
MIN_HELD_REVOCATIONS = 5
MAX_NAME = 200
MAX_COMMENT = 500
MAX_REMINDER_HOURS = 24 * 30
PENDING = queries.PENDING_DECISIONS
Verdict = Literal["certify", "revoke"]


class NotYourReview(DomainError):
    status = 403
    title = "Not your review"


class AlreadyDecided(Conflict):
    title = "Already decided"


class AlreadyRemoved(Conflict):
    """The grant was revoked (or ended) outside the review; the item is closed as such, and that closing is kept."""

    title = "Access already removed"
    keeps_audit = True


class CampaignNotOpen(Conflict):
    title = "Campaign not open"


class OwnAccess(InvalidOperation):
    title = "Own access"


class NothingToReview(InvalidOperation):
    title = "Nothing to review"


class AllUnderReview(NothingToReview):
    """Every grant in the scope already waits for a decision in a running campaign (decision 0059)."""

    title = "Already under review"


@dataclass(frozen=True)
class ReviewSettings:
    """The review settings the service needs (from govern.config.Settings, or given directly in tests)."""

    on_deadline: DeadlineAction = DeadlineAction.REVOKE
    reminder_every_hours: int = 72
    mass_revocation_threshold: int = 25
    mass_revocation_percent: int = 25

    @classmethod
    def from_settings(cls, settings: Any) -> ReviewSettings:
        return cls(DeadlineAction(settings.review_on_deadline), settings.review_reminder_every_hours,
                   settings.review_mass_revocation_threshold, settings.review_mass_revocation_percent)

    def revocations_without_confirmation(self, campaign_size: int) -> int:
        """The most grants a deadline may revoke on its own: the threshold, or the percentage of the campaign if that
        is smaller, but never fewer than MIN_HELD_REVOCATIONS (unless the threshold itself is lower)."""
        share = math.floor(campaign_size * self.mass_revocation_percent / 100)
        return min(self.mass_revocation_threshold, max(MIN_HELD_REVOCATIONS, share))


@dataclass(frozen=True)
class Decider:
    """Who is deciding: their person (None for a console user or client linked to nobody) and whether they may
    decide any item (reviews:manage) rather than only those assigned to their person."""

    person_id: int | None
    manages: bool = False


_is_pending = queries.is_pending


def campaign_snapshot(campaign: ReviewCampaign) -> dict[str, Any]:
    return {"name": campaign.name, "scope_kind": campaign.scope_kind.value, "scope_value": campaign.scope_value,
            "status": campaign.status.value, "on_deadline": campaign.on_deadline.value, "deadline": campaign.deadline,
            "reminder_every_hours": campaign.reminder_every_hours}


def item_facts(item: ReviewItem) -> dict[str, Any]:
    return {"campaign_id": item.campaign_id, "grant_id": item.grant_id, "person_id": item.person_id,
            "account_id": item.account_id, "grant_role": item.grant_role, "reviewer_person_id": item.reviewer_person_id,
            "decision": item.decision.value if item.decision else None, "comment": item.comment}

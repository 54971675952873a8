"""Access review campaigns and the grants snapshotted into them, one item per grant."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, case
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, unicode_name, utcnow
from govern.grants.models import Grant
from govern.people.models import Person


class ScopeKind(str, enum.Enum):
    ALL = "all"
    BUSINESS_UNIT = "business_unit"
    NETWORK = "network"


class CampaignStatus(str, enum.Enum):
    OPENING = "opening"  # asked for; the job that snapshots the grants into items has not committed yet
    OPEN = "open"
    HELD = "held"  # the deadline would revoke too many grants at once: a governance user must confirm
    CLOSED = "closed"


class DeadlineAction(str, enum.Enum):
    REVOKE = "revoke"
    ESCALATE = "escalate"


class ItemDecision(str, enum.Enum):
    CERTIFIED = "certified"
    REVOKED = "revoked"
    REVOKED_AT_DEADLINE = "revoked_at_deadline"
    ESCALATED = "escalated"  # unreviewed at the deadline and handed to governance: still waiting for a decision


FINAL_DECISIONS = frozenset({ItemDecision.CERTIFIED, ItemDecision.REVOKED, ItemDecision.REVOKED_AT_DEADLINE})


class ReviewCampaign(Base):
    __tablename__ = "review_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unicode_name(200))
    scope_kind: Mapped[ScopeKind] = mapped_column(enum_column(ScopeKind))
    scope_value: Mapped[str | None] = mapped_column(unicode_name(255))
    status: Mapped[CampaignStatus] = mapped_column(enum_column(CampaignStatus), default=CampaignStatus.OPEN, index=True)
    on_deadline: Mapped[DeadlineAction] = mapped_column(enum_column(DeadlineAction))
    opened_by: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    reminder_every_hours: Mapped[int]
    opening_job_id: Mapped[str | None] = mapped_column(String(36))  # the outbox job that snapshots the items
    snapshot_at: Mapped[datetime | None]  # when the grants in force were read into items; None while opening

    items: Mapped[list[ReviewItem]] = relationship(back_populates="campaign", order_by="ReviewItem.id")


class ReviewItem(Base):
    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "grant_id"),
        Index("ix_review_items_campaign_id_account_id_id", "campaign_id", "account_id", "id"),  # the campaign's pages
        # the campaign's progress per reviewer, read from the index alone
        Index("ix_review_items_campaign_reviewer_decision", "campaign_id", "reviewer_person_id", "decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("review_campaigns.id"))  # leads three indexes below
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    # copies of the grant's (whose own foreign keys hold them): no foreign key of their own, so opening a campaign
    # does not check 230,000 rows twice more (decision 0036)
    person_id: Mapped[int]
    account_id: Mapped[int]
    grant_role: Mapped[str] = mapped_column(String(32))
    # read from people in the opening statement, and people are never deleted: no per-row foreign-key check (0036)
    reviewer_person_id: Mapped[int | None] = mapped_column(index=True)  # None: governance decides
    decision: Mapped[ItemDecision | None] = mapped_column(enum_column(ItemDecision))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    last_reminded_at: Mapped[datetime | None]
    escalated_from_person_id: Mapped[int | None]  # the reviewer before escalation

    campaign: Mapped[ReviewCampaign] = relationship(back_populates="items", lazy="joined")
    grant: Mapped[Grant] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(primaryjoin="foreign(ReviewItem.person_id) == Person.id", lazy="joined",
                                          viewonly=True)
    account: Mapped[SocialAccount] = relationship(primaryjoin="foreign(ReviewItem.account_id) == SocialAccount.id",
                                                  lazy="joined", viewonly=True)
    reviewer: Mapped[Person | None] = relationship(primaryjoin="foreign(ReviewItem.reviewer_person_id) == Person.id",
                                                   lazy="joined", viewonly=True)

    # 0 while the item waits for a decision (undecided or escalated), 1 once decided: "my reviews" pages waiting first
    settled: Mapped[int] = column_property(case((decision.is_(None), 0), (decision == ItemDecision.ESCALATED, 0), else_=1))

    @property
    def is_final(self) -> bool:
        return self.decision in FINAL_DECISIONS


GOVERNANCE_KEY = 0  # review_progress.reviewer_key of the items nobody owns: governance decides them (person ids start at 1)
PROGRESS_COLUMNS = ("undecided", *(decision.value for decision in ItemDecision))  # one count per state of an item


class ReviewProgress(Base):
    """How many of a campaign's items each reviewer has, per decision: kept in the same transaction as every change
    of an item's decision or reviewer (reviews/service/tally.py), so a campaign's pages read one row per reviewer
    instead of counting its items (230,000 at a large company's size, issue 12)."""

    __tablename__ = "review_progress"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("review_campaigns.id"), primary_key=True)
    # the reviewer's person id, or GOVERNANCE_KEY: a key column cannot be NULL, and NULLs are never equal in one
    reviewer_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    undecided: Mapped[int] = mapped_column(default=0)
    certified: Mapped[int] = mapped_column(default=0)
    revoked: Mapped[int] = mapped_column(default=0)
    revoked_at_deadline: Mapped[int] = mapped_column(default=0)
    escalated: Mapped[int] = mapped_column(default=0)  # handed to governance at the deadline: still waiting

"""What publishing keeps: posts fanned out to their accounts (one target each), the approval rules and the decisions
given on them, single-use links for outside approvers, and the posts and replies the policy sent to an approver."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, unicode_text, utcnow


class ApprovalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PublishApproval(Base):
    """A post or reply the policy sent to a governance approver instead of the network."""

    __tablename__ = "publish_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_by: Mapped[str] = mapped_column(String(255))
    network_action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # what will be published once approved
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pack_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[ApprovalStatus] = mapped_column(enum_column(ApprovalStatus), index=True, default=ApprovalStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    account: Mapped[SocialAccount] = relationship(lazy="joined")


class PostState(str, enum.Enum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    HELD = "held"  # a pause covers it (the pauses feature sets and clears it)


OPEN_STATES = frozenset({PostState.DRAFT, PostState.AWAITING_APPROVAL, PostState.SCHEDULED, PostState.HELD,
                         PostState.BLOCKED})
FINAL_STATES = frozenset({PostState.PUBLISHED, PostState.FAILED, PostState.CANCELLED})


class RuleScope(str, enum.Enum):
    ALL = "all"
    BUSINESS_UNIT = "business_unit"
    NETWORK = "network"
    ACCOUNT = "account"


SCOPE_SPECIFICITY = {RuleScope.ACCOUNT: 3, RuleScope.NETWORK: 2, RuleScope.BUSINESS_UNIT: 1, RuleScope.ALL: 0}


class StepMode(str, enum.Enum):
    ANY = "any"
    ALL = "all"


class Verdict(str, enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Post(Base):
    """A post for one or more accounts; its text (and per-network variants) and when it should go out."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(255))  # the actor id of the author (an API client or console user)
    created_by_name: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(unicode_text())
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    variants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # network key -> {"text": ..., "media": [...]}
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    state: Mapped[PostState] = mapped_column(enum_column(PostState), default=PostState.DRAFT, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # every edit bumps it; decisions on an older one lapse
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the steps that apply, fixed at submit
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the policy's, at submit
    block_reason: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    targets: Mapped[list[PostTarget]] = relationship(back_populates="post", order_by="PostTarget.id",
                                                     cascade="all, delete-orphan", lazy="selectin")
    decisions: Mapped[list[ApprovalDecision]] = relationship(order_by="ApprovalDecision.id", lazy="selectin",
                                                             viewonly=True)

    def content_for(self, network_key: str) -> tuple[str, list[str]]:
        """The text and media going to an account of that network: its variant where one is given."""
        variant = (self.variants or {}).get(network_key) or {}
        return str(variant.get("text") or self.text), list(variant.get("media") or self.media or [])


class PostTarget(Base):
    """One account a post goes to, with its own state and the key that makes it go out once."""

    __tablename__ = "post_targets"
    __table_args__ = (UniqueConstraint("post_id", "account_id"), Index("ix_post_targets_state_next_attempt_at", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    state: Mapped[PostState] = mapped_column(enum_column(PostState), default=PostState.DRAFT, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]  # a failed attempt is tried again from then (exponential backoff)
    attempt_started_at: Mapped[datetime | None]  # the schedule's lease: who is publishing it, since when, until when
    lease_expires_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    post: Mapped[Post] = relationship(back_populates="targets")
    account: Mapped[SocialAccount] = relationship(lazy="joined")


class ApprovalRule(Base):
    """For a scope, the ordered steps a post must pass: each names its approvers and needs any one or all of them."""

    __tablename__ = "approval_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    scope_type: Mapped[RuleScope] = mapped_column(enum_column(RuleScope), index=True)
    scope_value: Mapped[str | None] = mapped_column(String(255))  # business unit, network key or account id
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"mode", "people", "roles", "externals", "groups", "group_names"}]
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApprovalDecision(Base):
    """One person's yes or no on one step of a post, for the post's version they saw, valid until `expires_at`."""

    __tablename__ = "post_approval_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post_version: Mapped[int] = mapped_column(Integer)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    slot: Mapped[str] = mapped_column(String(400))  # person:<id>, group:<SCIM id>, role:<role> or external:<e-mail>
    verdict: Mapped[Verdict] = mapped_column(enum_column(Verdict))
    approver_actor_id: Mapped[str] = mapped_column(String(255))
    approver_name: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    void: Mapped[bool] = mapped_column(default=False)  # an edit, a rejection or a resubmission set it aside


class ExternalApprovalLink(Base):
    """A single-use, expiring link for an approver outside govern; only the hash of its token is kept."""

    __tablename__ = "external_approval_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post_version: Mapped[int] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    approver_name: Mapped[str] = mapped_column(String(255))
    approver_email: Mapped[str] = mapped_column(String(320))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

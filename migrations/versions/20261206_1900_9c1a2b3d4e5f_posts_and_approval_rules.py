"""posts and approval rules: a post fanned out to its accounts, approval rules per scope, decisions, external links

Revision ID: 9c1a2b3d4e5f
Revises: 9a1c2e3f4b5d
Create Date: 2026-12-06 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "9c1a2b3d4e5f"
down_revision = "9a1c2e3f4b5d"
branch_labels = None
depends_on = None

STATES = ("draft", "awaiting_approval", "scheduled", "publishing", "published", "failed", "blocked", "cancelled", "held")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, govern.db.UTCDateTime(timezone=True), nullable=nullable)


def _state(name: str) -> sa.Column:
    return sa.Column(name, sa.Enum(*STATES, name="poststate", native_enum=False, create_constraint=True, length=32),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        sa.Column("author_person_id", sa.Integer(), sa.ForeignKey("people.id", name="fk_posts_author_person_id_people"), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_by_name", sa.String(255), nullable=False),
        sa.Column("text", sa.Text().with_variant(sa.Text(collation=govern.db.UNICODE_COLLATION), "postgresql"), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        _when("scheduled_at"),
        _state("state"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("block_reason", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        _when("submitted_at"),
        _when("approved_at"),
        _when("created_at", False),
        _when("updated_at", False),
    )
    op.create_index("ix_posts_author_person_id", "posts", ["author_person_id"])
    op.create_index("ix_posts_scheduled_at", "posts", ["scheduled_at"])
    op.create_index("ix_posts_state", "posts", ["state"])
    op.create_table(
        "post_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_post_targets"),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="CASCADE", name="fk_post_targets_post_id_posts"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("social_accounts.id", name="fk_post_targets_account_id_social_accounts"), nullable=False),
        _state("state"),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("published_at"),
        _when("updated_at", False),
        sa.UniqueConstraint("post_id", "account_id", name="uq_post_targets_post_id_account_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_post_targets_idempotency_key"),
    )
    op.create_index("ix_post_targets_post_id", "post_targets", ["post_id"])
    op.create_index("ix_post_targets_account_id", "post_targets", ["account_id"])
    op.create_index("ix_post_targets_state", "post_targets", ["state"])
    op.create_table(
        "approval_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approval_rules"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("scope_type", sa.Enum("all", "business_unit", "network", "account", name="rulescope", native_enum=False,
                                        create_constraint=True, length=32), nullable=False),
        sa.Column("scope_value", sa.String(255), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        _when("created_at", False),
        _when("updated_at", False),
    )
    op.create_index("ix_approval_rules_scope_type", "approval_rules", ["scope_type"])
    op.create_table(
        "post_approval_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_post_approval_decisions"),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="CASCADE", name="fk_post_approval_decisions_post_id_posts"), nullable=False),
        sa.Column("post_version", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(400), nullable=False),
        sa.Column("verdict", sa.Enum("approved", "rejected", name="verdict", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("approver_actor_id", sa.String(255), nullable=False),
        sa.Column("approver_name", sa.String(320), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _when("decided_at", False),
        _when("expires_at", False),
        sa.Column("void", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_post_approval_decisions_post_id", "post_approval_decisions", ["post_id"])
    op.create_table(
        "external_approval_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_external_approval_links"),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id", ondelete="CASCADE", name="fk_external_approval_links_post_id_posts"), nullable=False),
        sa.Column("post_version", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("approver_name", sa.String(255), nullable=False),
        sa.Column("approver_email", sa.String(320), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        _when("created_at", False),
        _when("expires_at", False),
        _when("used_at"),
        sa.UniqueConstraint("token_hash", name="uq_external_approval_links_token_hash"),
    )
    op.create_index("ix_external_approval_links_post_id", "external_approval_links", ["post_id"])


def downgrade() -> None:
    op.drop_table("external_approval_links")
    op.drop_table("post_approval_decisions")
    op.drop_table("approval_rules")
    op.drop_table("post_targets")
    op.drop_table("posts")

"""access reviews: certification campaigns and their items

Revision ID: 6b2e1d4f8c32
Revises: 5a1d0c3e7b21
Create Date: 2026-12-04 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "6b2e1d4f8c32"
down_revision = "5a1d0c3e7b21"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "review_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", govern.db.unicode_name(200), nullable=False),
        sa.Column("scope_kind", _enum("scopekind", "all", "business_unit", "network"), nullable=False),
        sa.Column("scope_value", govern.db.unicode_name(255), nullable=True),
        sa.Column("status", _enum("campaignstatus", "open", "held", "closed"), nullable=False),
        sa.Column("on_deadline", _enum("deadlineaction", "revoke", "escalate"), nullable=False),
        sa.Column("opened_by", sa.String(length=255), nullable=False),
        sa.Column("opened_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_every_hours", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_campaigns")),
    )
    with op.batch_alter_table("review_campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_campaigns_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_campaigns_deadline"), ["deadline"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("grant_role", sa.String(length=32), nullable=False),
        sa.Column("reviewer_person_id", sa.Integer(), nullable=True),
        sa.Column("decision", _enum("itemdecision", "certified", "revoked", "revoked_at_deadline", "escalated"), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("last_reminded_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["review_campaigns.id"], name=op.f("fk_review_items_campaign_id_review_campaigns")),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_review_items_grant_id_grants")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_review_items_person_id_people")),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_review_items_account_id_social_accounts")),
        sa.ForeignKeyConstraint(["reviewer_person_id"], ["people.id"], name=op.f("fk_review_items_reviewer_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("campaign_id", "grant_id", name=op.f("uq_review_items_campaign_id_grant_id")),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_reviewer_person_id"), ["reviewer_person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_items_reviewer_person_id"))
        batch_op.drop_index(batch_op.f("ix_review_items_grant_id"))
        batch_op.drop_index(batch_op.f("ix_review_items_campaign_id"))
    op.drop_table("review_items")
    with op.batch_alter_table("review_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_campaigns_deadline"))
        batch_op.drop_index(batch_op.f("ix_review_campaigns_status"))
    op.drop_table("review_campaigns")

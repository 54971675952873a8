"""reviews at size: campaigns that are opening (a job snapshots their items), the escalated reviewer, an index for paging

Revision ID: 8b1c2d3e4f51
Revises: 8b0c1d2e3f40
Create Date: 2026-12-05 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "8b1c2d3e4f51"
down_revision = "8b0c1d2e3f40"
branch_labels = None
depends_on = None

OLD_STATUSES = ("open", "held", "closed")
NEW_STATUSES = ("opening", *OLD_STATUSES)


def _allow_statuses(statuses: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table("review_campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_review_campaigns_campaignstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_review_campaigns_campaignstatus"), f"status IN ({allowed})")


def upgrade() -> None:
    _allow_statuses(NEW_STATUSES)
    with op.batch_alter_table("review_campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_job_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("snapshot_at", govern.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE review_campaigns SET snapshot_at = opened_at")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        # person_id and account_id copy the grant's, which its own foreign keys hold: checking them again per item
        # made opening a large campaign spend most of its time in foreign-key triggers (decision 0036)
        batch_op.drop_constraint(op.f("fk_review_items_person_id_people"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_review_items_account_id_social_accounts"), type_="foreignkey")
        batch_op.add_column(sa.Column("escalated_from_person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_review_items_escalated_from_person_id_people"), "people",
                                    ["escalated_from_person_id"], ["id"])
        batch_op.create_index("ix_review_items_campaign_id_account_id_id", ["campaign_id", "account_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_campaign_id_account_id_id")
        batch_op.drop_constraint(op.f("fk_review_items_escalated_from_person_id_people"), type_="foreignkey")
        batch_op.drop_column("escalated_from_person_id")
        batch_op.create_foreign_key(op.f("fk_review_items_person_id_people"), "people", ["person_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_review_items_account_id_social_accounts"), "social_accounts",
                                    ["account_id"], ["id"])
    op.execute("DELETE FROM review_items WHERE campaign_id IN (SELECT id FROM review_campaigns WHERE status = 'opening')")
    op.execute("DELETE FROM review_campaigns WHERE status = 'opening'")
    with op.batch_alter_table("review_campaigns", schema=None) as batch_op:
        batch_op.drop_column("snapshot_at")
        batch_op.drop_column("opening_job_id")
    _allow_statuses(OLD_STATUSES)

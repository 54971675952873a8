"""review progress: per campaign and reviewer, how many items wait and how many got each decision

A campaign's page counted its progress from every item on every view: a GROUP BY over 230,000 items at a large
company's size (136-221 ms of SQL in the 10-million-event run, issue 12). The counts are now kept in this table in
the transaction of every change of an item's decision or reviewer (reviews/service/tally.py); the campaigns that
exist are counted once here. reviewer_key 0 stands for governance (items with no reviewer).

Revision ID: 8b7d9e0fa1c8
Revises: 8b6c7d8e9fa6
Create Date: 2026-12-05 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8b7d9e0fa1c8"
down_revision = "8b6c7d8e9fa6"
branch_labels = None
depends_on = None

DECISIONS = ("certified", "revoked", "revoked_at_deadline", "escalated")


def upgrade() -> None:
    op.create_table(
        "review_progress",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("undecided", sa.Integer(), nullable=False),
        *(sa.Column(decision, sa.Integer(), nullable=False) for decision in DECISIONS),
        sa.ForeignKeyConstraint(["campaign_id"], ["review_campaigns.id"],
                                name=op.f("fk_review_progress_campaign_id_review_campaigns")),
        sa.PrimaryKeyConstraint("campaign_id", "reviewer_key", name=op.f("pk_review_progress")),
    )
    counts = ", ".join(f"COUNT(CASE WHEN decision = '{decision}' THEN 1 END)" for decision in DECISIONS)
    op.execute(
        f"INSERT INTO review_progress (campaign_id, reviewer_key, undecided, {', '.join(DECISIONS)}) "
        f"SELECT campaign_id, COALESCE(reviewer_person_id, 0), COUNT(CASE WHEN decision IS NULL THEN 1 END), {counts} "
        "FROM review_items GROUP BY campaign_id, COALESCE(reviewer_person_id, 0)"
    )


def downgrade() -> None:
    op.drop_table("review_progress")

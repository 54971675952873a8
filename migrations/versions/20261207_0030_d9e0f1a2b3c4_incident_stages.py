"""incident stages: the runbook stage an incident has reached and since when, for escalation (decision 0075)

Revision ID: d9e0f1a2b3c4
Revises: c8d9e0f1a2b3
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "d9e0f1a2b3c4"
down_revision = "c8d9e0f1a2b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("stage_since", govern.db.UTCDateTime(timezone=True), nullable=True))
    # an incident opened before escalation existed has been at its first stage since it opened
    op.execute("UPDATE incidents SET stage_since = opened_at")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.alter_column("stage_since", existing_type=govern.db.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("stage_since")
        batch_op.drop_column("stage")

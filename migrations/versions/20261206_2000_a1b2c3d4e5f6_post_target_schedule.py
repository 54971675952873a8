"""the schedule: a post target's lease while it is being published, and when a failed attempt is next tried

Revision ID: a1b2c3d4e5f6
Revises: 7e6d5c4b3a21
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "a1b2c3d4e5f6"
down_revision = "7e6d5c4b3a21"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, govern.db.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("post_targets") as batch:
        batch.add_column(_when("next_attempt_at"))
        batch.add_column(_when("attempt_started_at"))
        batch.add_column(_when("lease_expires_at"))
        batch.add_column(sa.Column("claimed_by", sa.String(255), nullable=True))
    op.create_index("ix_post_targets_state_next_attempt_at", "post_targets", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_post_targets_state_next_attempt_at", table_name="post_targets")
    with op.batch_alter_table("post_targets") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("lease_expires_at")
        batch.drop_column("attempt_started_at")
        batch.drop_column("next_attempt_at")

"""the leavers page at a large company's size: departures newest first, a page at a time, along an index

Revision ID: 8b4c5d6e7f84
Revises: 8b3c4d5e6f73
Create Date: 2026-12-05 08:40:00
"""

from __future__ import annotations

from alembic import op

revision = "8b4c5d6e7f84"
down_revision = "8b3c4d5e6f73"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.create_index("ix_departures_first_seen_id", ["first_seen_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("departures", schema=None) as batch_op:
        batch_op.drop_index("ix_departures_first_seen_id")

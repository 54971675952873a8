"""api token expiry: an API or SCIM token may end on its own

A token made in the console gets an end (90 days unless the administrator chooses otherwise); one made before, or
with the CLI without --expires-in-days, has none (NULL) and works until revoked, as before.

Revision ID: 8b9f1a2b3c4d
Revises: 8b7d9e0fa1c8
Create Date: 2026-12-06 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "8b9f1a2b3c4d"
down_revision = "8b7d9e0fa1c8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.add_column(sa.Column("expires_at", govern.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.drop_column("expires_at")

"""incident stages: the runbook stage an incident has reached and since when, for escalation (decision 0075)

Revision ID: d9e0f1a2b3c4
Revises: c8d9e0f1a2b3
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

import sqlite3

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
    # an incident opened before escalation existed has been at its first stage since it opened. The column stays
    # nullable: making it NOT NULL would make SQLite rebuild the table, and the code falls back to opened_at anyway.
    op.execute("UPDATE incidents SET stage_since = opened_at")


def downgrade() -> None:
    # SQLite drops a column in place since 3.35; rebuilding the table instead would reflect every table it refers to
    recreate = "auto" if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35) else "never"
    with op.batch_alter_table("incidents", schema=None, recreate=recreate) as batch_op:
        batch_op.drop_column("stage_since")
        batch_op.drop_column("stage")

"""audit_verifications: the latest whole-trail verification, so the verification API checks only the events since

Revision ID: 8b5c6d7e8f95
Revises: 8b4c5d6e7f84
Create Date: 2026-12-05 08:50:00
"""

from __future__ import annotations

import sqlalchemy as sa

import govern.db
from alembic import op

revision = "8b5c6d7e8f95"
down_revision = "8b4c5d6e7f84"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verified_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_by", sa.String(length=255), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("events_checked", sa.BigInteger(), nullable=False),
        sa.Column("checkpoints_checked", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("first_failure", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )


def downgrade() -> None:
    op.drop_table("audit_verifications")

"""publishing pauses: Pause All for everything, a business unit, a network or an account (decision 0070)

Revision ID: 9a0c1d2e3f40
Revises: 8c1a2b3c4d5e
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "9a0c1d2e3f40"
down_revision = "8c1a2b3c4d5e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publishing_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_type", sa.Enum("all", "business_unit", "network", "account", name="pausescope", native_enum=False,
                                        create_constraint=True, length=32), nullable=False),
        sa.Column("scope_value", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("paused_by", sa.String(length=255), nullable=False),
        sa.Column("paused_by_name", sa.String(length=255), nullable=False),
        sa.Column("paused_by_person_id", sa.Integer(), nullable=True),
        sa.Column("paused_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resume_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.String(length=255), nullable=True),
        sa.Column("resumed_by_name", sa.String(length=255), nullable=True),
        sa.Column("resume_note", sa.Text(), nullable=True),
        sa.Column("auto_resumed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["paused_by_person_id"], ["people.id"],
                                name=op.f("fk_publishing_pauses_paused_by_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_pauses")),
    )
    with op.batch_alter_table("publishing_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publishing_pauses_resumed_at"), ["resumed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publishing_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publishing_pauses_resumed_at"))
    op.drop_table("publishing_pauses")

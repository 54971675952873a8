"""job outbox: jobs written in the asking transaction, relayed to the broker, run once per id

Revision ID: 7c3f2a9e5d14
Revises: 657734bf9e13
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "7c3f2a9e5d14"
down_revision = "657734bf9e13"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("state", sa.Enum("pending", "delivered", "done", "failed", name="jobstate", native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
        sa.UniqueConstraint("job_id", name=op.f("uq_job_outbox_job_id")),
    )
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_job_outbox_state_id", ["state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_outbox_finished_at"), ["finished_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_outbox_finished_at"))
        batch_op.drop_index("ix_job_outbox_state_id")
    op.drop_table("job_outbox")

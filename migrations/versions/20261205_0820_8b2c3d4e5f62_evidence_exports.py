"""evidence exports: bundles asked for in the console, written by a job with progress

Revision ID: 8b2c3d4e5f62
Revises: 8b1c2d3e4f51
Create Date: 2026-12-05 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "8b2c3d4e5f62"
down_revision = "8b1c2d3e4f51"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("period_from", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_to", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Enum("queued", "running", "done", "failed", name="exportstate", native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("progress_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_exports")),
    )
    with op.batch_alter_table("evidence_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_exports_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_exports_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_exports_created_at"))
        batch_op.drop_index(batch_op.f("ix_evidence_exports_job_id"))
    op.drop_table("evidence_exports")

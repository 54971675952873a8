"""network apps' extra authorization parameters; SIEM stream cursors in the database, one per sink

Revision ID: 7c3f2a9e1d05
Revises: 7c3f2a9e5d14
Create Date: 2026-12-04 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "7c3f2a9e1d05"
down_revision = "7c3f2a9e5d14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra_authorize_params", sa.JSON(), nullable=True))
    op.create_table(
        "audit_stream_cursors",
        sa.Column("sink", sa.String(length=512), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_audit_stream_cursors")),
    )


def downgrade() -> None:
    op.drop_table("audit_stream_cursors")
    with op.batch_alter_table("network_apps", schema=None) as batch_op:
        batch_op.drop_column("extra_authorize_params")

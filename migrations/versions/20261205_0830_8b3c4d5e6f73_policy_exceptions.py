"""policy exceptions: scoped exceptions learned from false positives (value digests, never values)

Revision ID: 8b3c4d5e6f73
Revises: 8b2c3d4e5f62
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "8b3c4d5e6f73"
down_revision = "8b2c3d4e5f62"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Enum("value", "value_account", "rule_account", name="exceptionscope", native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("value_digest", sa.String(length=64), nullable=True),
        sa.Column("preview", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=True),
        sa.Column("pack_version", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=255), nullable=True),
        sa.Column("removed_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"],
                                name=op.f("fk_policy_exceptions_account_id_social_accounts")),
        sa.ForeignKeyConstraint(["violation_id"], ["policy_violations.id"], ondelete="SET NULL",
                                name=op.f("fk_policy_exceptions_violation_id_policy_violations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_exceptions")),
    )
    with op.batch_alter_table("policy_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_exceptions_rule"), ["rule"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_exceptions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_exceptions_violation_id"), ["violation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_exceptions_removed_at"), ["removed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("policy_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_exceptions_removed_at"))
        batch_op.drop_index(batch_op.f("ix_policy_exceptions_violation_id"))
        batch_op.drop_index(batch_op.f("ix_policy_exceptions_account_id"))
        batch_op.drop_index(batch_op.f("ix_policy_exceptions_rule"))
    op.drop_table("policy_exceptions")

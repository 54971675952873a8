"""audit signing keys, signed checkpoints, legal holds, and the console role 'reviewer'

Revision ID: 5a1d0c3e7b21
Revises: 9c1e5a7d2b40
Create Date: 2026-12-04 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "5a1d0c3e7b21"
down_revision = "9c1e5a7d2b40"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "governance", "it", "auditor", "scim")
NEW_ROLES = (*OLD_ROLES, "reviewer")
ROLE_TABLES = ("api_clients", "console_users")


def _allow_roles(roles: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{role}'" for role in roles)
    for table in ROLE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_role"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_role"), f"role IN ({allowed})")


def upgrade() -> None:
    _allow_roles(NEW_ROLES)
    op.create_table(
        "audit_signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("valid_from", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_signing_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_audit_signing_keys_key_id")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"], unique=False)
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data_kinds", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("placed_by", sa.String(length=255), nullable=False),
        sa.Column("placed_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=255), nullable=True),
        sa.Column("released_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Checkpoints are evidence like the events they seal: the same append-only trigger guards them.
        op.execute(
            "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints "
            "FOR EACH ROW EXECUTE FUNCTION govern_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints")
    op.drop_table("legal_holds")
    op.drop_index(op.f("ix_audit_checkpoints_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_signing_keys")
    # Reviewers become disabled auditors-by-label first, so no row is lost and none can act.
    op.execute("UPDATE api_clients SET revoked_at = CURRENT_TIMESTAMP WHERE role = 'reviewer' AND revoked_at IS NULL")
    op.execute("UPDATE console_users SET disabled_at = CURRENT_TIMESTAMP WHERE role = 'reviewer' AND disabled_at IS NULL")
    for table in ROLE_TABLES:
        op.execute(f"UPDATE {table} SET role = 'auditor' WHERE role = 'reviewer'")
    _allow_roles(OLD_ROLES)

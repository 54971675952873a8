"""scim role: API clients (and, by the shared enum, console users) may have the role 'scim'

Revision ID: d0910322e600
Revises: b0cf5b033d84
Create Date: 2026-11-22 00:50:00.000000
"""

from __future__ import annotations

from alembic import op


revision = 'd0910322e600'
down_revision = 'b0cf5b033d84'
branch_labels = None
depends_on = None

OLD_ROLES = ('admin', 'governance', 'it', 'auditor')
NEW_ROLES = (*OLD_ROLES, 'scim')
TABLES = ('api_clients', 'console_users')


def _allow(roles: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{role}'" for role in roles)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_role'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_role'), f"role IN ({allowed})")


def upgrade() -> None:
    _allow(NEW_ROLES)


def downgrade() -> None:
    # The old constraint has no 'scim': such clients are revoked (and users disabled) first, then
    # relabelled, so the rows stay for the audit trail but can never act again.
    op.execute("UPDATE api_clients SET revoked_at = CURRENT_TIMESTAMP WHERE role = 'scim' AND revoked_at IS NULL")
    op.execute("UPDATE console_users SET disabled_at = CURRENT_TIMESTAMP WHERE role = 'scim' AND disabled_at IS NULL")
    for table in TABLES:
        op.execute(f"UPDATE {table} SET role = 'auditor' WHERE role = 'scim'")
    _allow(OLD_ROLES)

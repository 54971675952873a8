"""scim user attributes: the name's parts, e-mail types, an unknown manager and a removed `active`, as sent (decision 0076)

Revision ID: 7e6d5c4b3a21
Revises: 9d2b3c4d5e6f
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "7e6d5c4b3a21"
down_revision = "9d2b3c4d5e6f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scim_user_attributes",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("emails", sa.JSON(), nullable=True),
        sa.Column("manager_ref", sa.String(length=1024), nullable=True),
        sa.Column("active_unassigned", sa.Boolean(), nullable=False),
        sa.Column("updated_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_scim_user_attributes_person_id_people"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_scim_user_attributes")),
    )
    op.create_index("ix_scim_user_attributes_manager_ref_lower", "scim_user_attributes", [sa.text("lower(manager_ref)")])


def downgrade() -> None:
    op.drop_index("ix_scim_user_attributes_manager_ref_lower", table_name="scim_user_attributes")
    op.drop_table("scim_user_attributes")

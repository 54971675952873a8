"""scim groups: groups pushed by an identity provider, their members, and the console roles they give (decision 0078)

Revision ID: c8d9e0f1a2b3
Revises: b7c8d9e0f1a2
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "c8d9e0f1a2b3"
down_revision = "b7c8d9e0f1a2"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, govern.db.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "scim_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("display_name", govern.db.unicode_name(255), nullable=False),
        sa.Column("external_id", sa.String(length=1024), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_groups")),
    )
    op.create_index("ux_scim_groups_display_name_lower", "scim_groups", [sa.text("lower(display_name)")], unique=True)
    op.create_table(
        "scim_group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=True),
        _when("added_at"),
        sa.ForeignKeyConstraint(["group_id"], ["scim_groups.id"], name=op.f("fk_scim_group_members_group_id_scim_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_scim_group_members_person_id_people"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "value", name=op.f("pk_scim_group_members")),
    )
    op.create_index(op.f("ix_scim_group_members_person_id"), "scim_group_members", ["person_id"])
    op.create_table(
        "scim_console_roles",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("console_user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_scim_console_roles_person_id_people"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["console_user_id"], ["console_users.id"],
                                name=op.f("fk_scim_console_roles_console_user_id_console_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_scim_console_roles")),
    )
    op.create_index(op.f("ix_scim_console_roles_console_user_id"), "scim_console_roles", ["console_user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scim_console_roles_console_user_id"), table_name="scim_console_roles")
    op.drop_table("scim_console_roles")
    op.drop_index(op.f("ix_scim_group_members_person_id"), table_name="scim_group_members")
    op.drop_table("scim_group_members")
    op.drop_index("ux_scim_groups_display_name_lower", table_name="scim_groups")
    op.drop_table("scim_groups")

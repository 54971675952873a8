"""scim: userName unique case-insensitively for SCIM people (a database index), and the client's externalId in a column of its own

Until now the externalId was kept in people.dn, the column LDAP sources fill with an entry's DN. It moves to
scim_user_attributes.external_id (indexed: clients look people up by it). Every SCIM person gets a kept row, as
govern showed them until now, so a User always reads from one place.

Revision ID: b7c8d9e0f1a2
Revises: a1b2c3d4e5f6
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "b7c8d9e0f1a2"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None

SCIM_PEOPLE_ONLY = "source = 'scim' AND external_id NOT LIKE 'deleted:%'"
people = sa.table("people", sa.column("id", sa.Integer), sa.column("source", sa.String), sa.column("dn", sa.Text),
                  sa.column("display_name", sa.String), sa.column("email", sa.String))
kept = sa.table("scim_user_attributes", sa.column("person_id", sa.Integer), sa.column("external_id", sa.String),
                sa.column("name", sa.JSON), sa.column("display_name", sa.Text), sa.column("emails", sa.JSON),
                sa.column("manager_ref", sa.String), sa.column("active_unassigned", sa.Boolean),
                sa.column("updated_at", govern.db.UTCDateTime(timezone=True)))


def upgrade() -> None:
    bind = op.get_bind()
    duplicates = bind.execute(sa.text(
        f"SELECT lower(username) FROM people WHERE {SCIM_PEOPLE_ONLY} GROUP BY lower(username) HAVING count(*) > 1")).all()
    if duplicates:
        raise RuntimeError("SCIM people share a userName (case-insensitively): "
                           f"{', '.join(row[0] for row in duplicates[:10])}; rename or delete one of each before upgrading")
    op.create_index("uq_people_scim_username_lower", "people", [sa.text("lower(username)")], unique=True,
                    postgresql_where=sa.text(SCIM_PEOPLE_ONLY), sqlite_where=sa.text(SCIM_PEOPLE_ONLY))

    # plain ALTERs, not a batch: SQLite adds and drops a column in place, and a batch would rebuild the table without
    # its expression index on lower(manager_ref), which SQLAlchemy cannot reflect
    op.add_column("scim_user_attributes", sa.Column("external_id", sa.String(length=1024), nullable=True))
    op.create_index("ix_scim_user_attributes_external_id", "scim_user_attributes", ["external_id"])
    have_row = {row[0] for row in bind.execute(sa.select(kept.c.person_id))}
    now = datetime.now(timezone.utc)
    for person_id, dn, display_name, email in bind.execute(
            sa.select(people.c.id, people.c.dn, people.c.display_name, people.c.email).where(people.c.source == "scim")).all():
        external_id = dn or None
        if person_id in have_row:
            bind.execute(kept.update().where(kept.c.person_id == person_id).values(external_id=external_id))
        else:  # as govern showed a person provisioned before their attributes were kept (decision 0076)
            bind.execute(kept.insert().values(
                person_id=person_id, external_id=external_id, name={"formatted": display_name}, display_name=display_name,
                emails=[{"value": email, "type": "work", "primary": True}] if email else None, manager_ref=None,
                active_unassigned=False, updated_at=now))
    bind.execute(people.update().where(people.c.source == "scim").values(dn=""))


def downgrade() -> None:
    bind = op.get_bind()
    for person_id, external_id in bind.execute(sa.select(kept.c.person_id, kept.c.external_id)).all():
        bind.execute(people.update().where(people.c.id == person_id, people.c.source == "scim").values(dn=external_id or ""))
    op.drop_index("ix_scim_user_attributes_external_id", table_name="scim_user_attributes")
    op.drop_column("scim_user_attributes", "external_id")
    op.drop_index("uq_people_scim_username_lower", table_name="people")

"""A large organisation loaded straight into PostgreSQL in a few statements, for tests at a size that breaks
id-list queries (more than 65,535 grants in force) without spending minutes in the service layer.

What it writes bypasses the services on purpose (no audit events per row): it is test data, not a path the
product offers. Benchmarks that must go through govern's own code build their organisation in benches/scale.py.
Names are English, Arabic and Hebrew in turn; every person but the first has a manager; `leavers` people at the
end of the id range have left and keep their grants (what the access report must flag).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

FIRST_NAMES = ("Dana", "ليلى", "נועה", "Omar", "يوسف", "איתי")


@dataclass(frozen=True)
class LargeOrg:
    people: int
    accounts: int
    grants: int
    leavers: int
    first_person_id: int
    first_account_id: int
    first_grant_id: int
    business_unit: str


def load_large_org(connection: Connection, *, people: int = 20_000, accounts: int = 1_000, grants: int = 70_000,
                   leavers: int = 500, tag: str = "large") -> LargeOrg:
    """People, accounts (one network, owned by people in turn) and grants in force (each person to a few accounts),
    on PostgreSQL; `tag` keeps the external ids and handles apart from other rows of the same database."""
    if connection.dialect.name != "postgresql":
        raise RuntimeError("load_large_org needs PostgreSQL (generate_series)")
    first_person = connection.execute(sa.text(
        """
        WITH inserted AS (
        INSERT INTO people (source, external_id, username, email, display_name, department, status, left_at,
                            search_text, created_at, updated_at)
        SELECT 'manual', :tag || '-p' || n, :tag || '.user' || n, :tag || '.user' || n || '@example.com',
               (CAST(:names AS text[]))[1 + n % 6] || ' ' || n, 'Dept ' || (n % 40),
               CASE WHEN n > :people - :leavers THEN 'leaver' ELSE 'active' END,
               CASE WHEN n > :people - :leavers THEN now() - interval '3 days' END,
               lower((CAST(:names AS text[]))[1 + n % 6] || ' ' || n), now(), now()
        FROM generate_series(1, :people) AS n
        RETURNING id)
        SELECT min(id) FROM inserted
        """), {"tag": tag, "people": people, "leavers": leavers, "names": list(FIRST_NAMES)}).scalar_one()
    # a manager tree: person n reports to person n // 10 (the first has none)
    connection.execute(sa.text(
        # integer casts: psycopg binds a small Python int as smallint, and :first + :people would overflow it
        "UPDATE people SET manager_id = CAST(:first AS integer) + (id - CAST(:first AS integer) + 1) / 10 - 1 "
        "WHERE id > CAST(:first AS integer) AND id < CAST(:first AS integer) + CAST(:people AS integer) "
        "AND (id - CAST(:first AS integer) + 1) / 10 >= 1"),
        {"first": first_person, "people": people})
    network_id = connection.execute(sa.text("SELECT id FROM networks WHERE key = 'x'")).scalar_one()
    business_unit = f"{tag}-unit"
    first_account = connection.execute(sa.text(
        """
        WITH inserted AS (
        INSERT INTO social_accounts (network_id, handle, display_name, business_unit, owner_id, status, tags,
                                     search_text, tag_index, created_at, updated_at)
        SELECT :network, '@' || :tag || n, 'Account ' || n, :unit, :first_person + (n % :people), 'active', '[]',
               lower('@' || :tag || n || ' account ' || n), '', now(), now()
        FROM generate_series(1, :accounts) AS n
        RETURNING id)
        SELECT min(id) FROM inserted
        """), {"network": network_id, "tag": tag, "unit": business_unit, "first_person": first_person,
               "people": people - leavers, "accounts": accounts}).scalar_one()
    first_grant = connection.execute(sa.text(
        """
        WITH inserted AS (
        INSERT INTO grants (person_id, account_id, role, granted_by, reason, starts_at, created_at)
        SELECT :first_person + ((n - 1) % :people), :first_account + ((n - 1) / :people + (n - 1)) % :accounts,
               (ARRAY['admin','publisher','moderator','analyst'])[1 + n % 4], 'tests:large-org', 'bulk load',
               now() - interval '30 days', now() - interval '30 days'
        FROM generate_series(1, :grants) AS n
        RETURNING id)
        SELECT min(id) FROM inserted
        """), {"first_person": first_person, "first_account": first_account, "people": people,
               "accounts": accounts, "grants": grants}).scalar_one()
    return LargeOrg(people, accounts, grants, leavers, first_person, first_account, first_grant, business_unit)

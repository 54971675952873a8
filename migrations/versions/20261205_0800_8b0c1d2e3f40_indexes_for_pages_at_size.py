"""indexes for pages and queries at a large company's size: audit history by target and by period, grants paged
per account and per person, people sorted by name; trigram indexes for the search columns on PostgreSQL

Revision ID: 8b0c1d2e3f40
Revises: 7c3f2a9e1d05
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

from alembic import op

revision = "8b0c1d2e3f40"
down_revision = "7c3f2a9e1d05"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = (("ix_people_search_trgm", "people"), ("ix_social_accounts_search_trgm", "social_accounts"))


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_target", ["target_type", "target_id", "seq"], unique=False)
        # a period's events newest first, and seq_range_for_times: served by (occurred_at, seq), which also
        # covers everything the single-column index on occurred_at served
        batch_op.create_index("ix_audit_events_occurred_at_seq", ["occurred_at", "seq"], unique=False)
        batch_op.drop_index("ix_audit_events_occurred_at")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        # an account's and a person's grants, newest first, a page at a time; the leading column covers the old indexes
        batch_op.create_index("ix_grants_account_starts", ["account_id", "starts_at", "id"], unique=False)
        batch_op.create_index("ix_grants_person_starts", ["person_id", "starts_at", "id"], unique=False)
        batch_op.drop_index("ix_grants_account_id")
        batch_op.drop_index("ix_grants_person_id")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index("ix_people_display_name_id", ["display_name", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # list searches match `search_text LIKE '%folded words%'`; a trigram GIN index serves LIKE with a leading %
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # the extension stays: other objects of the database may use it
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_display_name_id")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_person_id", ["person_id"], unique=False)
        batch_op.create_index("ix_grants_account_id", ["account_id"], unique=False)
        batch_op.drop_index("ix_grants_person_starts")
        batch_op.drop_index("ix_grants_account_starts")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.drop_index("ix_audit_events_occurred_at_seq")
        batch_op.drop_index("ix_audit_events_target")

"""audit events by subject, actor and action: an account's and a person's whole history (grants, reviews and
violations included) and the audit log's actor and action filters, newest first along an index

An account's history read only the events that target the account: a grant's creation and revocation target the
grant, a review decision its review item, a violation the violation. The events name the account and the person in
their summary; an expression index over (what the event is about, seq) finds them without a scan and without a new
column (the trail is append-only: nothing is backfilled, and the expression reads only hashed content). The same
expression text is in govern/audit/subjects.py: PostgreSQL uses the index only for that exact expression.
The single-column indexes on actor and on action become (actor, seq) and (action, seq), so "events by this actor"
and "events of this action" come newest first from the index instead of sorting every match (decision 0053).

Revision ID: 8b8e0f1a2b3c
Revises: 8b9f1a2b3c4d
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

from alembic import op

revision = "8b8e0f1a2b3c"
down_revision = "8b9f1a2b3c4d"
branch_labels = None
depends_on = None

ABOUT = {
    subject: (f"(CASE WHEN target_type = '{subject}' THEN target_id ELSE COALESCE(summary ->> '{subject}_id', "
              f"(summary -> 'after') ->> '{subject}_id', (summary -> 'before') ->> '{subject}_id') END)")
    for subject in ("account", "person")
}


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_actor_seq", ["actor", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_action_seq", ["action", "seq"], unique=False)
        batch_op.drop_index("ix_audit_events_actor")
        batch_op.drop_index("ix_audit_events_action")
    if op.get_bind().dialect.name == "postgresql":
        for subject, expression in ABOUT.items():
            op.execute(f"CREATE INDEX ix_audit_events_about_{subject} ON audit_events ({expression}, seq) "
                       f"WHERE {expression} IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for subject in ABOUT:
            op.execute(f"DROP INDEX IF EXISTS ix_audit_events_about_{subject}")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action", ["action"], unique=False)
        batch_op.create_index("ix_audit_events_actor", ["actor"], unique=False)
        batch_op.drop_index("ix_audit_events_action_seq")
        batch_op.drop_index("ix_audit_events_actor_seq")

"""crisis runbooks: runbooks, holding statements, incidents and their timeline, statement releases, and the
single-use pause releases a confirmed statement goes out by (decision 0075)

Revision ID: 9d2b3c4d5e6f
Revises: 9c1a2b3d4e5f
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "9d2b3c4d5e6f"
down_revision = "9c1a2b3d4e5f"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, govern.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pause_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.Column("granted_by_name", sa.String(length=255), nullable=False),
        _when("granted_at"),
        _when("consumed_at", True),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_pause_releases_account_id_social_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pause_releases")),
    )
    op.create_index(op.f("ix_pause_releases_account_id"), "pause_releases", ["account_id"], unique=False)
    op.create_table(
        "runbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scope_type", _enum("pausescope", "all", "business_unit", "network", "account"), nullable=False),
        sa.Column("scope_value", sa.String(length=255), nullable=True),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("pause_on_activate", sa.Boolean(), nullable=False),
        sa.Column("auto_activate", sa.Boolean(), nullable=False),
        sa.Column("auto_severity", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_by_name", sa.String(length=255), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbooks")),
        sa.UniqueConstraint("name", name=op.f("uq_runbooks_name")),
    )
    op.create_table(
        "runbook_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("author_person_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("approved_by_name", sa.String(length=255), nullable=True),
        _when("approved_at", True),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], name=op.f("fk_runbook_statements_runbook_id_runbooks")),
        sa.ForeignKeyConstraint(["author_person_id"], ["people.id"], name=op.f("fk_runbook_statements_author_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_statements")),
    )
    op.create_index(op.f("ix_runbook_statements_runbook_id"), "runbook_statements", ["runbook_id"], unique=False)
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("incidentstatus", "open", "closed"), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("pause_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.String(length=255), nullable=False),
        sa.Column("opened_by_name", sa.String(length=255), nullable=False),
        _when("opened_at"),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        _when("closed_at", True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("closed_by_name", sa.String(length=255), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], name=op.f("fk_incidents_runbook_id_runbooks")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_incidents_alert_id_alerts")),
        sa.ForeignKeyConstraint(["pause_id"], ["publishing_pauses.id"], name=op.f("fk_incidents_pause_id_publishing_pauses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_runbook_id"), "incidents", ["runbook_id"], unique=False)
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        _when("at"),
        sa.Column("actor_id", sa.String(length=255), nullable=False),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(op.f("ix_incident_events_incident_id"), "incident_events", ["incident_id"], unique=False)
    op.create_table(
        "statement_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("releasestatus", "pending", "published", "failed"), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_by_name", sa.String(length=255), nullable=False),
        sa.Column("requested_by_person_id", sa.Integer(), nullable=True),
        _when("requested_at"),
        sa.Column("confirmed_by", sa.String(length=255), nullable=True),
        sa.Column("confirmed_by_name", sa.String(length=255), nullable=True),
        _when("confirmed_at", True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_statement_releases_incident_id_incidents")),
        sa.ForeignKeyConstraint(["statement_id"], ["runbook_statements.id"],
                                name=op.f("fk_statement_releases_statement_id_runbook_statements")),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_statement_releases_account_id_social_accounts")),
        sa.ForeignKeyConstraint(["requested_by_person_id"], ["people.id"],
                                name=op.f("fk_statement_releases_requested_by_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_releases")),
    )
    op.create_index(op.f("ix_statement_releases_incident_id"), "statement_releases", ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_statement_releases_incident_id"), table_name="statement_releases")
    op.drop_table("statement_releases")
    op.drop_index(op.f("ix_incident_events_incident_id"), table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index(op.f("ix_incidents_status"), table_name="incidents")
    op.drop_index(op.f("ix_incidents_runbook_id"), table_name="incidents")
    op.drop_table("incidents")
    op.drop_index(op.f("ix_runbook_statements_runbook_id"), table_name="runbook_statements")
    op.drop_table("runbook_statements")
    op.drop_table("runbooks")
    op.drop_index(op.f("ix_pause_releases_account_id"), table_name="pause_releases")
    op.drop_table("pause_releases")

"""spike and keyword alerts: inbound items seen per account, hourly inbound volume, cooldowns, alerts

The scan's inbound comments are counted once each (alert_inbound_seen) into an hourly counter per account
(alert_inbound_volume); the spike rule compares the current hour with the 12 before. A cooldown row per account and
rule is claimed with one upsert, so two scans at once raise one alert. Alerts are listed newest first along
(raised_at, id) (decision 0074).

Revision ID: 9a1c2e3f4b5d
Revises: 9a0c1d2e3f40
Create Date: 2026-12-06 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = "9a1c2e3f4b5d"
down_revision = "9a0c1d2e3f40"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_inbound_seen",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=300), nullable=False),
        sa.Column("seen_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_alert_inbound_seen_account_id_social_accounts")),
        sa.PrimaryKeyConstraint("account_id", "item_key", name=op.f("pk_alert_inbound_seen")),
    )
    with op.batch_alter_table("alert_inbound_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_inbound_seen_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "alert_inbound_volume",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("hour", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_alert_inbound_volume_account_id_social_accounts")),
        sa.PrimaryKeyConstraint("account_id", "hour", name=op.f("pk_alert_inbound_volume")),
    )
    op.create_table(
        "alert_cooldowns",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("quiet_until", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_alert_cooldowns_account_id_social_accounts")),
        sa.PrimaryKeyConstraint("account_id", "rule", name=op.f("pk_alert_cooldowns")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("spike", "keyword", name="alertkind", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("status", sa.Enum("open", "acknowledged", name="alertstatus", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("raised_at", govern.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("acknowledged_at", govern.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledge_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["social_accounts.id"], name=op.f("fk_alerts_account_id_social_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index("ix_alerts_raised_at_id", ["raised_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("alert_cooldowns")
    op.drop_table("alert_inbound_volume")
    op.drop_table("alert_inbound_seen")

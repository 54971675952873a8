"""notification deliveries: e-mail and webhook deliveries written with each notification, webhook endpoints, and
the language a person (or their console user) is written to in (decision 0071)

Revision ID: 8c1a2b3c4d5e
Revises: 8b8e0f1a2b3c
Create Date: 2026-12-06 18:19:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db

revision = '8c1a2b3c4d5e'
down_revision = "8b8e0f1a2b3c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128).with_variant(sa.String(length=128, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.Enum('generic', 'slack', 'teams', name='webhookkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('url_origin', sa.String(length=300), nullable=False),
    sa.Column('store_path', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_webhooks')),
    sa.UniqueConstraint('name', name=op.f('uq_notification_webhooks_name'))
    )
    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'webhook', name='channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=320), nullable=True),
    sa.Column('webhook_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.String(length=255), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'delivered', 'failed', name='deliverystate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_deliveries_notification_id_notifications'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_notification_deliveries_person_id_people')),
    sa.ForeignKeyConstraint(['webhook_id'], ['notification_webhooks.id'], name=op.f('fk_notification_deliveries_webhook_id_notification_webhooks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries'))
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notification_deliveries_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_webhook_id'), ['webhook_id'], unique=False)

    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('locale')

    with op.batch_alter_table('console_users', schema=None) as batch_op:
        batch_op.drop_column('locale')

    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_webhook_id'))
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_person_id'))
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_notification_id'))
        batch_op.drop_index('ix_notification_deliveries_due')

    op.drop_table('notification_deliveries')
    op.drop_table('notification_webhooks')

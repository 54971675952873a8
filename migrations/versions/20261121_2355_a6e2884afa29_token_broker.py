"""token broker: network apps, account connections, pending connects; API clients act for a person

Revision ID: a6e2884afa29
Revises: 065628b31a70
Create Date: 2026-11-21 23:55:46.363677
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = 'a6e2884afa29'
down_revision = '065628b31a70'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_apps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('secret_path', sa.String(length=255), nullable=False),
    sa.Column('secret_version', sa.Integer(), nullable=False),
    sa.Column('authorize_url', sa.String(length=1024), nullable=True),
    sa.Column('token_url', sa.String(length=1024), nullable=True),
    sa.Column('revocation_url', sa.String(length=1024), nullable=True),
    sa.Column('whoami_url', sa.String(length=1024), nullable=True),
    sa.Column('api_url', sa.String(length=1024), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.String(length=255), nullable=False),
    sa.Column('updated_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_network_apps_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_apps')),
    sa.UniqueConstraint('network_id', name=op.f('uq_network_apps_network_id'))
    )
    op.create_table('account_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('store_kind', sa.String(length=16), nullable=False),
    sa.Column('store_path', sa.String(length=255), nullable=False),
    sa.Column('store_version', sa.Integer(), nullable=False),
    sa.Column('token_type', sa.String(length=32), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('issued_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refresh_due_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('has_refresh_token', sa.Boolean(), nullable=False),
    sa.Column('access_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('refresh_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('external_identity', sa.String(length=255), nullable=False),
    sa.Column('connected_by', sa.String(length=255), nullable=False),
    sa.Column('connected_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('connector_person_id', sa.Integer(), nullable=True),
    sa.Column('connector_is_personal', sa.Boolean(), nullable=False),
    sa.Column('last_refreshed_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('health', sa.Enum('healthy', 'expiring', 'needs_reconnect', 'revoked', name='connectionhealth', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('health_detail', sa.Text(), nullable=True),
    sa.Column('health_changed_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_account_connections_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['connector_person_id'], ['people.id'], name=op.f('fk_account_connections_connector_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_connections')),
    sa.UniqueConstraint('account_id', name=op.f('uq_account_connections_account_id'))
    )
    with op.batch_alter_table('account_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_connections_access_fingerprint'), ['access_fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_connections_health'), ['health'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_connections_refresh_due_at'), ['refresh_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_connections_refresh_fingerprint'), ['refresh_fingerprint'], unique=False)

    op.create_table('pending_connects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('started_by', sa.String(length=255), nullable=False),
    sa.Column('connector_person_id', sa.Integer(), nullable=True),
    sa.Column('redirect_uri', sa.String(length=1024), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_pending_connects_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['connector_person_id'], ['people.id'], name=op.f('fk_pending_connects_connector_person_id_people')),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_pending_connects_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_connects')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_pending_connects_state_hash'))
    )
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_clients_person_id'), ['person_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_clients_person_id_people'), 'people', ['person_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_clients_person_id_people'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_clients_person_id'))
        batch_op.drop_column('person_id')

    op.drop_table('pending_connects')
    with op.batch_alter_table('account_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_connections_refresh_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_account_connections_refresh_due_at'))
        batch_op.drop_index(batch_op.f('ix_account_connections_health'))
        batch_op.drop_index(batch_op.f('ix_account_connections_access_fingerprint'))

    op.drop_table('account_connections')
    op.drop_table('network_apps')

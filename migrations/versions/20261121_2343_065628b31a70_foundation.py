"""foundation: inventory, people, grants, govern's users and the audit chain

Revision ID: 065628b31a70
Revises: 
Create Date: 2026-11-21 23:43:59.435920
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db
from govern.audit.chain import GENESIS_HASH

revision = '065628b31a70'
down_revision = None
branch_labels = None
depends_on = None

BUILT_IN_NETWORKS = [
    ("facebook", "facebook", "Facebook", "https://graph.facebook.com"),
    ("instagram", "instagram", "Instagram", "https://graph.facebook.com"),
    ("x", "x", "X", "https://api.x.com"),
    ("linkedin", "linkedin", "LinkedIn", "https://api.linkedin.com"),
    ("tiktok", "tiktok", "TikTok", "https://open.tiktokapis.com"),
    ("youtube", "youtube", "YouTube", "https://www.googleapis.com"),
    ("threads", "threads", "Threads", "https://graph.threads.net"),
    ("mastodon", "mastodon", "Mastodon", None),
    ("generic_oauth2", "generic_oauth2", "Generic OAuth 2.0 / OIDC", None),
]

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION govern_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""


def _seed_networks() -> None:
    networks = sa.table(
        "networks", sa.column("key"), sa.column("kind"), sa.column("display_name"),
        sa.column("base_url"), sa.column("built_in"),
    )
    op.bulk_insert(networks, [
        {"key": key, "kind": kind, "display_name": name, "base_url": url, "built_in": True}
        for key, kind, name, url in BUILT_IN_NETWORKS
    ])


def upgrade() -> None:
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128).with_variant(sa.String(length=128, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('role', sa.Enum('admin', 'governance', 'it', 'auditor', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_clients_token_hash'))
    )
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=128), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=255), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('client_addr', sa.String(length=64), nullable=True),
    sa.Column('encoding_version', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('networks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('facebook', 'instagram', 'x', 'linkedin', 'tiktok', 'youtube', 'threads', 'mastodon', 'generic_oauth2', name='networkkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=False),
    sa.Column('base_url', sa.String(length=512), nullable=True),
    sa.Column('built_in', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks')),
    sa.UniqueConstraint('key', name=op.f('uq_networks_key'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('openldap', 'ad', 'scim', 'manual', 'demo', name='personsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('dn', sa.Text(), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('display_name', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=True),
    sa.Column('status', sa.Enum('active', 'leaver', name='personstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('left_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['people.id'], name=op.f('fk_people_manager_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_people_source_external_id'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_username'), ['username'], unique=False)

    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('role', sa.Enum('admin', 'governance', 'it', 'auditor', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_console_users_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('email', name=op.f('uq_console_users_email'))
    )
    op.create_table('social_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('display_name', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('business_unit', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('active', 'suspended', 'retired', 'unmanaged', name='accountstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('tag_index', sa.Text(), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('verified_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_social_accounts_network_id_networks')),
    sa.ForeignKeyConstraint(['owner_id'], ['people.id'], name=op.f('fk_social_accounts_owner_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_accounts')),
    sa.UniqueConstraint('network_id', 'handle', name=op.f('uq_social_accounts_network_id_handle'))
    )
    with op.batch_alter_table('social_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_accounts_business_unit'), ['business_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_accounts_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_accounts_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_accounts_status'), ['status'], unique=False)

    op.create_table('grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('admin', 'publisher', 'moderator', 'analyst', name='grantrole', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('starts_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=255), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_grants_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_grants_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_person_id'), ['person_id'], unique=False)

    op.create_table('login_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['console_users.id'], name=op.f('fk_login_links_user_id_console_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_links')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_login_links_code_hash'))
    )
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_links_user_id'), ['user_id'], unique=False)

    _seed_networks()
    op.bulk_insert(
        sa.table("audit_chain_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash")),
        [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION govern_audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS govern_audit_append_only()")
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_links_user_id'))

    op.drop_table('login_links')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_person_id'))
        batch_op.drop_index(batch_op.f('ix_grants_expires_at'))
        batch_op.drop_index(batch_op.f('ix_grants_account_id'))

    op.drop_table('grants')
    with op.batch_alter_table('social_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_accounts_status'))
        batch_op.drop_index(batch_op.f('ix_social_accounts_owner_id'))
        batch_op.drop_index(batch_op.f('ix_social_accounts_network_id'))
        batch_op.drop_index(batch_op.f('ix_social_accounts_business_unit'))

    op.drop_table('social_accounts')
    op.drop_table('console_users')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_username'))
        batch_op.drop_index(batch_op.f('ix_people_status'))
        batch_op.drop_index(batch_op.f('ix_people_manager_id'))
        batch_op.drop_index(batch_op.f('ix_people_email'))

    op.drop_table('people')
    op.drop_table('networks')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('audit_chain_head')
    op.drop_table('api_clients')

"""legacy credentials: password and TOTP seed metadata per account, break-glass checkouts

Revision ID: 10bbe5643d1d
Revises: 4e6a136d258c
Create Date: 2026-11-22 00:15:31.107364
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = '10bbe5643d1d'
down_revision = '4e6a136d258c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legacy_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('store_path', sa.String(length=255), nullable=False),
    sa.Column('store_version', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=320), nullable=False),
    sa.Column('has_password', sa.Boolean(), nullable=False),
    sa.Column('has_totp', sa.Boolean(), nullable=False),
    sa.Column('rotate_now', sa.Boolean(), nullable=False),
    sa.Column('rotate_reason', sa.Text(), nullable=True),
    sa.Column('last_rotated_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_by', sa.String(length=255), nullable=False),
    sa.Column('updated_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_legacy_credentials_account_id_social_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_credentials')),
    sa.UniqueConstraint('account_id', name=op.f('uq_legacy_credentials_account_id'))
    )
    with op.batch_alter_table('legacy_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_credentials_rotate_now'), ['rotate_now'], unique=False)

    op.create_table('credential_checkouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('requester_person_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=255), nullable=True),
    sa.Column('approver_person_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('window_minutes', sa.Integer(), nullable=False),
    sa.Column('starts_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ends_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=255), nullable=True),
    sa.Column('ended_reason', sa.Enum('expired', 'checked_in', 'cancelled', 'denied', name='checkoutend', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('end_note', sa.Text(), nullable=True),
    sa.Column('revealed_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_credential_checkouts_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['approver_person_id'], ['people.id'], name=op.f('fk_credential_checkouts_approver_person_id_people')),
    sa.ForeignKeyConstraint(['credential_id'], ['legacy_credentials.id'], name=op.f('fk_credential_checkouts_credential_id_legacy_credentials')),
    sa.ForeignKeyConstraint(['requester_person_id'], ['people.id'], name=op.f('fk_credential_checkouts_requester_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_checkouts'))
    )
    with op.batch_alter_table('credential_checkouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_checkouts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_checkouts_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_checkouts_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_checkouts_requester_person_id'), ['requester_person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credential_checkouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_checkouts_requester_person_id'))
        batch_op.drop_index(batch_op.f('ix_credential_checkouts_ends_at'))
        batch_op.drop_index(batch_op.f('ix_credential_checkouts_credential_id'))
        batch_op.drop_index(batch_op.f('ix_credential_checkouts_account_id'))

    op.drop_table('credential_checkouts')
    with op.batch_alter_table('legacy_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_credentials_rotate_now'))

    op.drop_table('legacy_credentials')

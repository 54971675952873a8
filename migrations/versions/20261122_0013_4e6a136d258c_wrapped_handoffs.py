"""wrapped hand-offs: single-use Vault-wrapped tokens issued to integrations

Revision ID: 4e6a136d258c
Revises: a6e2884afa29
Create Date: 2026-11-22 00:13:49.631667
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = '4e6a136d258c'
down_revision = 'a6e2884afa29'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wrapped_handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('issued_by', sa.String(length=255), nullable=False),
    sa.Column('issued_by_person_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('accessor', sa.String(length=128), nullable=False),
    sa.Column('token_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('issued_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('unwrapped_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unwrap_refused_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_wrapped_handoffs_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['issued_by_person_id'], ['people.id'], name=op.f('fk_wrapped_handoffs_issued_by_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wrapped_handoffs')),
    sa.UniqueConstraint('accessor', name=op.f('uq_wrapped_handoffs_accessor')),
    sa.UniqueConstraint('token_fingerprint', name=op.f('uq_wrapped_handoffs_token_fingerprint'))
    )
    with op.batch_alter_table('wrapped_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wrapped_handoffs_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wrapped_handoffs_issued_by_person_id'), ['issued_by_person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wrapped_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wrapped_handoffs_issued_by_person_id'))
        batch_op.drop_index(batch_op.f('ix_wrapped_handoffs_account_id'))

    op.drop_table('wrapped_handoffs')

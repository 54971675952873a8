"""offboarding tasks: removals at the networks a person must do by hand after a departure

Revision ID: 3b4d8786139e
Revises: d0910322e600
Create Date: 2026-11-22 01:22:54.270714
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = '3b4d8786139e'
down_revision = 'd0910322e600'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('offboarding_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('departure_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['social_accounts.id'], name=op.f('fk_offboarding_tasks_account_id_social_accounts')),
    sa.ForeignKeyConstraint(['departure_id'], ['departures.id'], name=op.f('fk_offboarding_tasks_departure_id_departures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offboarding_tasks'))
    )
    with op.batch_alter_table('offboarding_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offboarding_tasks_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offboarding_tasks_departure_id'), ['departure_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('offboarding_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offboarding_tasks_departure_id'))
        batch_op.drop_index(batch_op.f('ix_offboarding_tasks_account_id'))

    op.drop_table('offboarding_tasks')

"""directory sync: sync runs with held departures, incremental cursors, departures with time to revoke

Revision ID: b0cf5b033d84
Revises: 3d658864bd85
Create Date: 2026-11-22 00:35:40.618853
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = 'b0cf5b033d84'
down_revision = '3d658864bd85'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_cursors',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=False),
    sa.Column('updated_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source', name=op.f('pk_sync_cursors'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('mode', sa.Enum('full', 'incremental', 'scim', name='syncmode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('running', 'succeeded', 'failed', 'held', 'approved', 'dismissed', 'dry_run', name='syncstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('started_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('held_departures', sa.JSON(), nullable=True),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('decided_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_status'), ['status'], unique=False)

    op.create_table('departures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('directory_changed_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('access_removed_at', govern.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('time_to_revoke_seconds', sa.Double(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_departures_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departures')),
    sa.UniqueConstraint('person_id', 'first_seen_at', name=op.f('uq_departures_person_id_first_seen_at'))
    )
    with op.batch_alter_table('departures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departures_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('departures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departures_person_id'))

    op.drop_table('departures')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_status'))

    op.drop_table('sync_runs')
    op.drop_table('sync_cursors')

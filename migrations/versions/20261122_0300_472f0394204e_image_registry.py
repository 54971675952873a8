"""image registry: fingerprints of protected and licensed images for the copyright checks

Revision ID: 472f0394204e
Revises: 3b4d8786139e
Create Date: 2026-11-22 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govern.db


revision = '472f0394204e'
down_revision = '3b4d8786139e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registered_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('protected', 'licensed', name='rightsstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('licensor', sa.String(length=255).with_variant(sa.String(length=255, collation='und-x-icu'), 'postgresql'), nullable=True),
    sa.Column('license_ref', sa.String(length=255), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('image_format', sa.String(length=16), nullable=False),
    sa.Column('registered_by', sa.String(length=255), nullable=False),
    sa.Column('created_at', govern.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_images')),
    sa.UniqueConstraint('sha256', name=op.f('uq_registered_images_sha256'))
    )
    with op.batch_alter_table('registered_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_images_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('registered_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_images_status'))

    op.drop_table('registered_images')

"""durable purge of a removed peer's replicas

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 11:10:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('federation_purges',
    sa.Column('network', sa.String(length=16), nullable=False),
    sa.Column('feeds', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('network', name=op.f('pk_federation_purges'))
    )


def downgrade() -> None:
    op.drop_table('federation_purges')

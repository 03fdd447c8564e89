"""what the other side holds of each request's chain

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:00:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests_requests', schema=None) as batch_op:
        # Unknown for existing requests: their next message carries the whole chain once.
        batch_op.add_column(
            sa.Column('peer_held_seq', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('requests_requests', schema=None) as batch_op:
        batch_op.drop_column('peer_held_seq')

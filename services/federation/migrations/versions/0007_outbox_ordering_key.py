"""outbox ordering key: messages of one key in order, different keys side by side

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 14:40:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows queued before keep the empty key: delivered in order, as they were.
    with op.batch_alter_table('federation_outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('ordering_key', sa.String(length=120), server_default='', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('federation_outbox', schema=None) as batch_op:
        batch_op.drop_column('ordering_key')

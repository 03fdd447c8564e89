"""request conflict

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:00:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests_requests', schema=None) as batch_op:
        # Existing requests have no diverged chain.
        batch_op.add_column(
            sa.Column('conflict', sa.Text(), nullable=False, server_default=sa.text("''"))
        )


def downgrade() -> None:
    with op.batch_alter_table('requests_requests', schema=None) as batch_op:
        batch_op.drop_column('conflict')

"""the outbox as a hand-off table: message kind and the writer's trace context

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 11:40:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests_outbox', schema=None) as batch_op:
        batch_op.alter_column(
            'message_id', existing_type=sa.String(length=80), type_=sa.String(length=120)
        )
        batch_op.add_column(
            sa.Column('kind', sa.String(length=64), nullable=False, server_default='requests.event')
        )
        batch_op.add_column(
            sa.Column('traceparent', sa.String(length=128), nullable=False, server_default='')
        )


def downgrade() -> None:
    with op.batch_alter_table('requests_outbox', schema=None) as batch_op:
        batch_op.drop_column('traceparent')
        batch_op.drop_column('kind')
        batch_op.alter_column(
            'message_id', existing_type=sa.String(length=120), type_=sa.String(length=80)
        )

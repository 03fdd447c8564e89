"""key rotation (validity windows, previous certificates, acknowledged key) and nonces

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 11:20:00.000000
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('federation_nonces',
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('origin', 'nonce', name=op.f('pk_federation_nonces'))
    )
    with op.batch_alter_table('federation_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_nonces_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('federation_peers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_valid_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('previous_certificates', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('announced_key_id', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('federation_peers', schema=None) as batch_op:
        batch_op.drop_column('announced_key_id')
        batch_op.drop_column('previous_certificates')
        batch_op.drop_column('key_valid_from')

    with op.batch_alter_table('federation_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_federation_nonces_expires_at'))

    op.drop_table('federation_nonces')

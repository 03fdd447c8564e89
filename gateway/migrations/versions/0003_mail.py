"""mail: the outbox, the notice cursors, each person's choice

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 14:16:44.502902
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_mail_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_mail_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_gateway_mail_outbox_dedup_key")),
    )
    with op.batch_alter_table("gateway_mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gateway_mail_outbox_due", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_gateway_mail_outbox_user_state", ["user_id", "state"], unique=False
        )

    op.create_table(
        "gateway_notice_cursors",
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_gateway_notice_cursors")),
    )
    with op.batch_alter_table("gateway_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notifications", sa.String(length=8), server_default="each", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gateway_users", schema=None) as batch_op:
        batch_op.drop_column("notifications")

    op.drop_table("gateway_notice_cursors")
    with op.batch_alter_table("gateway_mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_mail_outbox_user_state")
        batch_op.drop_index("ix_gateway_mail_outbox_due")

    op.drop_table("gateway_mail_outbox")

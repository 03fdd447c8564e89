"""messages for peers through a durable hand-off table, written with each change

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:30:00.000000

Replaces `events_registrations.peer_update` (a state waiting to be sent, read by a loop):
updates still due are turned into hand-off rows, then the column goes.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
from justnet.events.v1 import events_pb2


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    handoff = op.create_table('events_handoff',
    sa.Column('message_id', sa.String(length=120), nullable=False),
    sa.Column('destination', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('traceparent', sa.String(length=128), server_default='', nullable=False),
    sa.Column('handed_over', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_events_handoff'))
    )
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = conn.execute(sa.text(
        "SELECT id, event_id, event_origin, network, message_id, peer_update "
        "FROM events_registrations WHERE peer_update != ''"
    )).all()
    for rid, event_id, origin, network, message_id, state in rows:
        if state == 'cancel':  # a member's cancellation, for the event's owner
            body = events_pb2.CancellationMessage(event_id=event_id, registration_id=rid)
            values = (f"{rid}:cancel", origin, 'events.cancellation', body.SerializeToString())
        else:  # the owner's update of a peer member's registration
            body = events_pb2.RegistrationUpdate(
                event_id=event_id, registration_id=message_id or '', state=state
            )
            values = (f"{message_id}:{state}", network, 'events.registration_update',
                      body.SerializeToString())
        op.bulk_insert(handoff, [{
            'message_id': values[0], 'destination': values[1], 'kind': values[2],
            'payload': values[3], 'traceparent': '', 'handed_over': False, 'attempts': 0,
            'next_attempt_at': now, 'last_error': '', 'created_at': now,
        }])
    with op.batch_alter_table('events_registrations', schema=None) as batch_op:
        batch_op.drop_column('peer_update')


def downgrade() -> None:
    with op.batch_alter_table('events_registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('peer_update', sa.String(length=16), server_default='', nullable=False))
    op.drop_table('events_handoff')

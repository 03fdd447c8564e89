"""The messages the events service sends to peer nodes, and their hand-off rows.

Each is written into `events_handoff` in the same transaction as the change it reports
(services/common/handoff.py hands them to federation): a member's registration for a
peer's event (to the event's owner), a member's cancellation of one (to the owner), and the
owner's update of a peer member's registration (moved up from the waitlist, or cancelled
here: to the member's network). Message ids are stable per state reached, so a repeat is
one message.
"""

from __future__ import annotations

from datetime import datetime

from justnet.events.v1 import events_pb2

from services.common.handoff import handoff_values
from services.events.models import HandoffRow, RegistrationRow

REGISTRATION_KIND = "events.registration"
CANCELLATION_KIND = "events.cancellation"
UPDATE_KIND = "events.registration_update"
UPDATE_STATES = ("confirmed", "cancelled")


def registration(row: RegistrationRow, now: datetime) -> HandoffRow:
    """A member's registration for a peer's event; its id is the message id."""
    message = events_pb2.RegistrationMessage(
        event_id=row.event_id,
        registration_id=row.id,
        subject=row.subject,
        name=row.name,
        email=row.email,
        contact_point_id=row.contact_point_id,
    )
    message.registered_at.FromDatetime(now)
    payload = message.SerializeToString()
    return HandoffRow(**handoff_values(row.id, row.event_origin, REGISTRATION_KIND, payload, now))


def cancellation(row: RegistrationRow, now: datetime) -> HandoffRow:
    """A member cancelled a registration for a peer's event: its owner frees the place."""
    body = events_pb2.CancellationMessage(event_id=row.event_id, registration_id=row.id)
    return HandoffRow(
        **handoff_values(
            f"{row.id}:cancel", row.event_origin, CANCELLATION_KIND, body.SerializeToString(), now
        )
    )


def update(row: RegistrationRow, state: str, now: datetime) -> HandoffRow:
    """A peer member's registration here reached `state`: their network is told."""
    body = events_pb2.RegistrationUpdate(
        event_id=row.event_id, registration_id=row.message_id or "", state=state
    )
    return HandoffRow(
        **handoff_values(
            f"{row.message_id}:{state}", row.network, UPDATE_KIND, body.SerializeToString(), now
        )
    )

"""Events tables. Local and replicated events live side by side, tagged by origin (the
record, change-log and cursor columns are the replica-feed kit's:
services/common/replication/columns.py).

Times are stored in UTC; each event keeps its IANA zone so calendars and responses
show local time. Registrations belong to the node where they were made: the owner's
rows decide places; a peer keeps its members' own rows (pending until answered).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.handoff import HandoffColumns
from services.common.notices import NoticeColumns
from services.common.replication.columns import ChangeColumns, CursorColumns, RecordColumns


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


class EventRow(RecordColumns, Base):
    """A meeting (plenary, training, ...) of this network, or a peer's replica of one."""

    __tablename__ = "events_events"

    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    timezone: Mapped[str] = mapped_column(String(64))  # IANA
    venue_city: Mapped[str] = mapped_column(String(200), default="")
    venue_country: Mapped[str] = mapped_column(String(2), default="")
    online_url: Mapped[str] = mapped_column(String(2000), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    interpretation: Mapped[str] = mapped_column(String(200), default="")
    agenda: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # 0: no limit
    registration_deadline: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )

    __table_args__ = (Index("ix_events_events_starts_at", "starts_at", "id"),)


class RegistrationRow(Base):
    __tablename__ = "events_registrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_origin: Mapped[str] = mapped_column(String(16))
    network: Mapped[str] = mapped_column(String(16))  # the registrant's network
    subject: Mapped[str] = mapped_column(String(200), default="")
    # Who the person is, for "already registered": the contact point, else token + name.
    person_key: Mapped[str] = mapped_column(String(600))
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320), default="")
    contact_point_id: Mapped[str] = mapped_column(String(36), default="")
    state: Mapped[str] = mapped_column(String(16))
    # Order of arrival within the event, given under the event's lock: the waitlist order.
    queue_no: Mapped[int] = mapped_column(Integer, default=0)
    # A peer's registration: the sender's message id (idempotency with `network`).
    message_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)
    details_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_on_contact_point: Mapped[bool] = mapped_column(Boolean, default=False)
    attended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    event_title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("network", "message_id"),
        Index("ix_events_registrations_event_state", "event_id", "state", "queue_no"),
    )


class ChangeRow(ChangeColumns, Base):
    """The events change log (the outbox federation follows)."""

    __tablename__ = "events_changes"


class ReplicationCursorRow(CursorColumns, Base):
    """How far this node has applied each peer's events feed."""

    __tablename__ = "events_replication_cursors"


class HandoffRow(HandoffColumns, Base):
    """A message for a peer node, written in the same transaction as the registration
    change it reports, until federation takes it (services/events/messages.py)."""

    __tablename__ = "events_handoff"


class NoticeRow(NoticeColumns, Base):
    """A registrant of this network moved up from a waitlist (here, or told by the
    organising node), in commit order: what the gateway's notifier follows
    (services/common/notices.py)."""

    __tablename__ = "events_notices"

"""Events tables. Local and replicated events live side by side, tagged by origin.

Times are stored in UTC; each event keeps its IANA zone so calendars and responses
show local time. Registrations belong to the node where they were made: the owner's
rows decide places; a peer keeps its members' own rows (pending until answered).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.handoff import HandoffColumns

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
SeqType = BigInteger().with_variant(Integer, "sqlite")


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


def encode_codes(values: list[str] | tuple[str, ...]) -> str:
    return "," + ",".join(values) + "," if values else ""


def decode_codes(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class EventRow(Base):
    __tablename__ = "events_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16), index=True)
    visibility: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)

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


class ChangeRow(Base):
    """The transactional outbox of events: one row per committed change, in order."""

    __tablename__ = "events_changes"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36))
    origin: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[bytes] = mapped_column(LargeBinary, default=b"")

    __table_args__ = (Index("ix_events_changes_origin_seq", "origin", "seq"),)


class ReplicationCursorRow(Base):
    """How far this node has applied each peer's events feed (written with the records)."""

    __tablename__ = "events_replication_cursors"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HandoffRow(HandoffColumns, Base):
    """A message for a peer node, written in the same transaction as the registration
    change it reports, until federation takes it (services/events/messages.py)."""

    __tablename__ = "events_handoff"

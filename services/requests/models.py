"""Requests tables: requests, their signed event chains, the outbox of messages handed
to federation, and the inbox that makes deliveries idempotent."""

from __future__ import annotations

from datetime import datetime

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
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.handoff import HandoffColumns
from services.common.notices import NoticeColumns


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


class RequestRow(Base):
    __tablename__ = "requests_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))  # the requesting network
    direction: Mapped[str] = mapped_column(String(8))  # outgoing | incoming
    requesting_network: Mapped[str] = mapped_column(String(16))
    requested_network: Mapped[str] = mapped_column(String(16))
    requesting_jurisdiction: Mapped[str] = mapped_column(String(2))
    requested_jurisdiction: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(200), default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    offences: Mapped[list[str]] = mapped_column(JSON, default=list)
    measures: Mapped[list[str]] = mapped_column(JSON, default=list)
    urgency: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(2), default="")
    deadline: Mapped[str] = mapped_column(String(10), default="")
    acknowledgement_days: Mapped[int] = mapped_column(Integer, default=0)
    route: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # a serialized Route
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledgement_due: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # How many events the other side is known to hold (its receipts, the events it sent):
    # a message carries only the events after it.
    peer_held_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when the two sides' chains diverged (both wrote the same event number): the
    # request takes no further exchange until people on both sides resolve it.
    conflict: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        Index("ix_requests_requests_status", "status", "id"),
        Index("ix_requests_requests_direction", "direction", "id"),
    )


class ChainEventRow(Base):
    """One signed event of a request's chain, stored as the exact bytes that were signed."""

    __tablename__ = "requests_events"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class MessageRow(HandoffColumns, Base):
    """A message for the other side's node, written with the events it carries: handed to
    federation by the hand-off loop (services/common/handoff.py), then settled with
    federation's outcome and receipt."""

    __tablename__ = "requests_outbox"

    request_id: Mapped[str] = mapped_column(String(36), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # the last event it carries
    # pending, delivered, failed; superseded: refused for a gap, its events sent again
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(500), default="")
    receipt: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # a SignedReceipt
    receipt_body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # a ReceiptBody
    receipt_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_requests_outbox_pending", "handed_over", "next_attempt_at"),)


class ReceivedRow(Base):
    """Each message received from a peer, with the reply given: a repeat gets the same."""

    __tablename__ = "requests_inbox"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(500), default="")
    reply: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DocumentRow(Base):
    """A document of a request: its metadata here, its bytes in the blob store under its
    sha256 (sealed when the request is confidential). On the uploading node `transfer_*`
    follow its way to the other side; on the receiving node `received` counts the bytes
    held so far, and `verified` is set only once they match the signed event's hash."""

    __tablename__ = "requests_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))
    filename: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # hex
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    # stored (uploaded here), receiving, verified (received and checked), refused
    state: Mapped[str] = mapped_column(String(16))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    problem: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    # none, sending, delivered, refused, failed
    transfer_state: Mapped[str] = mapped_column(String(16), default="none")
    transfer_held: Mapped[int] = mapped_column(BigInteger, default=0)
    transfer_chunks: Mapped[int] = mapped_column(Integer, default=0)
    transfer_reason: Mapped[str] = mapped_column(String(500), default="")


class DocumentPartRow(Base):
    """A chunk of a document being received, kept until the whole verifies."""

    __tablename__ = "requests_document_parts"

    document_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class BlobRow(Base):
    """Document bytes in the database (the PostgreSQL backend), in parts of about 1 MiB."""

    __tablename__ = "requests_blobs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class NoticeRow(NoticeColumns, Base):
    """Each event a request's chain gained here (this node's or the peer's), in commit
    order: what the gateway's notifier follows (services/common/notices.py)."""

    __tablename__ = "requests_notices"

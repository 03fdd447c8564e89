"""Federation tables: the peers this node trusts, their keys, policies and retry state."""

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


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


class PeerRow(Base):
    __tablename__ = "federation_peers"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    endpoint: Mapped[str] = mapped_column(String(300))
    jurisdictions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The states this node applies the peer's records for, when an administrator narrowed
    # them (`peer add --jurisdictions`); None: all that `jurisdictions` (the descriptor) lists.
    accepted_jurisdictions: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(100))
    key_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    key_valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # [{key_id, public_key, expired_at, valid_from}]: signatures dated in the window verify
    old_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    certificate_pem: Mapped[str] = mapped_column(Text)
    certificate_fingerprint: Mapped[str] = mapped_column(String(100))
    # After the peer rotated its certificate: [{pem, fingerprint, until}] still accepted.
    previous_certificates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # This node's newest signing key that the peer acknowledged (AnnounceKeys): until it
    # does, a rotation's previous identity is used toward it (services/common/keyring.py).
    announced_key_id: Mapped[str] = mapped_column(String(64), default="")
    policy: Mapped[str] = mapped_column(String(32), default="default")
    # Feeds to offer again from the start, after the policy changed.
    replay_feeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Feeds of the peer to read again from the start, after the accepted states changed
    # (what was applied or quarantined was decided under the old set).
    rescan_feeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Durable retry state, so a restart keeps backing off a dead peer.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="unreachable")


class PurgeRow(Base):
    """A removed peer's replicas still to drop, written with the removal: run at start and
    retried with backoff until every feed's service has dropped them (a service may be
    down, or federation stopped, when the peer is removed)."""

    __tablename__ = "federation_purges"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    feeds: Mapped[list[str]] = mapped_column(JSON, default=list)  # still to drop
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")


class NonceRow(Base):
    """A peer call's nonce, kept until the call's time window has passed, so a replay is
    refused even after a restart."""

    __tablename__ = "federation_nonces"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ContactRequestLogRow(Base):
    """Who, from which peer network, fetched a contact's personal details on demand."""

    __tablename__ = "federation_contact_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    network: Mapped[str] = mapped_column(String(16))
    requester: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(36))
    requester_role: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")  # given, refused, not_found


class OutboxRow(Base):
    """A message waiting for (or done with) delivery to one peer: the durable outbox.

    `seq` orders each peer's queue; messages with the same `ordering_key` are delivered
    one at a time in `seq` order, different keys side by side (courier.py);
    `notified` turns true once the sending service has taken the outcome.
    """

    __tablename__ = "federation_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    destination: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str] = mapped_column(String(120), default="", server_default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    # W3C trace context of the Send call, so the delivery joins the sender's trace.
    traceparent: Mapped[str] = mapped_column(String(128), default="")

    __table_args__ = (
        Index("ix_federation_outbox_queue", "destination", "state", "seq"),
        Index("ix_federation_outbox_unnotified", "notified", "state"),
    )


class InboxRow(Base):
    """A message a peer delivered here, with the receipt this node signed for it, so a
    duplicate delivery gets the same receipt and changes nothing."""

    __tablename__ = "federation_inbox"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuarantineRow(Base):
    """A record a peer sent that this node did not apply, for administrators to see.

    One row per (peer, kind, record_id): the latest version refused. A later version of
    the record (or its tombstone) that passes removes the row.
    """

    __tablename__ = "federation_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer: Mapped[str] = mapped_column(String(16))
    feed: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(BigInteger)
    jurisdiction: Mapped[str] = mapped_column(String(8), default="")
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("peer", "kind", "record_id"),
        Index("ix_federation_quarantine_received", "received_at", "id"),
    )

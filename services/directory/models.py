"""Directory tables. Local and replicated records live side by side, tagged by origin.

Code lists (competences, languages) are stored as ",a,b," strings: portable across
SQLite and PostgreSQL, filterable with one LIKE, and decoded in one place.
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
    text,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
SeqType = BigInteger().with_variant(Integer, "sqlite")


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


def encode_codes(values: list[str] | tuple[str, ...]) -> str:
    return "," + ",".join(values) + "," if values else ""


def decode_codes(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class RecordColumns:
    """Columns every directory record has."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16), index=True)
    visibility: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Replicas only: when the record last arrived and whether its signature verified.
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthorityRow(RecordColumns, Base):
    __tablename__ = "directory_authorities"

    jurisdiction: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    competences: Mapped[str] = mapped_column(String(400), default="")
    accepted_languages: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    website: Mapped[str] = mapped_column(String(2000), default="")
    available_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    search_text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_directory_authorities_jurisdiction_name", "jurisdiction", "name", "id"),
        Index("ix_directory_authorities_name", "name", "id"),
    )


class ContactPointRow(RecordColumns, Base):
    __tablename__ = "directory_contact_points"

    authority_id: Mapped[str] = mapped_column(String(36), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    competences: Mapped[str] = mapped_column(String(400), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    available_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    term_end: Mapped[str] = mapped_column(String(10), default="")
    successor_id: Mapped[str] = mapped_column(String(36), default="")
    # Events the person attended ("met at ..."), written by RecordAttendance only.
    met_at: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    search_text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_directory_contact_points_jurisdiction_name", "jurisdiction", "name", "id"),
        Index("ix_directory_contact_points_name", "name", "id"),
    )


class RoutingProfileRow(RecordColumns, Base):
    __tablename__ = "directory_routing_profiles"

    jurisdiction: Mapped[str] = mapped_column(String(2))
    central_authority_id: Mapped[str] = mapped_column(String(36), default="")
    accepted_languages: Mapped[str] = mapped_column(String(200), default="")
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    legal_bases: Mapped[str] = mapped_column(String(1000), default="")
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    acknowledgement_days: Mapped[int] = mapped_column(Integer, default=0)
    urgent_procedure: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("origin", "jurisdiction"),)


class ChangeRow(Base):
    """The transactional outbox: one row per committed change, in commit order."""

    __tablename__ = "directory_changes"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36))
    origin: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[bytes] = mapped_column(LargeBinary, default=b"")

    __table_args__ = (Index("ix_directory_changes_origin_seq", "origin", "seq"),)


class ReplicationCursorRow(Base):
    """How far this node has applied each peer's change log (written with the records)."""

    __tablename__ = "directory_replication_cursors"

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InstrumentRow(Base):
    """An editor's correction of a shipped legal instrument (its title, type or parties).

    The reference file is the default; a row here replaces that instrument on this node.
    """

    __tablename__ = "directory_instruments"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(16))
    parties: Mapped[str] = mapped_column(String(2000), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200), default="")

"""Directory tables. Local and replicated records live side by side, tagged by origin
(the record, change-log and cursor columns are the replica-feed kit's:
services/common/replication/columns.py).

Code lists (competences, languages) are stored as ",a,b," strings (services/common/db.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.replication.columns import ChangeColumns, CursorColumns, RecordColumns


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


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


class ChangeRow(ChangeColumns, Base):
    """The directory's change log (the outbox its lookup index and federation follow)."""

    __tablename__ = "directory_changes"


class ReplicationCursorRow(CursorColumns, Base):
    """How far this node has applied each peer's directory feed."""

    __tablename__ = "directory_replication_cursors"


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

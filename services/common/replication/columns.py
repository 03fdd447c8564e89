"""The columns every replicated service's tables share, as declarative mixins.

A service keeps its own tables (and its own Alembic migrations); these mixins only say
once what a replicated record, a change-log row and a replication cursor are:

- `RecordColumns`: identity, origin, version and provenance of a record that is replicated
  (local and replicated records live side by side, tagged with their origin);
- `ChangeColumns`: one row of the change log (the transactional outbox), one per
  committed change, in commit order; its table gets the index `ix_<table>_origin_seq`;
- `CursorColumns`: how far this node has applied one peer's change log, written in the
  same transaction as the records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from justnet.common.v1 import common_pb2
from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.common.timeutil import to_timestamp

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
SeqType = BigInteger().with_variant(Integer, "sqlite")


class RecordColumns:
    """Columns every replicated record has."""

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


class ChangeColumns:
    """The transactional outbox: one row per committed change, in commit order."""

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36))
    origin: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The serialized record at this version, as this node serves it (empty: a deletion).
    payload: Mapped[bytes] = mapped_column(LargeBinary, default=b"")

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (Index(f"ix_{table}_origin_seq", "origin", "seq"),)


class CursorColumns:
    """How far this node has applied one peer's change log (written with the records)."""

    origin: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def record_meta(row: Any, local_network: str) -> common_pb2.RecordMeta:
    """A record's `meta` as this node serves it: a replica's with its provenance."""
    m = common_pb2.RecordMeta(
        id=row.id,
        origin=row.origin,
        version=row.version,
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
        last_verified_at=to_timestamp(row.last_verified_at),
        visibility=row.visibility,
    )
    if row.origin != local_network:
        m.provenance.origin = row.origin
        m.provenance.verified = bool(row.verified)
        synced = to_timestamp(row.synced_at)
        if synced is not None:
            m.provenance.synced_at.CopyFrom(synced)
    return m

"""DirectoryStore: every SQL statement of the directory service.

The change log (`directory_changes`, the outbox that the lookup index and federation
follow), the writer lock, the plain create/update/delete of a record and everything about
replicas are the replica-feed kit's (services/common/replication/store.py); this adds the
directory's reads and its other writes (routing profiles, imports, attendance, legal
instruments), each in one transaction that also appends its change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE
from services.common.errors import VersionMismatch
from services.common.identity import Caller
from services.common.paging import Page, decode_cursor, page_of, page_size
from services.common.replication import ReplicaStore
from services.common.timeutil import utcnow
from services.directory.kinds import KINDS, MAX_MET_AT
from services.directory.models import (
    ChangeRow,
    ContactPointRow,
    InstrumentRow,
    ReplicationCursorRow,
    RoutingProfileRow,
)

MODELS: dict[str, type[Any]] = {kind.name: kind.model for kind in KINDS}
_WRITE_LOCK_KEY = 0x4A4E4449  # "JNDI": the directory's advisory lock on PostgreSQL


@dataclass(frozen=True)
class ListFilter:
    jurisdiction: str = ""
    competence: str = ""
    language: str = ""
    network: str = ""
    q: str = ""
    available_24_7: bool | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DirectoryStore(ReplicaStore):
    code_lists = ("competences", "accepted_languages", "languages", "legal_bases")

    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        super().__init__(
            engine, local_network, KINDS, ChangeRow, ReplicationCursorRow, _WRITE_LOCK_KEY
        )

    # ------------------------------------------------------------ reads

    async def get(self, kind: str, record_id: str) -> Any | None:
        async with self.sessions() as session:
            return await session.get(MODELS[kind], record_id)

    async def routing_profile(self, jurisdiction: str, origin: str = "") -> list[RoutingProfileRow]:
        stmt = select(RoutingProfileRow).where(RoutingProfileRow.jurisdiction == jurisdiction)
        if origin:
            stmt = stmt.where(RoutingProfileRow.origin == origin)
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def list_records(
        self, kind: str, caller: Caller, flt: ListFilter, limit: int, cursor: str
    ) -> Page[Any]:
        model = MODELS[kind]
        conditions = [self.visible_to(caller, model)]
        if flt.jurisdiction:
            conditions.append(model.jurisdiction == flt.jurisdiction)
        if flt.network:
            conditions.append(model.origin == flt.network)
        if flt.competence:
            conditions.append(model.competences.like(f"%,{flt.competence},%"))
        if flt.language:
            column = model.languages if kind == "contact_point" else model.accepted_languages
            conditions.append(column.like(f"%,{flt.language},%"))
        if flt.q:
            pattern = f"%{_escape_like(flt.q.casefold())}%"
            conditions.append(model.search_text.like(pattern, escape="\\"))
        if flt.available_24_7 is not None:
            conditions.append(model.available_24_7 == flt.available_24_7)
        if cursor:
            after_name, after_id = decode_cursor(cursor)
            conditions.append(
                or_(model.name > after_name, and_(model.name == after_name, model.id > after_id))
            )
        size = page_size(limit)
        stmt = select(model).where(*conditions).order_by(model.name, model.id).limit(size + 1)
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
        return page_of(rows, size, lambda r: str(r.name), lambda r: str(r.id))

    async def origins_of(self, kind: str, ids: list[str]) -> dict[str, tuple[str, str]]:
        """{id: (origin, jurisdiction)} for those of `ids` that exist (one query per 500)."""
        model = MODELS[kind]
        found: dict[str, tuple[str, str]] = {}
        async with self.sessions() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = select(model.id, model.origin, model.jurisdiction).where(model.id.in_(chunk))
                for rid, origin, jurisdiction in (await session.execute(stmt)).all():
                    found[rid] = (origin, jurisdiction)
        return found

    async def record_pages(self, kind: str, size: int = 2000) -> AsyncIterator[Sequence[Any]]:
        """Every record of `kind`, a page at a time in id order: the lookup index loads from
        it without holding every row of the table at once."""
        model = MODELS[kind]
        after = ""
        while True:
            async with self.sessions() as session:
                query = select(model).where(model.id > after).order_by(model.id).limit(size)
                rows: Sequence[Any] = (await session.scalars(query)).all()
            if not rows:
                return
            yield rows
            after = rows[-1].id

    async def instruments(self) -> list[InstrumentRow]:
        async with self.sessions() as session:
            return list((await session.scalars(select(InstrumentRow))).all())

    async def put_instrument(self, values: dict[str, Any]) -> InstrumentRow:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row: InstrumentRow | None = await session.get(InstrumentRow, values["code"])
            if row is None:
                row = InstrumentRow(**values)
                session.add(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        return row

    # ------------------------------------------------------------ writes

    async def record_attendance(
        self, record_id: str, note: str, details_confirmed: bool
    ) -> ContactPointRow:
        """Adds `note` to a local contact point's met_at (once) and, when the person
        confirmed their details, refreshes last_verified_at; a write like any other."""
        now = utcnow()
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            row: ContactPointRow = self.check_writable(
                "contact_point",
                await session.get(ContactPointRow, record_id, with_for_update=self._postgres),
                record_id,
                0,
            )
            notes = list(row.met_at or [])
            changed = note not in notes
            if changed:
                row.met_at = [*notes, note][-MAX_MET_AT:]
            if details_confirmed:
                row.last_verified_at = now
                changed = True
            if changed:
                row.version += 1
                row.updated_at = now
                await session.flush()
                self.append_change(session, "contact_point", row, False, now)
        return row

    async def put_routing_profile(
        self, jurisdiction: str, values: dict[str, Any], expected_version: int, new_id: str
    ) -> RoutingProfileRow:
        now = utcnow()
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            stmt = select(RoutingProfileRow).where(
                RoutingProfileRow.jurisdiction == jurisdiction,
                RoutingProfileRow.origin == self.local_network,
            )
            row = (await session.scalars(stmt)).first()
            if row is None:
                if expected_version:
                    raise VersionMismatch(expected_version, 0)
                row = self.new_row("routing_profile", new_id, values, now)
                session.add(row)
            else:
                self.check_writable("routing_profile", row, row.id, expected_version)
                self.edit_row(row, values, now)
            await session.flush()
            self.append_change(session, "routing_profile", row, False, now)
        result: RoutingProfileRow = row
        return result

    async def import_rows(self, rows: list[tuple[str, str, dict[str, Any]]]) -> tuple[int, int]:
        """Upserts (kind, id, values) rows in one transaction; returns (created, updated)."""
        now = utcnow()
        created = updated = 0
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            held: dict[str, Any] = {}
            for kind, model in MODELS.items():
                ids = [rid for k, rid, _ in rows if k == kind]
                for start in range(0, len(ids), 500):
                    stmt = select(model).where(model.id.in_(ids[start : start + 500]))
                    held.update({r.id: r for r in (await session.scalars(stmt)).all()})
            for kind, record_id, values in rows:
                row = held.get(record_id)
                if row is None:
                    row = self.new_row(kind, record_id, values, now)
                    session.add(row)
                    created += 1
                else:
                    self.check_writable(kind, row, record_id, 0)
                    self.edit_row(row, values, now)
                    updated += 1
                await session.flush()
                self.append_change(session, kind, row, False, now)
        return created, updated

"""DirectoryStore: every SQL statement of the directory service.

Every write runs in one transaction that also appends the change to
`directory_changes` (the outbox that the change feed, the lookup index and
federation follow). Writers are serialised so that change sequence numbers commit in
order: SQLite has one writer anyway; on PostgreSQL a transaction-scoped advisory lock
does it, otherwise a reader could pass seq 5 while seq 4 is still uncommitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common import changelog, visibility
from services.common.db import WRITE, session_factory
from services.common.errors import InvalidInput, NotFound, ReadOnlyReplica, VersionMismatch
from services.common.identity import Caller
from services.common.paging import decode_cursor, encode_cursor
from services.common.timeutil import utcnow
from services.directory import convert
from services.directory.models import (
    AuthorityRow,
    ChangeRow,
    ContactPointRow,
    InstrumentRow,
    RecordColumns,
    ReplicationCursorRow,
    RoutingProfileRow,
    encode_codes,
)

MODELS: dict[str, type[Any]] = {
    "authority": AuthorityRow,
    "contact_point": ContactPointRow,
    "routing_profile": RoutingProfileRow,
}
CODE_LIST_COLUMNS = ("competences", "accepted_languages", "languages", "legal_bases")
_WRITE_LOCK_KEY = 0x4A4E4449  # "JNDI": the directory's advisory lock on PostgreSQL
MAX_MET_AT = 100  # attendance notes kept per contact point (the newest)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str


@dataclass(frozen=True)
class Replica:
    """A peer's record, checked and ready to store; values None means deleted."""

    kind: str
    record_id: str
    origin: str
    version: int
    values: dict[str, Any] | None
    verified: bool
    timestamps: dict[str, datetime]


@dataclass(frozen=True, slots=True)
class Committed:
    """A change row a replica batch wrote: what the lookup index needs of it."""

    seq: int
    kind: str
    record_id: str
    version: int
    message: Any  # the Authority / ContactPoint / RoutingProfile; None for a deletion


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


def _storage_values(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for column in CODE_LIST_COLUMNS:
        if column in out and isinstance(out[column], list):
            out[column] = encode_codes(out[column])
    return out


class DirectoryStore:
    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.local_network = local_network
        self._postgres = engine.dialect.name == "postgresql"

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
    ) -> Page:
        model = MODELS[kind]
        limit = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
        conditions: list[ColumnElement[bool]] = [
            visibility.sql_filter(caller, model.origin, model.visibility, self.local_network)
        ]
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
        stmt = select(model).where(*conditions).order_by(model.name, model.id).limit(limit + 1)
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
        next_cursor = ""
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].name, rows[-1].id)
        return Page(rows, next_cursor)

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

    async def all_records(self, kind: str) -> Sequence[Any]:
        async with self.sessions() as session:
            rows: Sequence[Any] = (await session.scalars(select(MODELS[kind]))).all()
        return rows

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

    async def max_seq(self) -> int:
        return await changelog.max_seq(self.sessions, ChangeRow)

    async def changes_since(self, seq: int, limit: int = 500, origin: str = "") -> list[ChangeRow]:
        return await changelog.changes_since(self.sessions, ChangeRow, seq, limit, origin)

    # ------------------------------------------------------------ writes

    async def _begin_write(self, session: AsyncSession) -> None:
        await changelog.begin_write(session, self._postgres, _WRITE_LOCK_KEY)

    def _append_change(
        self, session: AsyncSession, kind: str, row: RecordColumns, deleted: bool, at: datetime
    ) -> None:
        # The payload is the record as this node serves it (replicas keep their provenance).
        payload = (
            b""
            if deleted
            else convert.to_message(kind, row, self.local_network).SerializeToString()
        )
        session.add(
            ChangeRow(
                kind=kind,
                record_id=row.id,
                origin=row.origin,
                version=row.version,
                deleted=deleted,
                visibility=row.visibility,
                at=at,
                payload=payload,
            )
        )

    async def create(self, kind: str, record_id: str, values: dict[str, Any]) -> Any:
        now = utcnow()
        row = MODELS[kind](
            id=record_id,
            origin=self.local_network,
            version=1,
            created_at=now,
            updated_at=now,
            last_verified_at=now,
            verified=True,
            **_storage_values(values),
        )
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            session.add(row)
            await session.flush()
            self._append_change(session, kind, row, False, now)
        return row

    async def update(
        self, kind: str, record_id: str, values: dict[str, Any], expected_version: int
    ) -> Any:
        now = utcnow()
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            row = await session.get(MODELS[kind], record_id, with_for_update=self._postgres)
            self._check_writable(row, record_id, expected_version)
            for key, value in _storage_values(values).items():
                setattr(row, key, value)
            row.version += 1
            row.updated_at = now
            row.last_verified_at = now  # an edit by the owner confirms the record
            await session.flush()
            self._append_change(session, kind, row, False, now)
        return row

    async def delete(self, kind: str, record_id: str, expected_version: int) -> tuple[str, int]:
        now = utcnow()
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            row = await session.get(MODELS[kind], record_id, with_for_update=self._postgres)
            self._check_writable(row, record_id, expected_version)
            row.version += 1
            self._append_change(session, kind, row, True, now)
            await session.delete(row)
        return record_id, row.version

    async def record_attendance(
        self, record_id: str, note: str, details_confirmed: bool
    ) -> ContactPointRow:
        """Adds `note` to a local contact point's met_at (once) and, when the person
        confirmed their details, refreshes last_verified_at; a write like any other."""
        now = utcnow()
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            row: ContactPointRow | None = await session.get(
                ContactPointRow, record_id, with_for_update=self._postgres
            )
            self._check_writable(row, record_id, 0)
            assert row is not None
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
                self._append_change(session, "contact_point", row, False, now)
        return row

    async def put_routing_profile(
        self, jurisdiction: str, values: dict[str, Any], expected_version: int, new_id: str
    ) -> RoutingProfileRow:
        now = utcnow()
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            stmt = select(RoutingProfileRow).where(
                RoutingProfileRow.jurisdiction == jurisdiction,
                RoutingProfileRow.origin == self.local_network,
            )
            row = (await session.scalars(stmt)).first()
            if row is None:
                if expected_version:
                    raise VersionMismatch(expected_version, 0)
                row = RoutingProfileRow(
                    id=new_id,
                    origin=self.local_network,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    last_verified_at=now,
                    verified=True,
                    **_storage_values(values),
                )
                session.add(row)
            else:
                self._check_writable(row, row.id, expected_version)
                for key, value in _storage_values(values).items():
                    setattr(row, key, value)
                row.version += 1
                row.updated_at = now
                row.last_verified_at = now
            await session.flush()
            self._append_change(session, "routing_profile", row, False, now)
        result: RoutingProfileRow = row
        return result

    def _check_writable(self, row: RecordColumns | None, record_id: str, expected: int) -> None:
        if row is None:
            raise NotFound(f"no record {record_id}")
        if row.origin != self.local_network:
            raise ReadOnlyReplica(row.origin)
        if expected and expected != row.version:
            raise VersionMismatch(expected, row.version)

    async def import_rows(self, rows: list[tuple[str, str, dict[str, Any]]]) -> tuple[int, int]:
        """Upserts (kind, id, values) rows in one transaction; returns (created, updated)."""
        now = utcnow()
        created = updated = 0
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            held: dict[str, Any] = {}
            for kind, model in MODELS.items():
                ids = [rid for k, rid, _ in rows if k == kind]
                for start in range(0, len(ids), 500):
                    stmt = select(model).where(model.id.in_(ids[start : start + 500]))
                    held.update({r.id: r for r in (await session.scalars(stmt)).all()})
            for kind, record_id, values in rows:
                row = held.get(record_id)
                if row is None:
                    row = MODELS[kind](
                        id=record_id,
                        origin=self.local_network,
                        version=1,
                        created_at=now,
                        updated_at=now,
                        last_verified_at=now,
                        verified=True,
                        **_storage_values(values),
                    )
                    session.add(row)
                    created += 1
                else:
                    self._check_writable(row, record_id, 0)
                    for key, value in _storage_values(values).items():
                        setattr(row, key, value)
                    row.version += 1
                    row.updated_at = now
                    row.last_verified_at = now
                    updated += 1
                await session.flush()
                self._append_change(session, kind, row, False, now)
        return created, updated

    async def apply_replica(
        self,
        kind: str,
        record_id: str,
        origin: str,
        version: int,
        values: dict[str, Any] | None,
        verified: bool,
        synced_at: datetime,
        timestamps: dict[str, datetime],
    ) -> tuple[bool, int]:
        """Applies a peer's record if newer than what is held; None values mean deleted."""
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            return await self._apply_one(
                session,
                Replica(kind, record_id, origin, version, values, verified, timestamps),
                synced_at,
            )

    async def apply_replica_batch(
        self,
        origin: str,
        replicas: list[Replica],
        cursor: int,
        synced_at: datetime,
        last_change_at: datetime | None,
        committed: list[Committed] | None = None,
    ) -> tuple[int, int, int]:
        """Applies replicas and moves the origin's cursor in one transaction.

        Returns (applied, ignored, cursor now stored). The cursor never moves back.
        `committed`, when given, receives the change rows written (with their seq and
        message) if the batch took the bulk path, so the caller's index can apply them
        without reading them back; it is only meaningful once this returns.
        """
        applied = ignored = 0
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            if any(r.kind == "routing_profile" for r in replicas):
                # A profile replaces its origin's other profile for the jurisdiction (a
                # unique pair), which depends on order: the row-by-row path keeps it.
                applied, ignored = await self._apply_rows(session, replicas, synced_at)
            else:
                applied, ignored = await self._apply_bulk(session, replicas, synced_at, committed)
            row = await session.get(ReplicationCursorRow, origin, with_for_update=self._postgres)
            if row is None:
                row = ReplicationCursorRow(origin=origin, cursor=cursor, updated_at=synced_at)
                session.add(row)
            row.cursor = max(row.cursor, cursor)
            row.updated_at = synced_at
            if last_change_at is not None:
                row.last_change_at = last_change_at
            stored = row.cursor
        return applied, ignored, stored

    async def _apply_rows(
        self, session: AsyncSession, replicas: list[Replica], synced_at: datetime
    ) -> tuple[int, int]:
        held: dict[str, Any] = {}
        for kind, model in MODELS.items():
            ids = [r.record_id for r in replicas if r.kind == kind]
            for start in range(0, len(ids), 500):
                stmt = select(model).where(model.id.in_(ids[start : start + 500]))
                if self._postgres:
                    stmt = stmt.with_for_update()
                held.update({row.id: row for row in (await session.scalars(stmt)).all()})
        applied = 0
        for replica in replicas:
            done, _ = await self._apply_one(session, replica, synced_at, held)
            applied += done
        return applied, len(replicas) - applied

    async def _apply_bulk(
        self,
        session: AsyncSession,
        replicas: list[Replica],
        synced_at: datetime,
        committed: list[Committed] | None = None,
    ) -> tuple[int, int]:
        """The same outcome as `_apply_one` per replica in order, in a few statements.

        Each replica is decided against the state the earlier ones left (newer version
        wins, tombstones remove); then each record's net effect is written at once
        (delete, insert or update) and every applied step gets its change row, in order.
        """
        # id -> (kind, origin, version, visibility) as stored before this batch
        before: dict[str, tuple[str, str, int, str]] = {}
        for kind, model in MODELS.items():
            ids = [r.record_id for r in replicas if r.kind == kind]
            for start in range(0, len(ids), 500):
                stmt = select(model.id, model.origin, model.version, model.visibility).where(
                    model.id.in_(ids[start : start + 500])
                )
                if self._postgres:
                    stmt = stmt.with_for_update()
                for rid, origin, version, vis in (await session.execute(stmt)).all():
                    before[rid] = (kind, origin, int(version), vis)
        # id -> (origin, version, visibility) while walking the batch; None: absent
        state: dict[str, tuple[str, int, str] | None] = {
            rid: (origin, version, vis) for rid, (_, origin, version, vis) in before.items()
        }
        final: dict[str, tuple[str, dict[str, Any] | None]] = {}  # id -> (kind, columns)
        removed: set[str] = set()  # ids deleted at some step (re-created rows are inserted)
        changes: list[dict[str, Any]] = []
        messages: list[Any] = []  # per change: the record's message, None for a deletion
        applied = 0
        for r in replicas:
            current = state.get(r.record_id)
            if current is not None and current[0] != r.origin:
                raise InvalidInput.one(
                    "origin", f"record {r.record_id} belongs to {current[0]}, not {r.origin}"
                )
            if current is not None and _superseded(current[1], r):
                continue
            if r.values is None:
                if current is None:
                    continue
                state[r.record_id] = None
                final[r.record_id] = (r.kind, None)
                removed.add(r.record_id)
                changes.append(self._change(r.kind, r.record_id, r.origin, r.version, current[2]))
                messages.append(None)
            else:
                columns = {
                    **_storage_values(r.values),
                    "id": r.record_id,
                    "origin": r.origin,
                    "version": r.version,
                    "created_at": r.timestamps["created_at"],
                    "updated_at": r.timestamps["updated_at"],
                    "last_verified_at": r.timestamps["last_verified_at"],
                    "synced_at": synced_at,
                    "verified": r.verified,
                }
                state[r.record_id] = (r.origin, r.version, columns["visibility"])
                final[r.record_id] = (r.kind, columns)
                # The payload is the record as this node serves it, as for local writes.
                message = convert.to_message(r.kind, SimpleNamespace(**columns), self.local_network)
                changes.append(
                    self._change(
                        r.kind,
                        r.record_id,
                        r.origin,
                        r.version,
                        columns["visibility"],
                        message.SerializeToString(),
                    )
                )
                messages.append(message)
            changes[-1]["at"] = synced_at
            applied += 1
        for kind, model in MODELS.items():
            gone = [
                rid
                for rid, (k, _) in final.items()
                if k == kind and rid in before and (rid in removed)
            ]
            for start in range(0, len(gone), 500):
                await session.execute(delete(model).where(model.id.in_(gone[start : start + 500])))
            inserts = [
                cols
                for rid, (k, cols) in final.items()
                if k == kind and cols is not None and (rid not in before or rid in removed)
            ]
            if inserts:
                await session.execute(insert(model), inserts)
            updates = [
                cols
                for rid, (k, cols) in final.items()
                if k == kind and cols is not None and rid in before and rid not in removed
            ]
            if updates:
                # ORM bulk UPDATE by primary key: one executemany.
                await session.execute(update(model), updates)
        if changes and committed is None:
            await session.execute(insert(ChangeRow), changes)
        elif changes and committed is not None:
            # The seqs given, read back as plain integers (RETURNING with a guaranteed
            # order would make SQLAlchemy insert row by row on SQLite). This
            # transaction holds the writer lock, so the rows after `last` are ours, in
            # insertion order.
            last = await session.scalar(select(func.coalesce(func.max(ChangeRow.seq), 0)))
            await session.execute(insert(ChangeRow), changes)
            seqs = (
                await session.scalars(
                    select(ChangeRow.seq).where(ChangeRow.seq > last).order_by(ChangeRow.seq)
                )
            ).all()
            if len(seqs) == len(changes):
                for seq, change, message in zip(seqs, changes, messages, strict=True):
                    committed.append(
                        Committed(
                            seq, change["kind"], change["record_id"], change["version"], message
                        )
                    )
        return applied, len(replicas) - applied

    @staticmethod
    def _change(
        kind: str, record_id: str, origin: str, version: int, vis: str, payload: bytes = b""
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "record_id": record_id,
            "origin": origin,
            "version": version,
            "deleted": not payload,
            "visibility": vis,
            "payload": payload,
        }

    async def replication_cursor(self, origin: str) -> tuple[ReplicationCursorRow | None, int]:
        async with self.sessions() as session:
            row = await session.get(ReplicationCursorRow, origin)
            count = 0
            for model in MODELS.values():
                count += int(
                    await session.scalar(
                        select(func.count()).select_from(model).where(model.origin == origin)
                    )
                    or 0
                )
        return row, count

    async def drop_replicas(self, origin: str) -> int:
        """Removes every replica of `origin` (each leaves a deletion in the change log)."""
        if origin == self.local_network:
            raise InvalidInput.one("origin", "this node's own records are not replicas")
        removed = 0
        now = utcnow()
        async with self.sessions.begin() as session:
            await self._begin_write(session)
            for kind, model in MODELS.items():
                rows = (await session.scalars(select(model).where(model.origin == origin))).all()
                for row in rows:
                    row.version += 1
                    self._append_change(session, kind, row, True, now)
                    await session.delete(row)
                    removed += 1
            await session.execute(
                delete(ReplicationCursorRow).where(ReplicationCursorRow.origin == origin)
            )
        return removed

    async def _apply_one(
        self,
        session: AsyncSession,
        r: Replica,
        synced_at: datetime,
        held: dict[str, Any] | None = None,
    ) -> tuple[bool, int]:
        """One replica; `held` (rows preloaded by id) saves a query per record in batches."""
        model = MODELS[r.kind]
        if held is None:
            row = await session.get(model, r.record_id, with_for_update=self._postgres)
        else:
            row = held.get(r.record_id)
        if row is not None and row.origin != r.origin:
            raise InvalidInput.one(
                "origin", f"record {r.record_id} belongs to {row.origin}, not {r.origin}"
            )
        if row is not None and _superseded(int(row.version), r):
            return False, int(row.version)
        if r.values is None:
            if row is None:
                return False, 0
            row.version = r.version
            self._append_change(session, r.kind, row, True, synced_at)
            await session.delete(row)
            if held is not None:
                held.pop(r.record_id, None)
                await session.flush()  # the same id may come back later in this batch
            return True, r.version
        if r.kind == "routing_profile":
            # One profile per (origin, jurisdiction): a re-created profile replaces the old.
            await session.execute(
                delete(RoutingProfileRow).where(
                    RoutingProfileRow.origin == r.origin,
                    RoutingProfileRow.jurisdiction == r.values["jurisdiction"],
                    RoutingProfileRow.id != r.record_id,
                )
            )
        if row is None:
            row = model(id=r.record_id, origin=r.origin)
            session.add(row)
            if held is not None:
                held[r.record_id] = row
        for key, value in _storage_values(r.values).items():
            setattr(row, key, value)
        row.version = r.version
        row.created_at = r.timestamps["created_at"]
        row.updated_at = r.timestamps["updated_at"]
        row.last_verified_at = r.timestamps["last_verified_at"]
        row.synced_at = synced_at
        row.verified = r.verified
        if held is None:
            await session.flush()
        self._append_change(session, r.kind, row, False, synced_at)
        return True, r.version


def _superseded(held_version: int, r: Replica) -> bool:
    """Whether what is held already covers replica `r`. A tombstone at the held version
    still removes it: the origin stopped sharing the record with us (a policy change)
    without changing the record."""
    if r.values is None:
        return held_version > r.version
    return held_version >= r.version

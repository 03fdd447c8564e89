"""ReplicaStore: a replicated service's change log, replication cursors and replicas.

A service's store subclasses it and names its record kinds (`RecordKind`: the table, the
protobuf message its payload is, how a row is served, how a peer's payload is checked);
everything below is the same for every replicated service.

- **The change log.** Every write appends a change row in the same transaction as the
  record (`append_change`), under one writer lock (`begin_write`) so sequence numbers
  commit in order: SQLite has one writer anyway (BEGIN IMMEDIATE); on PostgreSQL a
  transaction-scoped advisory lock with the service's own key does it, otherwise a reader
  could pass seq 5 while seq 4 is still uncommitted. A reader that resumed after seq N
  never later finds a row below N committed.
- **Local records** (`create`, `update`, `delete`, and `new_row`, `edit_row`,
  `check_writable` for writes of the service's own shape): only the origin changes a
  record; each write bumps its version. `visible_to` is the visibility rule as a filter.
- **Replicas** (`apply_replica_batch`): a peer's records and the peer's cursor in one
  transaction, so a restart resumes exactly after what was applied. One rule decides
  each replica (`applies`): a record another origin holds is refused, naming the record
  (`records[i].origin`); a record held at the same or a newer version wins; a tombstone
  at the held version still removes it (the origin stopped sharing it without changing
  it); a tombstone for a record not held changes nothing. Every applied step gets its change
  row, in order. `replication_cursor` and `drop_replicas` (the peer was removed) complete
  the set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

from google.protobuf.message import Message
from sqlalchemy import ColumnElement, delete, func, insert, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common import visibility
from services.common.db import WRITE, encode_codes, session_factory
from services.common.errors import InvalidInput, NotFound, ReadOnlyReplica, VersionMismatch
from services.common.identity import Caller
from services.common.timeutil import utcnow
from services.common.validation import Validator

CHUNK = 500  # ids per IN (...) query
# What runs inside a write's transaction after the store's own statements.
Then = Callable[[AsyncSession, Any, datetime], Awaitable[None]]


@dataclass(frozen=True)
class RecordKind:
    """One kind of record a service replicates."""

    name: str  # the change's `kind`, e.g. "event"
    model: type[Any]  # its table: a mapped class with RecordColumns
    message: type[Message]  # what its payload is, e.g. events.v1.Event
    # A row as this node serves it (a replica with its provenance): the change's payload.
    serve: Callable[[Any, str], Message]
    # A peer's payload, parsed, as checked column values; errors go to the Validator.
    parse: Callable[[Any, Validator], dict[str, Any]]
    # Columns that, with the origin, name one record: a replica with another id replaces
    # the one held (a re-created routing profile for the same state).
    one_per_origin: tuple[str, ...] = ()


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

    @property
    def deleted(self) -> bool:
        return self.values is None


@dataclass(frozen=True, slots=True)
class Committed:
    """A change row a replica batch wrote: what a follower of the log needs of it."""

    seq: int
    kind: str
    record_id: str
    version: int
    message: Any  # the record's message at this version; None for a deletion


class Held(NamedTuple):
    """A record as stored before (or while walking) a batch."""

    origin: str
    version: int
    visibility: str


def superseded(held_version: int, replica: Replica) -> bool:
    """Whether what is held already covers `replica`. A tombstone at the held version
    still removes it: the origin stopped sharing the record with us (a policy change)
    without changing the record."""
    if replica.deleted:
        return held_version > replica.version
    return held_version >= replica.version


def applies(held: Held | None, replica: Replica, position: int) -> bool:
    """The one rule for a replica against what is held; `position` is its place in the
    batch (records[position]), named when another origin holds the record."""
    if held is None:
        return not replica.deleted  # a tombstone for a record not held changes nothing
    if held.origin != replica.origin:
        raise InvalidInput.one(
            f"records[{position}].origin",
            f"record {replica.record_id} belongs to {held.origin}, not {replica.origin}",
        )
    return not superseded(held.version, replica)


class ReplicaStore:
    # Columns holding code lists, stored as ",a,b," (services/common/db.py).
    code_lists: tuple[str, ...] = ()

    def __init__(
        self,
        engine: AsyncEngine,
        local_network: str,
        kinds: Sequence[RecordKind],
        change_model: type[Any],
        cursor_model: type[Any],
        lock_key: int,
    ) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.local_network = local_network
        self.kinds = {kind.name: kind for kind in kinds}
        self.change_model = change_model
        self.cursor_model = cursor_model
        self.lock_key = lock_key
        self._postgres = engine.dialect.name == "postgresql"
        # Every column of each kind's table, unset: what serving a bulk-written row reads.
        self._blank = {k.name: dict.fromkeys(inspect(k.model).columns.keys()) for k in kinds}

    # ------------------------------------------------------------ the change log

    async def begin_write(self, session: AsyncSession) -> None:
        """First statement of every write transaction that appends to the change log."""
        await session.connection(execution_options=WRITE)
        if self._postgres:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})

    def append_change(
        self, session: AsyncSession, kind: str, row: Any, deleted: bool, at: datetime
    ) -> None:
        # The payload is the record as this node serves it (replicas keep their provenance).
        payload = (
            b"" if deleted else self.kinds[kind].serve(row, self.local_network).SerializeToString()
        )
        session.add(
            self.change_model(
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

    async def max_seq(self) -> int:
        async with self.sessions() as session:
            value = await session.scalar(select(func.max(self.change_model.seq)))
        return int(value or 0)

    async def changes_since(self, seq: int, limit: int = 500, origin: str = "") -> list[Any]:
        """Change rows after `seq` in order, at most `limit`; only `origin`'s if given."""
        model = self.change_model
        stmt = select(model).where(model.seq > seq)
        if origin:
            stmt = stmt.where(model.origin == origin)
        stmt = stmt.order_by(model.seq).limit(limit)
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    # ------------------------------------------------------------ local records

    def storage_values(self, values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        for column in self.code_lists:
            if column in out and isinstance(out[column], list):
                out[column] = encode_codes(out[column])
        return out

    def new_row(self, kind: str, record_id: str, values: dict[str, Any], now: datetime) -> Any:
        """A new record of this node's own, at version 1."""
        return self.kinds[kind].model(
            id=record_id,
            origin=self.local_network,
            version=1,
            created_at=now,
            updated_at=now,
            last_verified_at=now,
            verified=True,
            **self.storage_values(values),
        )

    def edit_row(self, row: Any, values: dict[str, Any], now: datetime) -> None:
        """An edit of this node's own record: the next version."""
        for key, value in self.storage_values(values).items():
            setattr(row, key, value)
        row.version += 1
        row.updated_at = now
        row.last_verified_at = now  # an edit by the owner confirms the record

    def visible_to(self, caller: Caller, model: type[Any]) -> ColumnElement[bool]:
        """The records of `model` (local and replicated) this caller may see."""
        return visibility.sql_filter(caller, model.origin, model.visibility, self.local_network)

    def check_writable(self, kind: str, row: Any, record_id: str, expected: int) -> Any:
        """The row, if this node owns it and it is at the expected version (0: any)."""
        if row is None:
            raise NotFound(f"no {kind.replace('_', ' ')} {record_id}")
        if row.origin != self.local_network:
            raise ReadOnlyReplica(row.origin)
        if expected and expected != row.version:
            raise VersionMismatch(expected, row.version)
        return row

    async def create(self, kind: str, record_id: str, values: dict[str, Any]) -> Any:
        now = utcnow()
        row = self.new_row(kind, record_id, values, now)
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            session.add(row)
            await session.flush()
            self.append_change(session, kind, row, False, now)
        return row

    async def _locked(self, session: AsyncSession, kind: str, record_id: str) -> Any:
        model = self.kinds[kind].model
        return await session.get(model, record_id, with_for_update=self._postgres)

    async def update(
        self,
        kind: str,
        record_id: str,
        values: dict[str, Any],
        expected: int,
        then: Then | None = None,
    ) -> Any:
        now = utcnow()
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            row = await self._locked(session, kind, record_id)
            self.check_writable(kind, row, record_id, expected)
            self.edit_row(row, values, now)
            await session.flush()
            self.append_change(session, kind, row, False, now)
            if then is not None:
                await then(session, row, now)
        return row

    async def delete(
        self, kind: str, record_id: str, expected: int, then: Then | None = None
    ) -> tuple[str, int]:
        """Deletes this node's record (its deletion goes to the log); `then` runs before
        the row goes."""
        now = utcnow()
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            row = await self._locked(session, kind, record_id)
            self.check_writable(kind, row, record_id, expected)
            row.version += 1
            self.append_change(session, kind, row, True, now)
            if then is not None:
                await then(session, row, now)
            await session.delete(row)
        return record_id, row.version

    # ------------------------------------------------------------ replicas

    async def apply_replica_batch(
        self,
        origin: str,
        replicas: list[Replica],
        cursor: int,
        synced_at: datetime,
        last_change_at: datetime | None,
        committed: list[Committed] | None = None,
    ) -> tuple[int, int, int]:
        """Applies replicas (replicas[i] is the batch's records[i]) and moves the origin's
        cursor in one transaction.

        Returns (applied, ignored, cursor now stored). The cursor never moves back.
        `committed`, when given, receives the change rows written (with their seq and
        message) if the batch took the bulk path, so a follower of the log can apply them
        without reading them back; it is only meaningful once this returns.
        """
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            if any(self.kinds[r.kind].one_per_origin for r in replicas):
                # A record that replaces its origin's other one (one_per_origin) depends on
                # order: the row-by-row path keeps it.
                applied = await self._apply_rows(session, replicas, synced_at)
            else:
                applied = await self._apply_bulk(session, replicas, synced_at, committed)
            stored = await self._move_cursor(session, origin, cursor, synced_at, last_change_at)
        return applied, len(replicas) - applied, stored

    async def _move_cursor(
        self,
        session: AsyncSession,
        origin: str,
        cursor: int,
        synced_at: datetime,
        last_change_at: datetime | None,
    ) -> int:
        """Stores the origin's cursor (never moving it back) in one statement: an upsert
        that locks the row like any update, and answers the cursor now stored."""
        table = self.cursor_model.__table__
        values: dict[str, Any] = {"origin": origin, "cursor": cursor, "updated_at": synced_at}
        if last_change_at is not None:
            values["last_change_at"] = last_change_at
        stmt = (pg_insert if self._postgres else sqlite_insert)(table).values(values)
        highest = (func.greatest if self._postgres else func.max)(
            table.c.cursor, stmt.excluded.cursor
        )
        changed = {name: stmt.excluded[name] for name in values if name != "origin"}
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.origin], set_={**changed, "cursor": highest}
        )
        stored = await session.scalar(stmt.returning(table.c.cursor))
        assert stored is not None  # an upsert always returns its row
        return int(stored)

    async def _held(
        self, session: AsyncSession, replicas: list[Replica], whole: bool
    ) -> dict[str, Any]:
        """The records the batch names, locked: {id: row} (whole) or {id: Held}."""
        out: dict[str, Any] = {}
        for kind in self.kinds.values():
            model = kind.model
            ids = [r.record_id for r in replicas if r.kind == kind.name]
            for start in range(0, len(ids), CHUNK):
                where = model.id.in_(ids[start : start + CHUNK])
                if whole:
                    stmt = select(model).where(where)
                else:
                    stmt = select(model.id, model.origin, model.version, model.visibility)
                    stmt = stmt.where(where)
                if self._postgres:
                    stmt = stmt.with_for_update()
                if whole:
                    out.update({row.id: row for row in (await session.scalars(stmt)).all()})
                else:
                    for rid, origin, version, vis in (await session.execute(stmt)).all():
                        out[rid] = Held(origin, int(version), vis)
        return out

    def _columns(self, r: Replica, synced_at: datetime) -> dict[str, Any]:
        assert r.values is not None
        return {
            **self.storage_values(r.values),
            "id": r.record_id,
            "origin": r.origin,
            "version": r.version,
            "created_at": r.timestamps["created_at"],
            "updated_at": r.timestamps["updated_at"],
            "last_verified_at": r.timestamps["last_verified_at"],
            "synced_at": synced_at,
            "verified": r.verified,
        }

    async def _apply_rows(
        self, session: AsyncSession, replicas: list[Replica], synced_at: datetime
    ) -> int:
        """Replica by replica through the ORM, in order."""
        held = await self._held(session, replicas, whole=True)
        applied = 0
        for i, r in enumerate(replicas):
            row = held.get(r.record_id)
            current = None if row is None else Held(row.origin, int(row.version), row.visibility)
            if not applies(current, r, i):
                continue
            applied += 1
            if r.values is None:
                assert row is not None  # applies() ignores a tombstone for nothing held
                row.version = r.version
                self.append_change(session, r.kind, row, True, synced_at)
                await session.delete(row)
                held.pop(r.record_id, None)
                await session.flush()  # the same id may come back later in this batch
                continue
            kind = self.kinds[r.kind]
            columns = self._columns(r, synced_at)
            if kind.one_per_origin:
                model = kind.model
                await session.execute(
                    delete(model).where(
                        model.origin == r.origin,
                        *(getattr(model, c) == columns[c] for c in kind.one_per_origin),
                        model.id != r.record_id,
                    )
                )
            if row is None:
                row = kind.model(id=r.record_id, origin=r.origin)
                session.add(row)
                held[r.record_id] = row
            for key, value in columns.items():
                setattr(row, key, value)
            self.append_change(session, r.kind, row, False, synced_at)
        return applied

    async def _apply_bulk(
        self,
        session: AsyncSession,
        replicas: list[Replica],
        synced_at: datetime,
        committed: list[Committed] | None,
    ) -> int:
        """The same outcome as `_apply_rows`, in a few statements.

        Each replica is decided against the state the earlier ones left; then each
        record's net effect is written at once (delete, insert or update) and every
        applied step gets its change row, in order.
        """
        before: dict[str, Held] = await self._held(session, replicas, whole=False)
        state: dict[str, Held | None] = dict(before)  # while walking the batch; None: absent
        final: dict[str, tuple[str, dict[str, Any] | None]] = {}  # id -> (kind, columns)
        removed: set[str] = set()  # ids deleted at some step (re-created rows are inserted)
        changes: list[dict[str, Any]] = []
        messages: list[Any] = []  # per change: the record's message, None for a deletion
        for i, r in enumerate(replicas):
            current = state.get(r.record_id)
            if not applies(current, r, i):
                continue
            change = {
                "kind": r.kind,
                "record_id": r.record_id,
                "origin": r.origin,
                "version": r.version,
                "at": synced_at,
            }
            if r.values is None:
                assert current is not None
                state[r.record_id] = None
                final[r.record_id] = (r.kind, None)
                removed.add(r.record_id)
                change.update(deleted=True, visibility=current.visibility, payload=b"")
                messages.append(None)
            else:
                columns = self._columns(r, synced_at)
                state[r.record_id] = Held(r.origin, r.version, columns["visibility"])
                final[r.record_id] = (r.kind, columns)
                # The payload is the record as this node serves it, as for local writes.
                row = SimpleNamespace(**{**self._blank[r.kind], **columns})
                message = self.kinds[r.kind].serve(row, self.local_network)
                payload = message.SerializeToString()
                change.update(deleted=False, visibility=columns["visibility"], payload=payload)
                messages.append(message)
            changes.append(change)
        await self._write_records(session, set(before), final, removed)
        await self._write_changes(session, changes, messages, committed)
        return len(changes)

    async def _write_records(
        self,
        session: AsyncSession,
        before: set[str],
        final: dict[str, tuple[str, dict[str, Any] | None]],
        removed: set[str],
    ) -> None:
        """Each record's net effect: deleted, inserted (new or re-created) or updated."""
        for kind in self.kinds.values():
            model = kind.model
            mine = {rid: cols for rid, (k, cols) in final.items() if k == kind.name}
            gone = [rid for rid in mine if rid in before and rid in removed]
            for start in range(0, len(gone), CHUNK):
                ids = gone[start : start + CHUNK]
                await session.execute(delete(model).where(model.id.in_(ids)))
            inserts = [
                cols
                for rid, cols in mine.items()
                if cols is not None and (rid not in before or rid in removed)
            ]
            await self._insert(session, model, inserts)
            updates = [
                cols
                for rid, cols in mine.items()
                if cols is not None and rid in before and rid not in removed
            ]
            if updates:
                # ORM bulk UPDATE by primary key: one executemany.
                await session.execute(update(model), updates)

    @staticmethod
    async def _insert(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
        """Rows, in order, as Core executemany INSERTs (no ORM bulk bookkeeping per row):
        one per run of rows with the same columns."""
        table = model.__table__
        start = 0
        for end in range(1, len(rows) + 1):
            if end == len(rows) or rows[end].keys() != rows[start].keys():
                await session.execute(insert(table), rows[start:end])
                start = end

    async def _write_changes(
        self,
        session: AsyncSession,
        changes: list[dict[str, Any]],
        messages: list[Any],
        committed: list[Committed] | None,
    ) -> None:
        if not changes:
            return
        model = self.change_model
        if committed is None:
            await self._insert(session, model, changes)
            return
        if len(changes) == 1:  # a single change (as live changes travel): its seq returned
            table = model.__table__
            stmt = insert(table).values(changes[0]).returning(table.c.seq)
            seq = await session.scalar(stmt)
            assert seq is not None  # an insert returns its row
            change = changes[0]
            committed.append(
                Committed(
                    int(seq), change["kind"], change["record_id"], change["version"], messages[0]
                )
            )
            return
        # The seqs given, read back as plain integers (RETURNING with a guaranteed order
        # would make SQLAlchemy insert row by row on SQLite). This transaction holds the
        # writer lock, so the rows after `last` are ours, in insertion order.
        last = await session.scalar(select(func.coalesce(func.max(model.seq), 0)))
        await self._insert(session, model, changes)
        seqs = (
            await session.scalars(select(model.seq).where(model.seq > last).order_by(model.seq))
        ).all()
        if len(seqs) == len(changes):
            for seq, change, message in zip(seqs, changes, messages, strict=True):
                committed.append(
                    Committed(
                        int(seq), change["kind"], change["record_id"], change["version"], message
                    )
                )

    async def replication_cursor(self, origin: str) -> tuple[Any | None, int]:
        """The origin's cursor row (None before its first batch) and the replicas held."""
        async with self.sessions() as session:
            row = await session.get(self.cursor_model, origin)
            count = 0
            for kind in self.kinds.values():
                model = kind.model
                stmt = select(func.count()).select_from(model).where(model.origin == origin)
                count += int(await session.scalar(stmt) or 0)
        return row, count

    async def drop_replicas(self, origin: str) -> int:
        """Removes every replica of `origin` and its cursor (each record leaves a deletion
        in the change log)."""
        if origin == self.local_network:
            raise InvalidInput.one("origin", "this node's own records are not replicas")
        removed = 0
        now = utcnow()
        async with self.sessions.begin() as session:
            await self.begin_write(session)
            for kind in self.kinds.values():
                model = kind.model
                rows = (await session.scalars(select(model).where(model.origin == origin))).all()
                for row in rows:
                    row.version += 1
                    self.append_change(session, kind.name, row, True, now)
                    await session.delete(row)
                    removed += 1
            cursors = self.cursor_model
            await session.execute(delete(cursors).where(cursors.origin == origin))
        return removed

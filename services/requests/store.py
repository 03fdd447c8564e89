"""RequestsStore: every SQL statement of the requests service (but the statistics'
read-only aggregates: statistics.py).

A status change writes the request, its new events and the outbox message for the
other side in one transaction, so an event is never stored without being queued for
delivery, nor queued without being stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.db import WRITE, session_factory
from services.common.errors import Conflict, InvalidInput, VersionMismatch
from services.common.identity import Caller
from services.common.ids import is_id
from services.common.notices import append_notices
from services.requests.models import (
    ChainEventRow,
    DocumentRow,
    MessageRow,
    NoticeRow,
    ReceivedRow,
    RequestRow,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
NOTICES_LOCK = 0x4A4E5251  # "JNRQ": the requests notices' advisory lock (PostgreSQL)


@dataclass(frozen=True)
class Page:
    rows: list[RequestRow]
    next_cursor: str


def visible(caller: Caller, local_network: str) -> ColumnElement[bool]:
    """Editors and admins of the node see its requests; a member sees the requests they
    created and the incoming requests that are not confidential."""
    if caller.network == local_network and caller.at_least("editor"):
        return RequestRow.id.is_not(None)
    if caller.network != local_network or not caller.authenticated:
        return RequestRow.id.is_(None)
    return or_(
        and_(RequestRow.direction == "outgoing", RequestRow.owner.in_(caller.owner_ids())),
        and_(RequestRow.direction == "incoming", RequestRow.confidential.is_(False)),
    )


def can_see(caller: Caller, row: RequestRow, local_network: str) -> bool:
    if not caller.authenticated or caller.network != local_network:
        return False
    if caller.at_least("editor"):
        return True
    if row.direction == "outgoing":
        return caller.owns(row.owner)
    return not row.confidential


def overdue(now: datetime, closed: Sequence[str]) -> ColumnElement[bool]:
    """Overdue at `now`: submitted and past the acknowledgement date, or past the
    deadline and not in one of the `closed` statuses (draft and the final ones)."""
    return or_(
        and_(RequestRow.status == "submitted", RequestRow.acknowledgement_due < now),
        and_(
            RequestRow.deadline != "",
            RequestRow.deadline < now.date().isoformat(),
            RequestRow.status.not_in(closed),
        ),
    )


@dataclass(frozen=True)
class NewEvent:
    seq: int
    author: str
    status: str
    at: datetime
    event: bytes
    key_id: str
    signature: bytes


async def _notices(session: AsyncSession, request_id: str, events: Sequence[NewEvent]) -> None:
    """Each new event, for the notifier to follow, in the transaction that stores it."""
    rows = [
        NoticeRow(
            kind="request_event", record_id=request_id, event_seq=e.seq, status=e.status, at=e.at
        )
        for e in events
    ]
    await append_notices(session, rows, NOTICES_LOCK)


class RequestsStore:
    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.local_network = local_network

    # ------------------------------------------------------------ requests

    async def create(self, values: dict[str, Any]) -> RequestRow:
        row = RequestRow(**values)
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            session.add(row)
        return row

    async def get(self, request_id: str) -> RequestRow | None:
        if not is_id(request_id):
            return None
        async with self.sessions() as session:
            row: RequestRow | None = await session.get(RequestRow, request_id)
            return row

    async def list_requests(
        self,
        caller: Caller,
        limit: int,
        cursor: str,
        *,
        status: str = "",
        direction: str = "",
        overdue_at: datetime | None = None,
        closed: Sequence[str] = (),
    ) -> Page:
        """`overdue_at`: only the requests overdue then: submitted and past the
        acknowledgement date, or past the deadline and not in one of the `closed` statuses
        (the caller passes draft and the final ones)."""
        limit = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
        conditions = [visible(caller, self.local_network)]
        if status:
            conditions.append(RequestRow.status == status)
        if direction:
            conditions.append(RequestRow.direction == direction)
        if cursor:
            if not is_id(cursor):
                raise InvalidInput.one("cursor", "not a cursor returned by this API")
            conditions.append(RequestRow.id < cursor)
        if overdue_at is not None:
            conditions.append(overdue(overdue_at, closed))
        stmt = select(RequestRow).where(*conditions).order_by(RequestRow.id.desc())
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt.limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, rows[-1].id if more and rows else "")

    async def events(self, request_id: str) -> list[ChainEventRow]:
        stmt = (
            select(ChainEventRow)
            .where(ChainEventRow.request_id == request_id)
            .order_by(ChainEventRow.seq)
        )
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def append(
        self,
        request_id: str,
        expected_seq: int,
        events: Sequence[NewEvent],
        changes: dict[str, Any],
        outbox: Sequence[MessageRow],
        expected_version: int = 0,
        documents: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> RequestRow:
        """Adds events after `expected_seq`, with the messages that carry them to the other
        side; refused if another change got there first."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await self._locked(session, request_id)
            if row.last_seq != expected_seq:
                raise Conflict(
                    f"request {request_id} changed meanwhile (event {row.last_seq}); "
                    "reload it and try again"
                )
            if expected_version and row.version != expected_version:
                raise VersionMismatch(expected_version, row.version)
            for e in events:
                session.add(ChainEventRow(request_id=request_id, **e.__dict__))
            for key, value in changes.items():
                setattr(row, key, value)
            row.version += 1
            if events:
                row.last_seq = events[-1].seq
            session.add_all(outbox)
            for document_id, values in documents:
                await session.execute(
                    update(DocumentRow).where(DocumentRow.id == document_id).values(**values)
                )
            await _notices(session, request_id, events)
        return row

    async def update_draft(
        self, request_id: str, values: dict[str, Any], expected_version: int = 0
    ) -> RequestRow:
        """Replaces a draft's fields; refused once it is submitted or when stale."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await self._locked(session, request_id)
            if row.status != "draft":
                raise Conflict(f"request {request_id} is {row.status}; only a draft can be edited")
            if expected_version and row.version != expected_version:
                raise VersionMismatch(expected_version, row.version)
            for key, value in values.items():
                setattr(row, key, value)
            row.version += 1
        return row

    async def _locked(self, session: AsyncSession, request_id: str) -> RequestRow:
        stmt = select(RequestRow).where(RequestRow.id == request_id).with_for_update()
        row = (await session.scalars(stmt)).one_or_none()
        if row is None:
            raise Conflict(f"request {request_id} no longer exists")
        return row

    async def receive(
        self,
        origin: str,
        message_id: str,
        create: dict[str, Any] | None,
        request_id: str,
        expected_seq: int,
        events: Sequence[NewEvent],
        changes: dict[str, Any],
        inbox: ReceivedRow,
        documents: Sequence[DocumentRow] = (),
    ) -> bool:
        """Applies a peer's message in one transaction; False if it was already handled
        (a concurrent duplicate), so the caller answers from the inbox."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            if await session.get(ReceivedRow, (origin, message_id)) is not None:
                return False
            if create is not None:
                if await session.get(RequestRow, request_id) is not None:
                    return False
                session.add(RequestRow(**create))
                await session.flush()
            row = await self._locked(session, request_id)
            if row.last_seq != expected_seq:
                return False
            for e in events:
                session.add(ChainEventRow(request_id=request_id, **e.__dict__))
            for key, value in changes.items():
                setattr(row, key, value)
            if events:
                row.version += 1
                row.last_seq = events[-1].seq
            session.add_all(documents)
            session.add(inbox)
            await _notices(session, request_id, events)
        return True

    async def incoming(
        self, origin: str, message_id: str, request_id: str
    ) -> tuple[ReceivedRow | None, RequestRow | None, list[ChainEventRow]]:
        """What a peer's message is checked against, read in one session (one pool
        checkout instead of three on the delivery path): the reply already given to this
        message id, the request and its events. `receive` re-checks under the lock."""
        async with self.sessions() as session:
            held: ReceivedRow | None = await session.get(ReceivedRow, (origin, message_id))
            if held is not None or not is_id(request_id):
                return held, None, []
            row: RequestRow | None = await session.get(RequestRow, request_id)
            if row is None:
                return None, None, []
            stmt = (
                select(ChainEventRow)
                .where(ChainEventRow.request_id == request_id)
                .order_by(ChainEventRow.seq)
            )
            return None, row, list((await session.scalars(stmt)).all())

    async def record_refusal(
        self, inbox: ReceivedRow, conflict: tuple[str, str] | None = None
    ) -> None:
        """Keeps the refusal (a repeat gets the same answer); `conflict` is (request id,
        text) to show on the request, in the same transaction."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            if await session.get(ReceivedRow, (inbox.origin, inbox.message_id)) is None:
                session.add(inbox)
                if conflict is not None:
                    await self._set_conflict(session, *conflict)

    async def add_messages(
        self, request_id: str, messages: Sequence[MessageRow], peer_held_seq: int
    ) -> int:
        """Queues messages (those not queued before, by id) and records how much of the
        chain the other side said it holds; returns how many were new."""
        added = 0
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            for message in messages:
                if await session.get(MessageRow, message.message_id) is None:
                    session.add(message)
                    added += 1
            await session.execute(
                update(RequestRow)
                .where(RequestRow.id == request_id)
                .values(peer_held_seq=peer_held_seq)
            )
        return added

    async def peer_holds(self, request_id: str, held_seq: int) -> None:
        """The other side's receipt says it holds `held_seq` events (never goes back)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(RequestRow)
                .where(RequestRow.id == request_id, RequestRow.peer_held_seq < held_seq)
                .values(peer_held_seq=held_seq)
            )

    async def set_conflict(self, request_id: str, text: str) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await self._set_conflict(session, request_id, text)

    @staticmethod
    async def _set_conflict(session: AsyncSession, request_id: str, text: str) -> None:
        # The first description stays: it names the event where the chains parted.
        await session.execute(
            update(RequestRow)
            .where(RequestRow.id == request_id, RequestRow.conflict == "")
            .values(conflict=text[:1000], version=RequestRow.version + 1)
        )

    # ------------------------------------------------------------ outbox

    async def update_message(self, message_id: str, **values: Any) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(MessageRow).where(MessageRow.message_id == message_id).values(**values)
            )

    async def message(self, message_id: str) -> MessageRow | None:
        async with self.sessions() as session:
            row: MessageRow | None = await session.get(MessageRow, message_id)
            return row

    async def messages(self, message_ids: Sequence[str]) -> dict[str, MessageRow]:
        """Outbox rows by message id, in one query (those that exist)."""
        stmt = select(MessageRow).where(MessageRow.message_id.in_(message_ids))
        async with self.sessions() as session:
            return {m.message_id: m for m in (await session.scalars(stmt)).all()}

    async def messages_of(self, request_id: str) -> list[MessageRow]:
        stmt = (
            select(MessageRow).where(MessageRow.request_id == request_id).order_by(MessageRow.seq)
        )
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

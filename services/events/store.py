"""EventsStore: every SQL statement of the events service.

Event writes append to `events_changes` (the outbox federation follows) in the same
transaction, under one writer lock so sequence numbers commit in order; that, the plain
writes of an event and everything about replicas are the replica-feed kit's
(services/common/replication/store.py).

Registrations decide places under the event's own lock: SQLite's BEGIN IMMEDIATE, and
on PostgreSQL `SELECT ... FOR UPDATE` on the event row, so concurrent registrations
for one event queue and each counts the places the previous ones took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.db import WRITE
from services.common.errors import Conflict, InvalidInput, NotFound, ReadOnlyReplica
from services.common.identity import Caller
from services.common.notices import append_notices
from services.common.paging import Page, decode_cursor, page_of, page_size
from services.common.replication import ReplicaStore
from services.common.timeutil import as_utc, utcnow
from services.events import messages
from services.events.kinds import KINDS
from services.events.models import (
    ChangeRow,
    EventRow,
    NoticeRow,
    RegistrationRow,
    ReplicationCursorRow,
)
from services.events.validate import ACTIVE_STATES

_WRITE_LOCK_KEY = 0x4A4E4556  # "JNEV": the events change log's advisory lock
NOTICES_LOCK = 0x4A4E454E  # "JNEN": the events notices' advisory lock (PostgreSQL)
# A member's registration for a peer's event only moves forward: answers and updates
# may arrive out of order (a receipt's "waitlisted" after the owner's "confirmed").
_RANK = {"pending": 0, "waitlisted": 1, "confirmed": 2, "refused": 3, "failed": 3, "cancelled": 4}


@dataclass(frozen=True)
class EventFilter:
    network: str = ""
    kind: str = ""
    start: datetime | None = None  # events ending at or after
    end: datetime | None = None  # events starting before


@dataclass(frozen=True)
class Placed:
    """A registration and what the caller learns about it."""

    row: RegistrationRow
    position: int  # waitlist position, 1 = next


def person_key(
    local_network: str, network: str, subject: str, name: str, contact_point_id: str
) -> str:
    """Who the registrant is, for "already registered". A contact point id is this
    network's directory record: trusted as the person only for this network's own
    members. A peer's is scoped by its network, so a peer message naming a local
    contact point cannot block the local person it belongs to."""
    if contact_point_id:
        if network == local_network:
            return contact_point_id
        return f"{network}/contact/{contact_point_id}"[:600]
    return f"{network}/{subject}/{name.casefold()}"[:600]


async def _promoted(
    session: AsyncSession, rows: Sequence[RegistrationRow], now: datetime, title: str = ""
) -> None:
    """Registrants moved up from a waitlist, for the notifier, in the same transaction
    (`title`: the event's, when it is this node's own)."""
    notices = [
        NoticeRow(
            kind="waitlist_promoted",
            record_id=r.id,
            subject=r.subject,
            about_id=r.event_id,
            title=title or r.event_title,
            at=now,
        )
        for r in rows
        if r.subject
    ]
    await append_notices(session, notices, NOTICES_LOCK)


class EventsStore(ReplicaStore):
    code_lists = ("languages", "interpretation")

    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        super().__init__(
            engine, local_network, KINDS, ChangeRow, ReplicationCursorRow, _WRITE_LOCK_KEY
        )

    # ------------------------------------------------------------ event reads

    async def get(self, record_id: str) -> EventRow | None:
        async with self.sessions() as session:
            row: EventRow | None = await session.get(EventRow, record_id)
        return row

    async def counts(self, ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """{event id: (confirmed, waitlisted)} for local events among `ids`."""
        if not ids:
            return {}
        stmt = (
            select(RegistrationRow.event_id, RegistrationRow.state, func.count())
            .where(
                RegistrationRow.event_id.in_(list(ids)),
                RegistrationRow.state.in_(("confirmed", "waitlisted")),
                RegistrationRow.event_origin == self.local_network,
            )
            .group_by(RegistrationRow.event_id, RegistrationRow.state)
        )
        out: dict[str, tuple[int, int]] = {}
        async with self.sessions() as session:
            for event_id, state, n in (await session.execute(stmt)).all():
                confirmed, waitlisted = out.get(event_id, (0, 0))
                if state == "confirmed":
                    confirmed = n
                else:
                    waitlisted = n
                out[event_id] = (confirmed, waitlisted)
        return out

    async def list_events(
        self, caller: Caller, flt: EventFilter, limit: int, cursor: str
    ) -> Page[EventRow]:
        conditions = [self.visible_to(caller, EventRow)]
        if flt.network:
            conditions.append(EventRow.origin == flt.network)
        if flt.kind:
            conditions.append(EventRow.kind == flt.kind)
        if flt.start is not None:
            conditions.append(EventRow.ends_at >= flt.start)
        if flt.end is not None:
            conditions.append(EventRow.starts_at < flt.end)
        if cursor:
            after, after_id = decode_cursor(cursor)
            try:
                after_at = datetime.fromisoformat(after)
            except ValueError:
                raise InvalidInput.one("cursor", "not a cursor returned by this API") from None
            conditions.append(
                or_(
                    EventRow.starts_at > after_at,
                    and_(EventRow.starts_at == after_at, EventRow.id > after_id),
                )
            )
        size = page_size(limit)
        stmt = (
            select(EventRow)
            .where(*conditions)
            .order_by(EventRow.starts_at, EventRow.id)
            .limit(size + 1)
        )
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
        return page_of(rows, size, lambda r: as_utc(r.starts_at).isoformat(), lambda r: r.id)

    # ------------------------------------------------------------ event writes

    async def update_event(self, record_id: str, values: dict[str, Any], expected: int) -> EventRow:
        # More places: the waitlist moves up at once, in the same transaction.
        row: EventRow = await self.update("event", record_id, values, expected, then=self._promote)
        return row

    async def delete_event(self, record_id: str, expected: int) -> tuple[str, int]:
        return await self.delete("event", record_id, expected, then=self._registrations_off)

    async def _registrations_off(self, session: AsyncSession, row: EventRow, now: datetime) -> None:
        """An event of this node is deleted: peers' members with a place or a waitlist
        slot learn it is off (the messages are written here, with the deletion); every
        registration goes."""
        told = await session.scalars(
            select(RegistrationRow).where(
                RegistrationRow.event_id == row.id,
                RegistrationRow.network != self.local_network,
                RegistrationRow.message_id.is_not(None),
                RegistrationRow.state.in_(ACTIVE_STATES),
            )
        )
        for reg in told.all():
            await session.merge(messages.update(reg, "cancelled", now))
        await session.execute(delete(RegistrationRow).where(RegistrationRow.event_id == row.id))

    # ------------------------------------------------------------ registrations

    async def _lock_event(self, session: AsyncSession, event_id: str) -> EventRow:
        await session.connection(execution_options=WRITE)  # SQLite: BEGIN IMMEDIATE
        row = await session.get(EventRow, event_id, with_for_update=self._postgres)
        if row is None:
            raise NotFound(f"no event {event_id}")
        return row

    async def _count(self, session: AsyncSession, event_id: str, state: str) -> int:
        stmt = (
            select(func.count())
            .select_from(RegistrationRow)
            .where(RegistrationRow.event_id == event_id, RegistrationRow.state == state)
        )
        return int(await session.scalar(stmt) or 0)

    async def _position(self, session: AsyncSession, row: RegistrationRow) -> int:
        if row.state != "waitlisted":
            return 0
        if row.event_origin != self.local_network:
            return row.queue_no  # a peer's answer, as it was given
        stmt = (
            select(func.count())
            .select_from(RegistrationRow)
            .where(
                RegistrationRow.event_id == row.event_id,
                RegistrationRow.state == "waitlisted",
                RegistrationRow.queue_no < row.queue_no,
            )
        )
        return int(await session.scalar(stmt) or 0) + 1

    async def _promote(self, session: AsyncSession, event: EventRow, now: datetime) -> None:
        """Moves the first waitlisted up into free places."""
        free = None
        if event.capacity:
            free = event.capacity - await self._count(session, event.id, "confirmed")
            if free <= 0:
                return
        stmt = (
            select(RegistrationRow)
            .where(RegistrationRow.event_id == event.id, RegistrationRow.state == "waitlisted")
            .order_by(RegistrationRow.queue_no)
        )
        if free is not None:
            stmt = stmt.limit(free)
        promoted = list((await session.scalars(stmt)).all())
        for reg in promoted:
            reg.state = "confirmed"
            reg.updated_at = now
            if reg.network != self.local_network and reg.message_id:
                await session.merge(messages.update(reg, "confirmed", now))  # tell them
        # This network's own people are told by mail (a peer's, by their own node).
        local = [r for r in promoted if r.network == self.local_network]
        await _promoted(session, local, now, event.title)

    async def register(
        self,
        event_id: str,
        *,
        registration_id: str,
        network: str,
        subject: str,
        name: str,
        email: str,
        contact_point_id: str,
        message_id: str | None = None,
        now: datetime | None = None,
    ) -> Placed:
        """A place or a waitlist slot for a local event, decided under the event's lock."""
        now = now or utcnow()
        key = person_key(self.local_network, network, subject, name, contact_point_id)
        async with self.sessions.begin() as session:
            event = await self._lock_event(session, event_id)
            if event.origin != self.local_network:
                raise ReadOnlyReplica(event.origin)
            if message_id is not None:
                earlier = await self._earlier(session, network, message_id)
                if earlier is not None:
                    return Placed(earlier, await self._position(session, earlier))
            _refuse_if_closed(event, now)
            await self._refuse_if_registered(session, event_id, key)
            confirmed = await self._count(session, event_id, "confirmed")
            queue_no = await self._last_queue_no(session, event_id)
            full = bool(event.capacity) and confirmed >= event.capacity
            row = RegistrationRow(
                id=registration_id,
                event_id=event_id,
                event_origin=event.origin,
                network=network,
                subject=subject,
                person_key=key,
                name=name,
                email=email,
                contact_point_id=contact_point_id,
                state="waitlisted" if full else "confirmed",
                queue_no=queue_no + 1,
                message_id=message_id,
                event_title=event.title,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            return Placed(row, await self._position(session, row))

    @staticmethod
    async def _earlier(
        session: AsyncSession, network: str, message_id: str
    ) -> RegistrationRow | None:
        """The registration a repeated message already made (messages are idempotent)."""
        earlier: RegistrationRow | None = await session.scalar(
            select(RegistrationRow).where(
                RegistrationRow.network == network, RegistrationRow.message_id == message_id
            )
        )
        return earlier

    @staticmethod
    async def _refuse_if_registered(session: AsyncSession, event_id: str, key: str) -> None:
        duplicate = await session.scalar(
            select(RegistrationRow.id).where(
                RegistrationRow.event_id == event_id,
                RegistrationRow.person_key == key,
                RegistrationRow.state.in_(ACTIVE_STATES),
            )
        )
        if duplicate is not None:
            raise Conflict("already registered for this event")

    @staticmethod
    async def _last_queue_no(session: AsyncSession, event_id: str) -> int:
        last = await session.scalar(
            select(func.max(RegistrationRow.queue_no)).where(RegistrationRow.event_id == event_id)
        )
        return int(last or 0)

    async def add_pending(self, row: RegistrationRow) -> RegistrationRow:
        """A member's registration for a peer's event, before the owner answers, with its
        message to the owner in the same transaction: no registration is kept here that
        the owner is not told of, and none reaches the owner that is not kept here."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await self._refuse_if_registered(session, row.event_id, row.person_key)
            session.add(row)
            session.add(messages.registration(row, row.created_at))
        return row

    async def settle(
        self, registration_id: str, state: str, position: int, reason: str
    ) -> RegistrationRow | None:
        """Records the owner's answer on a member's registration for a peer's event."""
        now = utcnow()
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row: RegistrationRow | None = await session.get(RegistrationRow, registration_id)
            if row is None or row.event_origin == self.local_network:
                return None
            if _RANK.get(state, 0) < _RANK.get(row.state, 0):
                # An older answer arriving late (the receipt's "waitlisted" after the
                # owner's "confirmed" update), or cancelled here meanwhile.
                return row
            if row.state == "waitlisted" and state == "confirmed":
                await _promoted(session, [row], now)
            row.state = state
            row.queue_no = position
            row.reason = reason[:500]
            row.updated_at = now
        return row

    async def registration(self, registration_id: str) -> tuple[RegistrationRow, int] | None:
        async with self.sessions() as session:
            row = await session.get(RegistrationRow, registration_id)
            if row is None:
                return None
            return row, await self._position(session, row)

    async def by_message(self, network: str, message_id: str) -> RegistrationRow | None:
        async with self.sessions() as session:
            row: RegistrationRow | None = await session.scalar(
                select(RegistrationRow).where(
                    RegistrationRow.network == network, RegistrationRow.message_id == message_id
                )
            )
        return row

    async def cancel(
        self, registration_id: str, now: datetime | None = None, by_peer: bool = False
    ) -> RegistrationRow:
        """Cancels; on a local event the first waitlisted take the freed place. A peer
        member's registration cancelled here (not by their network) is reported back;
        a member's registration for a peer's event is reported to its owner. Both are
        written in the same transaction (services/events/messages.py)."""
        now = now or utcnow()
        async with self.sessions() as session:
            found = await session.get(RegistrationRow, registration_id)
        if found is None:
            raise NotFound(f"no registration {registration_id}")
        async with self.sessions.begin() as session:
            if found.event_origin == self.local_network:
                event: EventRow | None = await self._lock_event(session, found.event_id)
            else:
                await session.connection(execution_options=WRITE)
                event = None
            row: RegistrationRow | None = await session.get(RegistrationRow, registration_id)
            if row is None:
                raise NotFound(f"no registration {registration_id}")
            if row.state not in ACTIVE_STATES:
                return row
            row.state = "cancelled"
            row.updated_at = now
            if event is None:
                await session.merge(messages.cancellation(row, now))  # the owner frees it
            else:
                if row.network != self.local_network and row.message_id and not by_peer:
                    await session.merge(messages.update(row, "cancelled", now))
                await session.flush()
                await self._promote(session, event, now)
        return row

    async def list_registrations(
        self,
        event_id: str,
        state: str = "",
        network: str = "",
        subjects: Sequence[str] | None = None,
    ) -> list[tuple[RegistrationRow, int]]:
        """An event's registrations in arrival order, with waitlist positions. `network`
        keeps one network's; `subjects` (None: anyone) only those of these principals of
        `network` (a principal id means someone only within its network)."""
        stmt = select(RegistrationRow).where(RegistrationRow.event_id == event_id)
        if state:
            stmt = stmt.where(RegistrationRow.state == state)
        if network:
            stmt = stmt.where(RegistrationRow.network == network)
        if subjects is not None:
            if not subjects or not network:
                return []
            stmt = stmt.where(RegistrationRow.subject.in_(list(subjects)))
        stmt = stmt.order_by(RegistrationRow.queue_no, RegistrationRow.created_at)
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
            if subjects is not None:
                # One person's rows: their places among everyone waiting, not among theirs.
                return [(row, await self._position(session, row)) for row in rows]
        out = []
        waiting = 0
        for row in rows:
            if row.state == "waitlisted" and row.event_origin == self.local_network:
                waiting += 1
                out.append((row, waiting if not state or state == "waitlisted" else 0))
            else:
                out.append((row, row.queue_no if row.state == "waitlisted" else 0))
        return out

    async def mark_attendance(
        self, registration_id: str, attended: bool, details_confirmed: bool, recorded: bool
    ) -> RegistrationRow:
        now = utcnow()
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row: RegistrationRow | None = await session.get(RegistrationRow, registration_id)
            if row is None:
                raise NotFound(f"no registration {registration_id}")
            row.attended = attended
            row.details_confirmed = attended and details_confirmed
            row.recorded_on_contact_point = row.recorded_on_contact_point or recorded
            row.attended_at = now if attended else None
            row.updated_at = now
        return row


def _refuse_if_closed(event: EventRow, now: datetime) -> None:
    """Registration closes at the event's deadline, or when it ends."""
    deadline = event.registration_deadline or event.ends_at
    if now > as_utc(deadline):
        field = "registration_deadline" if event.registration_deadline else "ends_at"
        raise InvalidInput.one(field, f"registration closed at {as_utc(deadline).isoformat()}")

"""The notifier's tables: the mail outbox, the notice cursors, and the people it mails.

`record` writes a batch of mails and moves a feed's cursor in one transaction, keeping
only mails whose `dedup_key` is new: a restart (or a second look at the same notices)
neither loses nor repeats a mail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.models import MailRow, NoticeCursorRow, UserRow
from services.common.db import WRITE, session_factory
from services.common.ids import new_id

ComposeDigest = Callable[[Sequence[MailRow]], tuple[str, str]]
USER_PREFIX = "user:"  # a person's principal id (services/common/identity.py)


class MailOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def cursor(self, feed: str) -> int:
        async with self.sessions() as session:
            row = await session.get(NoticeCursorRow, feed)
            return row.seq if row is not None else 0

    async def record(self, mails: Sequence[MailRow], feed: str = "", seq: int = 0) -> int:
        """Adds the mails not written before (by dedup key) and, with `feed`, moves its
        cursor to `seq`; one transaction. Returns how many mails were new."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            keys = [m.dedup_key for m in mails]
            held = set()
            if keys:
                stmt = select(MailRow.dedup_key).where(MailRow.dedup_key.in_(keys))
                held = set((await session.scalars(stmt)).all())
            new = {m.dedup_key: m for m in mails if m.dedup_key not in held}
            session.add_all(new.values())
            if feed:
                cursor = await session.get(NoticeCursorRow, feed)
                if cursor is None:
                    session.add(NoticeCursorRow(feed=feed, seq=seq))
                else:
                    cursor.seq = max(cursor.seq, seq)
        return len(new)

    async def due(self, now: datetime, limit: int) -> list[tuple[MailRow, UserRow | None]]:
        """Mails to send now, oldest first, each with its person (None: gone)."""
        stmt = (
            select(MailRow, UserRow)
            .join(UserRow, UserRow.id == MailRow.user_id, isouter=True)
            .where(MailRow.state == "pending", MailRow.next_attempt_at <= now)
            .order_by(MailRow.created_at, MailRow.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            return [(m, u) for m, u in (await session.execute(stmt)).all()]

    async def claim(self, mail: MailRow, until: datetime) -> bool:
        """Takes a due mail for sending until `until` (compare-and-set on its next attempt
        time): another gateway running the notifier skips it, and if this one stops before
        settling it, the mail is due again then."""
        stmt = (
            update(MailRow)
            .where(
                MailRow.id == mail.id,
                MailRow.state == "pending",
                MailRow.next_attempt_at == mail.next_attempt_at,
            )
            .values(next_attempt_at=until)
        )
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            result = await session.execute(stmt)
        return bool(result.rowcount)

    async def settle(self, mail_id: str, **values: object) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(update(MailRow).where(MailRow.id == mail_id).values(**values))

    async def held_for(self) -> list[str]:
        """People with mails held for their digest."""
        stmt = select(MailRow.user_id).where(MailRow.state == "held").distinct()
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def digest(self, user_id: str, key: str, compose: ComposeDigest, now: datetime) -> bool:
        """One mail with the person's held mails (marked `digested` in the same
        transaction); False when today's digest (`key`) exists or nothing is held."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            done = await session.scalar(select(MailRow.id).where(MailRow.dedup_key == key))
            if done is not None:
                return False
            stmt = (
                select(MailRow)
                .where(MailRow.user_id == user_id, MailRow.state == "held")
                .order_by(MailRow.created_at, MailRow.id)
            )
            held = list((await session.scalars(stmt)).all())
            if not held:
                return False
            subject, body = compose(held)
            session.add(new_mail(user_id, "digest", key, subject, body, "pending", now))
            for mail in held:
                mail.state = "digested"
        return True

    # ------------------------------------------------------------ people

    async def person(self, principal: str) -> UserRow | None:
        """The person a principal id names (`user:<id>`), unless disabled."""
        if not principal.startswith(USER_PREFIX):
            return None
        async with self.sessions() as session:
            row = await session.get(UserRow, principal[len(USER_PREFIX) :])
        return row if row is not None and row.disabled_at is None else None

    async def editors(self, jurisdiction: str) -> list[UserRow]:
        """The requested side of a request about `jurisdiction`: this node's editors for
        that state, and those for no state in particular."""
        stmt = (
            select(UserRow)
            .where(
                UserRow.role == "editor",
                UserRow.disabled_at.is_(None),
                UserRow.jurisdiction.in_(("", jurisdiction)),
            )
            .order_by(UserRow.id)
        )
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())


def new_mail(
    user_id: str, kind: str, key: str, subject: str, body: str, state: str, now: datetime
) -> MailRow:
    return MailRow(
        id=new_id(),
        dedup_key=key,
        user_id=user_id,
        kind=kind,
        subject=subject[:300],
        body=body,
        state=state,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )

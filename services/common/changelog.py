"""The transactional change log (outbox) each replicating service keeps: its reads, and
the writer lock that makes sequence numbers commit in order.

A service's change rows carry a monotonically increasing `seq`; a reader that resumes
after seq N must never later find a row below N committed, so every writing transaction
takes one lock first: SQLite's write lock (BEGIN IMMEDIATE), or on PostgreSQL a
transaction-scoped advisory lock with the service's own key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.db import WRITE


async def begin_write(session: AsyncSession, postgres: bool, lock_key: int) -> None:
    """First statement of every write transaction that appends to the change log."""
    await session.connection(execution_options=WRITE)
    if postgres:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})


async def max_seq(sessions: async_sessionmaker[Any], model: Any) -> int:
    async with sessions() as session:
        value = await session.scalar(select(func.max(model.seq)))
    return int(value or 0)


async def changes_since(
    sessions: async_sessionmaker[Any], model: Any, seq: int, limit: int, origin: str = ""
) -> list[Any]:
    """Rows after `seq` in order, at most `limit`; only `origin`'s if given."""
    stmt = select(model).where(model.seq > seq)
    if origin:
        stmt = stmt.where(model.origin == origin)
    stmt = stmt.order_by(model.seq).limit(limit)
    async with sessions() as session:
        return list((await session.scalars(stmt)).all())

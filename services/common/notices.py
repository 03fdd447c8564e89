"""Notices: what happened in a service that people may be told about, in commit order.

A service that has news for people (the requests service: every event of a request's
chain, its own or a peer's; the events service: a registrant moved up from a waitlist)
keeps a notices table (`NoticeColumns`), appends to it with `append_notices` in the same
transaction as the change, and serves `justnet.common.v1.NoticeFeed` with
`NoticeFeedServicer`. The gateway's notifier (gateway/notify/) follows each feed with a
durable cursor: it reads only the notices after the last one it handled, never the
services' tables.

Commit order: on PostgreSQL a transaction-scoped advisory lock (the service's own key) is
taken just before the notice is numbered and held to the commit, so seq N+1 never commits
before seq N and a reader that passed N never later finds a smaller seq (SQLite has one
writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

from justnet.common.v1 import notices_pb2, notices_pb2_grpc
from sqlalchemy import DateTime, Integer, String, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import session_factory
from services.common.errors import PermissionDenied
from services.common.identity import current_caller
from services.common.replication.columns import SeqType
from services.common.timeutil import to_timestamp

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class NoticeColumns:
    """One notice; which columns a kind fills is said in notices.proto (`Notice`)."""

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(36))
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    about_id: Mapped[str] = mapped_column(String(36), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def append_notices(session: AsyncSession, rows: Sequence[Any], lock_key: int) -> None:
    """Adds notice rows to the session's transaction, numbered in commit order."""
    if not rows:
        return
    await session.flush()  # the change's own statements first: the lock is held briefly
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
    session.add_all(rows)


class NoticeFeedServicer(notices_pb2_grpc.NoticeFeedServicer):
    def __init__(self, engine: AsyncEngine, model: type[NoticeColumns], network: str) -> None:
        self.sessions = session_factory(engine)
        self.model = model
        self.network = network

    async def ListNotices(
        self, request: notices_pb2.ListNoticesRequest, context: Ctx
    ) -> notices_pb2.ListNoticesResponse:
        caller = current_caller()
        if not (caller.at_least("admin") and caller.network == self.network):
            raise PermissionDenied("only this node's services may read its notices")
        limit = min(max(request.limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
        model: Any = self.model
        stmt = select(model).where(model.seq > request.since_seq).order_by(model.seq).limit(limit)
        async with self.sessions() as session:
            rows = (await session.scalars(stmt)).all()
        return notices_pb2.ListNoticesResponse(notices=[_notice(r) for r in rows])


def _notice(row: Any) -> notices_pb2.Notice:
    return notices_pb2.Notice(
        seq=row.seq,
        kind=row.kind,
        record_id=row.record_id,
        event_seq=row.event_seq,
        status=row.status,
        subject=row.subject,
        about_id=row.about_id,
        title=row.title,
        at=to_timestamp(row.at),
    )

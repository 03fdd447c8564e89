"""Handing messages to federation through a durable outbox: one way for every service.

A service that must tell a peer node something writes the message into its own outbox
table in the same transaction as the change it reports, so a crash, a federation outage or
a timeout can neither lose the message nor leave a change without it (nor a message
without its change). A `Handoff` loop hands due rows to FederationService.Send, oldest
first (all that are due in one SendBatch, one at a time if federation does not take the
batch), and retries with backoff while federation is down; Send is idempotent by message
id, so a repeat after a lost answer is one message. Federation then keeps its own durable
queue per peer (signed receipts; messages with the same ordering key, which the service's
`ordering_key(row)` gives, e.g. the request id, are delivered in order, different keys side
by side) and reports the outcome to the service's Mailbox.Settled.

Each row keeps the W3C trace context of the call that wrote it, and its Send runs in that
context, so the delivery, and the peer's handling of it, join the trace of the change.

A service declares its table with the columns here (`HandoffColumns`, plus any of its
own) and builds a `Handoff` with hooks for what it does once a row is handed over or
refused for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from services.common.backoff import backoff_seconds
from services.common.db import WRITE, session_factory
from services.common.loops import background, cancel, stop_if_cancelled
from services.common.timeutil import as_utc, utcnow
from services.common.waiting import wait_event

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0
IDLE_SECONDS = 1.0
SEND_TIMEOUT = 5.0
BATCH = 50
BATCH_HELD = 1000  # rows waiting for a retry whose keys hold back the rest (bounded read)


class HandoffColumns:
    """The columns every outbox has (a declarative mixin)."""

    message_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    destination: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # W3C traceparent of the call that wrote the row: its Send continues that trace.
    traceparent: Mapped[str] = mapped_column(String(128), default="", server_default="")
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def handoff_values(
    message_id: str, destination: str, kind: str, payload: bytes, now: datetime
) -> dict[str, Any]:
    """A new row's columns, with the trace context of the current call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {
        "message_id": message_id,
        "destination": destination,
        "kind": kind,
        "payload": payload,
        "traceparent": carrier.get("traceparent", "")[:128],
        "handed_over": False,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


Row = TypeVar("Row", bound=HandoffColumns)
Handed = Callable[[Any, exchange_pb2.Delivery], Awaitable[None]]
Refused = Callable[[Any, str], Awaitable[None]]


async def _nothing(*_: Any) -> None:
    return None


def _one_order(_: Any) -> str:
    return ""  # every message to a peer in the order handed over


class Handoff(Generic[Row]):
    """The loop that hands one service's outbox rows to federation.

    `on_handed(row, delivery)` runs after federation took a row (the delivery may already
    be settled when the row was a repeat); `on_refused(row, reason)` when federation will
    never take it (INVALID_ARGUMENT: e.g. the destination is no longer a peer). Whether a
    failure is retried is decided by its status code, never by its message.
    `ordering_key(row)`: messages with the same key reach the peer in the order handed
    over; by default all of a service's messages to a peer share one key.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        row_type: type[Row],
        federation: federation_pb2_grpc.FederationServiceStub,
        metadata: tuple[tuple[str, str], ...],
        *,
        on_handed: Handed = _nothing,
        on_refused: Refused = _nothing,
        ordering_key: Callable[[Any], str] = _one_order,
    ) -> None:
        self.sessions = session_factory(engine)
        self.row_type: Any = row_type
        self.federation = federation
        self.metadata = metadata
        self.on_handed = on_handed
        self.on_refused = on_refused
        self.ordering_key = ordering_key
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """A row was written: hand it over now rather than at the next poll."""
        self.changed.set()

    def start(self) -> None:
        # A fresh context: each Send joins the trace stored in its row, not the starter's.
        self._task = background(self.run(), f"handoff-{self.row_type.__tablename__}")

    async def stop(self) -> None:
        await cancel(self._task)

    async def run(self) -> None:
        while True:
            try:
                await self.once()
                await self._wait()
            except Exception:  # the database is busy or gone: try again shortly
                stop_if_cancelled()
                log.exception("%s: hand-off failed", self.row_type.__tablename__)
                await asyncio.sleep(IDLE_SECONDS)

    async def _wait(self) -> None:
        timeout = IDLE_SECONDS
        due = await self._next_due()
        if due is not None:
            timeout = min(max((as_utc(due) - utcnow()).total_seconds(), 0.0), IDLE_SECONDS)
        await wait_event(self.changed, timeout)
        self.changed.clear()

    async def once(self) -> int:
        """Hands every due row over, oldest first; returns how many federation took."""
        rows = await self._due(utcnow())
        if len(rows) > 1 and await self._send_batch(rows):
            return len(rows)
        # One at a time: a single row, or a batch federation did not take (the one it
        # refuses is found and the others still go; a federation that is down fails each).
        # A row left for later holds back the later rows of its ordering key, so
        # federation queues each key's messages in the order they were written.
        handed = 0
        held: set[tuple[str, str]] = set()
        for row in rows:
            key = (row.destination, self.ordering_key(row))
            if key in held:
                continue
            taken = await self._send(row)
            if taken is None:
                held.add(key)
            handed += taken is True
        return handed

    async def _send_batch(self, rows: list[Row]) -> bool:
        """All due rows in one SendBatch, marked handed over in one transaction."""
        try:
            reply = await self.federation.SendBatch(
                federation_pb2.SendBatchRequest(messages=[self._request(row) for row in rows]),
                metadata=self.metadata,
                timeout=SEND_TIMEOUT,
            )
        except grpc.aio.AioRpcError as exc:
            log.info("%s: batch not taken (%s)", self.row_type.__tablename__, exc.code().name)
            return False
        table = self.row_type
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(table)
                .where(table.message_id.in_([row.message_id for row in rows]))
                .values(handed_over=True, attempts=table.attempts + 1, last_error="")
            )
        for row, delivery in zip(rows, reply.deliveries, strict=True):
            await self.on_handed(row, delivery)
        return True

    def _request(self, row: Row) -> federation_pb2.SendRequest:
        return federation_pb2.SendRequest(
            destination=row.destination,
            message_id=row.message_id,
            kind=row.kind,
            payload=row.payload,
            ordering_key=self.ordering_key(row),
            traceparent=row.traceparent,
        )

    async def _send(self, row: Row) -> bool | None:
        """True: federation took the row; False: it never will; None: try again later."""
        parent = propagate.extract({"traceparent": row.traceparent} if row.traceparent else {})
        token = otel_context.attach(parent)
        try:
            delivery = await self.federation.Send(
                self._request(row),
                metadata=self.metadata,
                timeout=SEND_TIMEOUT,
            )
        except grpc.aio.AioRpcError as exc:
            attempts = row.attempts + 1
            detail = (exc.details() or exc.code().name)[:500]
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                await self._update(row, handed_over=True, attempts=attempts, last_error=detail)
                await self.on_refused(row, detail)
                return False
            backoff = backoff_seconds(attempts, cap=MAX_BACKOFF_SECONDS)
            await self._update(
                row,
                attempts=attempts,
                last_error=f"federation: {exc.code().name} {detail}"[:500],
                next_attempt_at=utcnow() + timedelta(seconds=backoff),
            )
            return None
        finally:
            otel_context.detach(token)
        await self._update(row, handed_over=True, attempts=row.attempts + 1, last_error="")
        await self.on_handed(row, delivery)
        return True

    async def _due(self, now: datetime) -> list[Row]:
        """Due rows, oldest first, but none behind a row of its ordering key that waits
        for a retry (so each key's messages reach federation in the order written)."""
        table = self.row_type
        waiting = table.handed_over.is_(False)
        async with self.sessions() as session:
            due = await session.scalars(
                select(table)
                .where(waiting, table.next_attempt_at <= now)
                .order_by(table.created_at, table.message_id)
                .limit(BATCH)
            )
            retrying = await session.scalars(
                select(table).where(waiting, table.next_attempt_at > now).limit(BATCH_HELD)
            )
            held = {(r.destination, self.ordering_key(r)) for r in retrying.all()}
            return [r for r in due.all() if (r.destination, self.ordering_key(r)) not in held]

    async def _next_due(self) -> datetime | None:
        table = self.row_type
        stmt = (
            select(table.next_attempt_at)
            .where(table.handed_over.is_(False))
            .order_by(table.next_attempt_at)
            .limit(1)
        )
        async with self.sessions() as session:
            due: datetime | None = await session.scalar(stmt)
            return due

    async def _update(self, row: Row, **values: Any) -> None:
        table = self.row_type
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(table).where(table.message_id == row.message_id).values(**values)
            )

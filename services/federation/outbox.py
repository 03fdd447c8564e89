"""The durable outbox of messages to peers, and the inbox of messages from them.

A message is stored before `Send` returns, so a crash or a dead peer loses nothing.
Each peer's queue is delivered oldest first per ordering key: only the oldest pending
message of a key may be in flight (`ready`), so one key's messages never overtake each
other while different keys go side by side. Outcomes of several deliveries are written in
one transaction (`record`). The inbox keeps
the receipt this node signed for each message it handled, so a redelivery is answered
with the same receipt and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from justnet.common.v1 import exchange_pb2
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.db import WRITE, session_factory
from services.common.errors import AlreadyExists, NotFound
from services.common.timeutil import to_timestamp, utcnow
from services.common.validation import Validator
from services.federation.models import InboxRow, OutboxRow

MAX_PAYLOAD = 256 * 1024
MESSAGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
KIND = re.compile(r"^[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_.]{0,30}$")
MAX_ORDERING_KEY = 120
FINAL = ("delivered", "refused", "failed")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_send(
    destination: str,
    message_id: str,
    kind: str,
    payload: bytes,
    ordering_key: str = "",
    prefix: str = "",
) -> str:
    """Validates a Send request; returns the destination network code. `prefix` names
    the message in a batch (`messages[3].`)."""
    v = Validator(prefix)
    if len(ordering_key) > MAX_ORDERING_KEY:
        v.fail("ordering_key", f"must be at most {MAX_ORDERING_KEY} characters")
    network = destination.strip().upper()
    if not network:
        v.fail("destination", "is required")
    if not MESSAGE_ID.match(message_id):
        v.fail("message_id", "must be 1-100 characters of letters, digits and . _ : -")
    if not KIND.match(kind):
        v.fail("kind", "must look like '<service>.<what>', e.g. 'requests.event'")
    if len(payload) > MAX_PAYLOAD:
        v.fail("payload", f"must be at most {MAX_PAYLOAD} bytes")
    v.raise_if_errors()
    return network


def delivery_message(row: OutboxRow) -> exchange_pb2.Delivery:
    out = exchange_pb2.Delivery(
        message_id=row.message_id,
        destination=row.destination,
        kind=row.kind,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=to_timestamp(row.next_attempt_at) if row.state == "pending" else None,
        created_at=to_timestamp(row.created_at),
        settled_at=to_timestamp(row.settled_at),
    )
    if row.receipt:
        receipt = exchange_pb2.SignedReceipt.FromString(row.receipt)
        out.receipt.CopyFrom(receipt)
        # Only receipts that verified are ever stored (see Courier._deliver).
        out.receipt_body.ParseFromString(receipt.body)
        out.receipt_verified = True
    return out


@dataclass(frozen=True)
class QueueDepth:
    destination: str
    pending: int


@dataclass(frozen=True)
class Queued:
    """A message to store in the outbox (Send)."""

    destination: str
    message_id: str
    kind: str
    payload: bytes
    traceparent: str
    ordering_key: str = ""


@dataclass(frozen=True)
class Attempt:
    """The outcome of one delivery attempt: settled (`delivered`, `refused`, with the
    verified receipt) or `pending` again after `delay` seconds."""

    seq: int
    state: str
    receipt: bytes | None = None
    error: str = ""
    delay: float = 0.0


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def enqueue(
        self,
        destination: str,
        message_id: str,
        kind: str,
        payload: bytes,
        traceparent: str,
        ordering_key: str = "",
    ) -> tuple[OutboxRow, bool]:
        """Stores the message; returns (row, created). The same id with the same bytes
        is the same message (the sender retried Send); with other bytes it is refused."""
        queued = Queued(destination, message_id, kind, payload, traceparent, ordering_key)
        [stored] = await self.enqueue_many([queued])
        return stored

    async def enqueue_many(self, messages: Sequence[Queued]) -> list[tuple[OutboxRow, bool]]:
        """`enqueue` for several messages in one transaction, queued in the order given;
        all or nothing (a reused id with other bytes refuses them all)."""
        now = utcnow()
        try:
            async with self.sessions.begin() as session:
                await session.connection(execution_options=WRITE)
                return [await self._enqueue(session, m, now) for m in messages]
        except IntegrityError:
            # Two Sends of one id raced; the loser reads the winner's row.
            return await self.enqueue_many(messages)

    @staticmethod
    async def _enqueue(session: AsyncSession, m: Queued, now: datetime) -> tuple[OutboxRow, bool]:
        digest = sha256_hex(m.payload)
        existing = await session.scalar(
            select(OutboxRow).where(OutboxRow.message_id == m.message_id)
        )
        if existing is not None:
            if (existing.payload_sha256, existing.destination, existing.kind) != (
                digest,
                m.destination,
                m.kind,
            ):
                raise AlreadyExists(
                    f"message_id {m.message_id} was already sent with other content"
                )
            return existing, False
        row = OutboxRow(
            message_id=m.message_id,
            destination=m.destination,
            kind=m.kind,
            ordering_key=m.ordering_key,
            payload=m.payload,
            payload_sha256=digest,
            state="pending",
            attempts=0,
            last_error="",
            created_at=now,
            next_attempt_at=now,
            notified=False,
            traceparent=m.traceparent[:128],
        )
        session.add(row)
        return row, True

    async def get(self, message_id: str) -> OutboxRow:
        async with self.sessions() as session:
            row: OutboxRow | None = await session.scalar(
                select(OutboxRow).where(OutboxRow.message_id == message_id)
            )
        if row is None:
            raise NotFound(f"no message {message_id[:100]}")
        return row

    async def ready(
        self, destination: str, busy: Collection[str], limit: int
    ) -> tuple[list[OutboxRow], datetime | None]:
        """Up to `limit` messages for a peer that may go now, oldest first: each the oldest
        pending message of its ordering key, due, and of a key not in `busy` (in flight).
        Also returns when the next of the other keys' oldest messages falls due (None:
        none waits), so the courier sleeps until then."""
        heads = (
            select(func.min(OutboxRow.seq))
            .where(OutboxRow.destination == destination, OutboxRow.state == "pending")
            .group_by(OutboxRow.ordering_key)
        )
        free = [OutboxRow.seq.in_(heads)]
        if busy:
            free.append(OutboxRow.ordering_key.not_in(list(busy)))
        now = utcnow()
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(*free, OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.seq)
                .limit(limit)
            )
            due = list(rows.all())
            later: datetime | None = await session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    *free, OutboxRow.next_attempt_at > now
                )
            )
        return due, later

    async def record(self, attempts: Sequence[Attempt]) -> None:
        """Writes the outcomes of several delivery attempts in one transaction."""
        now = utcnow()
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            for a in attempts:
                values: dict[str, object] = {
                    "attempts": OutboxRow.attempts + 1,
                    "last_error": a.error[:1000],
                }
                if a.state == "pending":
                    values["next_attempt_at"] = now + timedelta(seconds=a.delay)
                else:
                    # Settled: its bytes are the sender's and the receiver's now (a
                    # confidential document's chunk must not stay here in clear).
                    values.update(state=a.state, receipt=a.receipt, settled_at=now, payload=b"")
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.seq == a.seq, OutboxRow.state == "pending")
                    .values(**values)
                )

    async def fail_undeliverable(self, destinations: set[str], reason: str) -> int:
        """Gives up on pending messages to networks that are no longer peers."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            query = update(OutboxRow).where(OutboxRow.state == "pending")
            if destinations:
                query = query.where(OutboxRow.destination.not_in(destinations))
            result = await session.execute(
                query.values(state="failed", payload=b"", settled_at=utcnow(), last_error=reason)
            )
        return int(result.rowcount or 0)

    async def expire(self, older_than: datetime) -> int:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.state == "pending", OutboxRow.created_at < older_than)
                .values(
                    state="failed",
                    payload=b"",
                    settled_at=utcnow(),
                    last_error="not delivered before the delivery deadline",
                )
            )
        return int(result.rowcount or 0)

    async def unnotified(self, limit: int = 100) -> list[OutboxRow]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.notified.is_(False), OutboxRow.state.in_(FINAL))
                .order_by(OutboxRow.seq)
                .limit(limit)
            )
            return list(rows.all())

    async def mark_notified(self, seqs: Collection[int]) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(OutboxRow).where(OutboxRow.seq.in_(list(seqs))).values(notified=True)
            )

    async def depths(self) -> list[QueueDepth]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(OutboxRow.destination, func.count())
                .where(OutboxRow.state == "pending")
                .group_by(OutboxRow.destination)
            )
            return [QueueDepth(d, int(n)) for d, n in rows]


class Inbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def find(self, origin: str, message_id: str) -> InboxRow | None:
        async with self.sessions() as session:
            row: InboxRow | None = await session.get(InboxRow, (origin, message_id))
            return row

    async def store(
        self, origin: str, message_id: str, kind: str, digest: str, receipt: bytes
    ) -> InboxRow:
        """Keeps the receipt; if a concurrent delivery of the same message stored one
        first, that one wins and is returned."""
        row = InboxRow(
            origin=origin,
            message_id=message_id,
            kind=kind,
            payload_sha256=digest,
            receipt=receipt,
            received_at=utcnow(),
        )
        try:
            async with self.sessions.begin() as session:
                await session.connection(execution_options=WRITE)
                session.add(row)
            return row
        except IntegrityError:
            existing = await self.find(origin, message_id)
            if existing is None:
                raise
            return existing

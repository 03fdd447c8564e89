"""ReplicaFeedServicer: `justnet.common.v1.ReplicaFeed` for any ReplicaStore.

What the node's federation service calls on each replicated service (only it: the caller
must be this node's admin or one of its services):

- `WatchChanges` / `WatchChangeBatches`: the change log after `since_seq`, replayed, then
  tailed when `follow` (woken at once by a write in this process through `Changes`; one
  poll of the log's last seq for all streams, every 0.2 s while any follows, wakes them
  for writes of other processes); one change per message, or up to 500
  (about 1 MiB of payload) per message. Streams woken by the same write at the same
  position share one read of the log (federation follows it once per peer);
- `ApplyReplicaBatch`: checks every record's envelope (origin, kind, id, version) and
  payload (the kind's message, whose meta must match the envelope, checked by the kind's
  `parse`), names every fault `records[i].field`, then applies the batch with the cursor
  in one transaction (ReplicaStore.apply_replica_batch);
- `GetReplicationCursor`, `DropReplicas`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc

from services.common.errors import FieldError, InvalidInput, PermissionDenied
from services.common.identity import current_caller
from services.common.ids import is_id
from services.common.loops import background, stop_if_cancelled
from services.common.replication.store import Committed, Replica, ReplicaStore
from services.common.timeutil import as_utc, from_timestamp, to_timestamp, utcnow
from services.common.validation import Validator

log = logging.getLogger(__name__)
Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints
FEED_BATCH = 500  # change rows read (and sent in one WatchChangeBatches message) at most
BATCH_BYTES = 1024 * 1024  # payload bytes per WatchChangeBatches message, about
# Called after replicas were applied or dropped, with the change rows the batch wrote
# (empty when the store did not collect them): e.g. to update an index of the records.
Applied = Callable[[list[Committed]], Awaitable[None]]
# A read of the change log under way: the generation it started at, and its answer.
_Read: TypeAlias = tuple[int, "asyncio.Future[list[exchange_pb2.FeedChange]]"]


class Changes:
    """Wakes change-feed streams at once after a write in this process.

    `notify()` after a write of this node's own records wakes every stream;
    `notify(local=False)` after replicas were applied or dropped wakes only the streams
    that follow every origin (a write of replicas adds no change of this node's own, so
    federation's streams of local changes have nothing to read). `generation` counts the
    notifications: a read started at generation g sees every write notified before it.
    """

    def __init__(self) -> None:
        self._any = asyncio.Event()
        self._local = asyncio.Event()
        self.generation = 0

    def notify(self, local: bool = True) -> None:
        self.generation += 1
        self._any.set()
        self._any = asyncio.Event()
        if local:
            self._local.set()
            self._local = asyncio.Event()

    @property
    def current(self) -> asyncio.Event:
        return self._any

    def waiter(self, local_only: bool) -> asyncio.Event:
        """The event the next relevant write sets (take it before reading)."""
        return self._local if local_only else self._any


def change_message(row: Any) -> exchange_pb2.FeedChange:
    return exchange_pb2.FeedChange(
        seq=row.seq,
        kind=row.kind,
        record_id=row.record_id,
        origin=row.origin,
        version=row.version,
        deleted=row.deleted,
        visibility=row.visibility,
        at=to_timestamp(row.at),
        payload=row.payload,
    )


class ReplicaFeedServicer(exchange_pb2_grpc.ReplicaFeedServicer):
    def __init__(
        self,
        store: ReplicaStore,
        changes: Changes,
        *,
        on_applied: Applied | None = None,
        poll_seconds: float = 0.2,
    ) -> None:
        self.store = store
        self.network = store.local_network
        self.changes = changes
        self.on_applied = on_applied
        self.poll_seconds = poll_seconds
        # (seq, origin) -> (generation it started at, the read): see _read
        self._followers = 0  # streams following the log
        self._poller: asyncio.Task[None] | None = None
        self._polled = -1  # the last seq the poll saw (none yet: its first look wakes)
        self._looking = False  # the poll is reading the last seq now
        self._reads: dict[tuple[int, str], _Read] = {}

    def _require_node(self) -> None:
        caller = current_caller()
        if not (caller.at_least("admin") and caller.network == self.network):
            raise PermissionDenied("only this node's administrators and services may do this")

    # ------------------------------------------------------------ the change log

    async def WatchChanges(
        self, request: exchange_pb2.FeedWatchRequest, context: Ctx
    ) -> AsyncIterator[exchange_pb2.FeedChange]:
        async for changes in self._replay_then_tail(request):
            for change in changes:
                yield change

    async def WatchChangeBatches(
        self, request: exchange_pb2.FeedWatchRequest, context: Ctx
    ) -> AsyncIterator[exchange_pb2.FeedChangeBatch]:
        async for changes in self._replay_then_tail(request):
            # Split by size: a message stays far below gRPC's 4 MiB default limit.
            start, size = 0, 0
            for i, change in enumerate(changes):
                if size and size + len(change.payload) > BATCH_BYTES:
                    yield exchange_pb2.FeedChangeBatch(changes=changes[start:i])
                    start, size = i, 0
                size += len(change.payload) + 100
            yield exchange_pb2.FeedChangeBatch(changes=changes[start:])

    async def _replay_then_tail(
        self, request: exchange_pb2.FeedWatchRequest
    ) -> AsyncIterator[list[exchange_pb2.FeedChange]]:
        """Lists of consecutive changes after since_seq; then, with `follow`, new ones."""
        self._require_node()
        seq = max(request.since_seq, 0)
        origin = self.network if request.local_only else ""
        if request.follow:
            self._follow()
        try:
            while True:
                changed = self.changes.waiter(request.local_only)
                changes = await self._read(seq, origin, self.changes.generation)
                if changes:
                    seq = changes[-1].seq
                    yield changes
                if len(changes) == FEED_BATCH:
                    continue
                if not request.follow:
                    return
                # Woken at once by a write in this process, and by the poll of the log
                # when another process wrote to it.
                await changed.wait()
        finally:
            if request.follow:
                self._unfollow()

    # ------------------------------------------------------------ other processes' writes

    def _follow(self) -> None:
        self._followers += 1
        if self._poller is None:
            self._poller = background(self._poll_log(), "change-log-poll")

    def _unfollow(self) -> None:
        self._followers -= 1
        if not self._followers and self._poller is not None and not self._looking:
            # Asleep: nothing to interrupt. A look under way is not cancelled (a query
            # cancelled halfway can leave its connection's clean-up waiting on a database
            # that is being closed); the poll ends by itself after it.
            self._poller.cancel()
            self._poller = None

    async def _poll_log(self) -> None:
        """While anyone follows the log: every poll_seconds, one look at its last seq (not
        one read per stream); anything new that no notification announced (another
        process wrote it: the CLI, another replica of the service) wakes the streams."""
        try:
            while self._followers:
                await asyncio.sleep(self.poll_seconds)
                if not self._followers:
                    return
                self._looking = True
                try:
                    seq = await self.store.max_seq()
                except Exception:
                    stop_if_cancelled()
                    log.exception("could not read the change log's last seq")
                    continue
                finally:
                    self._looking = False
                if seq > self._polled:
                    self._polled = seq
                    self.changes.notify()
        finally:
            if self._poller is asyncio.current_task():
                self._poller = None

    async def _read(self, seq: int, origin: str, generation: int) -> list[exchange_pb2.FeedChange]:
        """The changes after `seq` (only `origin`'s if given), at most FEED_BATCH.

        Streams woken by the same write at the same position (federation follows the
        log once per peer) share one read: a read already under way is joined if it
        started at or after `generation`, so it sees every write the caller was woken
        for; otherwise a new one starts. The messages are shared, read-only."""
        key = (seq, origin)
        running = self._reads.get(key)
        if running is None or running[0] < generation:
            running = (self.changes.generation, asyncio.ensure_future(self._load(seq, origin)))
            self._reads[key] = running
            running[1].add_done_callback(functools.partial(self._forget, key, running))
        # shield: a stream that stops must not cancel the read others wait for
        return await asyncio.shield(running[1])

    def _forget(self, key: tuple[int, str], read: _Read, done: asyncio.Future[Any]) -> None:
        if self._reads.get(key) is read:
            del self._reads[key]
        if not done.cancelled():
            done.exception()  # retrieved: whoever joined the read has it raised

    async def _load(self, seq: int, origin: str) -> list[exchange_pb2.FeedChange]:
        rows = await self.store.changes_since(seq, FEED_BATCH, origin)
        return [change_message(row) for row in rows]

    # ------------------------------------------------------------ replicas

    async def ApplyReplicaBatch(
        self, request: exchange_pb2.FeedApplyBatchRequest, context: Ctx
    ) -> exchange_pb2.FeedApplyBatchResponse:
        """All records of the batch and the new cursor in one transaction, or nothing."""
        self._require_node()
        origin = request.origin.strip().upper()
        errors: list[FieldError] = []
        if not origin or origin == self.network:
            errors.append(FieldError("origin", "must name a peer network"))
        if request.cursor < 0:
            errors.append(FieldError("cursor", "must not be negative"))
        replicas: list[Replica] = []
        for i, record in enumerate(request.records):
            v = Validator(f"records[{i}].", from_peer=True)
            replica = self.replica(record, origin, v)
            errors.extend(v.errors)
            if replica is not None:
                replicas.append(replica)
        if errors:
            raise InvalidInput(errors)
        last_change = max(
            (from_timestamp(r.synced_at) for r in request.records if r.HasField("synced_at")),
            default=None,
        )
        committed: list[Committed] = []
        applied, ignored, cursor = await self.store.apply_replica_batch(
            origin, replicas, request.cursor, utcnow(), last_change, committed
        )
        if applied:
            await self._applied(committed)
        return exchange_pb2.FeedApplyBatchResponse(applied=applied, ignored=ignored, cursor=cursor)

    def replica(
        self, record: exchange_pb2.FeedReplica, origin: str, v: Validator
    ) -> Replica | None:
        """One record of a batch from `origin`, checked; None when it has errors (in v)."""
        if record.origin.strip().upper() != origin:
            v.fail("origin", f"must be {origin}, the batch's origin")
        kind_name = v.choice("kind", record.kind, tuple(self.store.kinds), strict=True)
        if not is_id(record.record_id):
            v.fail("record_id", f"{record.record_id[:60]!r} is not a UUID")
        if record.version < 1:
            v.fail("version", "must be at least 1")
        if v.errors:
            return None
        values: dict[str, Any] | None = None
        stamps: dict[str, datetime] = {}
        if not record.deleted:
            kind = self.store.kinds[kind_name]
            msg: Any = kind.message()
            try:
                msg.ParseFromString(record.payload)
            except Exception:
                v.fail("payload", f"not a serialized {kind_name}")
                return None
            meta = msg.meta  # every replicated record's message has one
            if meta.id != record.record_id or meta.origin.upper() != origin:
                v.fail("payload", "meta.id and meta.origin must match the envelope")
                return None
            values = kind.parse(msg, v)
            now = utcnow()
            for name in ("created_at", "updated_at", "last_verified_at"):
                stamps[name] = from_timestamp(getattr(meta, name)) if meta.HasField(name) else now
        if v.errors:
            return None
        return Replica(
            kind_name, record.record_id, origin, record.version, values, record.verified, stamps
        )

    async def GetReplicationCursor(
        self, request: exchange_pb2.FeedCursorRequest, context: Ctx
    ) -> exchange_pb2.FeedCursor:
        self._require_node()
        origin = request.origin.strip().upper()
        row, records = await self.store.replication_cursor(origin)
        out = exchange_pb2.FeedCursor(origin=origin, records=records)
        if row is not None:
            out.cursor = row.cursor
            out.updated_at.FromDatetime(as_utc(row.updated_at))
            if row.last_change_at is not None:
                out.last_change_at.FromDatetime(as_utc(row.last_change_at))
        return out

    async def DropReplicas(
        self, request: exchange_pb2.FeedDropRequest, context: Ctx
    ) -> exchange_pb2.FeedDropResponse:
        self._require_node()
        removed = await self.store.drop_replicas(request.origin.strip().upper())
        if removed:
            await self._applied([])
        return exchange_pb2.FeedDropResponse(removed=removed)

    async def _applied(self, committed: list[Committed]) -> None:
        if self.on_applied is not None:
            await self.on_applied(committed)
        # Replicas only: federation's streams of this node's own changes stay asleep.
        self.changes.notify(local=False)

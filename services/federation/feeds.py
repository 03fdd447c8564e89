"""The record feeds a node replicates: the directory's and the events service's.

Every replicated service serves the same contract, `justnet.common.v1.ReplicaFeed`
(services/common/replication): a change stream that replays then tails, batches of
replicas applied with the origin's cursor in one transaction, the cursor, and dropping
an origin's replicas. `FeedClient` is that contract seen from federation: one per feed,
on a channel to the service that keeps it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc

from services.common.identity import Caller
from services.common.waiting import serving


class ChangeStream:
    """Lists of consecutive changes (ascending seq) from a WatchChangeBatches call;
    cancel() it when done."""

    def __init__(self, call: Any) -> None:
        self.call = call

    async def __aiter__(self) -> AsyncIterator[list[exchange_pb2.FeedChange]]:
        async for message in self.call:
            yield list(message.changes)

    def cancel(self) -> None:
        self.call.cancel()


class Feed(Protocol):
    name: str
    kinds: tuple[str, ...]

    async def ready(self, seconds: float) -> bool:
        """Waits until the service serving this feed on this node is up (a node's
        processes start together), at most `seconds`."""

    def watch_batches(self, since: int) -> ChangeStream:
        """The changes after `since` of the records this node owns, then live ones."""

    async def cursor(self, origin: str) -> tuple[int, int]:
        """(cursor, replicas held) for an origin."""

    async def apply(self, origin: str, records: list[exchange_pb2.FeedReplica], cursor: int) -> int:
        """Applies a batch with the new cursor; returns the stored cursor."""

    async def drop(self, origin: str) -> int: ...


class FeedClient:
    """One replicated service's ReplicaFeed, called as this node's federation service."""

    def __init__(
        self, name: str, kinds: tuple[str, ...], network: str, channel: grpc.aio.Channel
    ) -> None:
        self.name = name
        self.kinds = kinds
        self.channel = channel
        self.stub = exchange_pb2_grpc.ReplicaFeedStub(channel)
        self.admin = Caller.node_service("federation", network).metadata()

    async def ready(self, seconds: float) -> bool:
        return await serving(self.channel, seconds)

    def watch_batches(self, since: int) -> ChangeStream:
        call = self.stub.WatchChangeBatches(
            exchange_pb2.FeedWatchRequest(since_seq=since, follow=True, local_only=True),
            metadata=self.admin,
            timeout=None,
        )
        return ChangeStream(call)

    async def cursor(self, origin: str) -> tuple[int, int]:
        c = await self.stub.GetReplicationCursor(
            exchange_pb2.FeedCursorRequest(origin=origin), metadata=self.admin, timeout=5.0
        )
        return int(c.cursor), int(c.records)

    async def apply(self, origin: str, records: list[exchange_pb2.FeedReplica], cursor: int) -> int:
        result = await self.stub.ApplyReplicaBatch(
            exchange_pb2.FeedApplyBatchRequest(origin=origin, cursor=cursor, records=records),
            metadata=self.admin,
            timeout=30.0,
        )
        return int(result.cursor)

    async def drop(self, origin: str) -> int:
        reply = await self.stub.DropReplicas(
            exchange_pb2.FeedDropRequest(origin=origin), metadata=self.admin, timeout=30.0
        )
        return int(reply.removed)

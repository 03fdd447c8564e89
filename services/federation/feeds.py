"""The record feeds a node replicates: the directory's and the events service's.

Both speak the same shape (a change stream that replays then tails, batches applied
with the origin's cursor in one transaction), the directory through its own API and
other services through `justnet.common.v1.ReplicaFeed`; this module hides which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from justnet.common.v1 import exchange_pb2 as xpb
from justnet.common.v1 import exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2 as dpb
from justnet.directory.v1 import directory_pb2_grpc

from services.common.identity import Caller
from services.common.waiting import serving
from services.federation.policy import DIRECTORY_KINDS


@dataclass(frozen=True)
class Replica:
    kind: str
    record_id: str
    version: int
    deleted: bool
    payload: bytes
    synced_at: Timestamp


class Feed(Protocol):
    name: str
    kinds: tuple[str, ...]

    async def ready(self, seconds: float) -> bool:
        """Waits until the service serving this feed on this node is up (a node's
        processes start together), at most `seconds`."""

    def watch(self, since: int) -> Any:
        """A server stream of changes (fields: seq, kind, record_id, origin, version,
        deleted, visibility, at, payload) this node owns; cancel() it when done."""

    def watch_batches(self, since: int) -> ChangeStream:
        """The same changes, as lists of consecutive ones (fewer messages)."""

    async def cursor(self, origin: str) -> tuple[int, int]:
        """(cursor, replicas held) for an origin."""

    async def apply(self, origin: str, records: list[Replica], cursor: int) -> int:
        """Applies a batch with the new cursor; returns the stored cursor."""

    async def drop(self, origin: str) -> int: ...


class ChangeStream:
    """Lists of changes from a WatchChangeBatches call, or one-element lists from a
    WatchChanges call (feeds without the batched method); cancel() it when done."""

    def __init__(self, call: Any, batched: bool) -> None:
        self.call = call
        self.batched = batched

    async def __aiter__(self) -> AsyncIterator[list[Any]]:
        async for message in self.call:
            yield list(message.changes) if self.batched else [message]

    def cancel(self) -> None:
        self.call.cancel()


@dataclass(frozen=True)
class FeedMessages:
    """The request types of one feed API (the directory's own, or ReplicaFeed's)."""

    watch: Any
    cursor: Any
    batch: Any
    replica: Any
    drop: Any
    batched_watch: bool = False  # the API has WatchChangeBatches


DIRECTORY_MESSAGES = FeedMessages(
    dpb.WatchChangesRequest,
    dpb.GetReplicationCursorRequest,
    dpb.ApplyReplicaBatchRequest,
    dpb.ApplyReplicaRequest,
    dpb.DropReplicasRequest,
    batched_watch=True,
)
REPLICA_FEED_MESSAGES = FeedMessages(
    xpb.FeedWatchRequest,
    xpb.FeedCursorRequest,
    xpb.FeedApplyBatchRequest,
    xpb.FeedReplica,
    xpb.FeedDropRequest,
)


class RpcFeed:
    """A feed served over gRPC; both APIs have the same method names and fields."""

    def __init__(
        self,
        name: str,
        kinds: tuple[str, ...],
        network: str,
        channel: grpc.aio.Channel,
        stub: Any,
        messages: FeedMessages,
    ) -> None:
        self.name = name
        self.kinds = kinds
        self.channel = channel
        self.stub = stub
        self.messages = messages
        self.admin = Caller.node_service("federation", network).metadata()

    async def ready(self, seconds: float) -> bool:
        """Waits until the service serving this feed on this node is up (a node's
        processes start together), at most `seconds`."""
        return await serving(self.channel, seconds)

    def watch(self, since: int) -> Any:
        return self.stub.WatchChanges(
            self.messages.watch(since_seq=since, follow=True, local_only=True),
            metadata=self.admin,
            timeout=None,
        )

    def watch_batches(self, since: int) -> ChangeStream:
        if not self.messages.batched_watch:
            return ChangeStream(self.watch(since), batched=False)
        call = self.stub.WatchChangeBatches(
            self.messages.watch(since_seq=since, follow=True, local_only=True),
            metadata=self.admin,
            timeout=None,
        )
        return ChangeStream(call, batched=True)

    async def cursor(self, origin: str) -> tuple[int, int]:
        c = await self.stub.GetReplicationCursor(
            self.messages.cursor(origin=origin), metadata=self.admin, timeout=5.0
        )
        return int(c.cursor), int(c.records)

    async def apply(self, origin: str, records: list[Replica], cursor: int) -> int:
        replica = self.messages.replica
        result = await self.stub.ApplyReplicaBatch(
            self.messages.batch(
                origin=origin,
                cursor=cursor,
                records=[
                    replica(
                        origin=origin,
                        kind=r.kind,
                        record_id=r.record_id,
                        version=r.version,
                        deleted=r.deleted,
                        payload=r.payload,
                        verified=True,
                        synced_at=r.synced_at,
                    )
                    for r in records
                ],
            ),
            metadata=self.admin,
            timeout=30.0,
        )
        return int(result.cursor)

    async def drop(self, origin: str) -> int:
        reply = await self.stub.DropReplicas(
            self.messages.drop(origin=origin), metadata=self.admin, timeout=30.0
        )
        return int(reply.removed)


def directory_feed(network: str, channel: grpc.aio.Channel) -> RpcFeed:
    stub = directory_pb2_grpc.DirectoryServiceStub(channel)
    return RpcFeed("directory", DIRECTORY_KINDS, network, channel, stub, DIRECTORY_MESSAGES)


def service_feed(
    name: str, kinds: tuple[str, ...], network: str, channel: grpc.aio.Channel
) -> RpcFeed:
    """A service's feed through the common ReplicaFeed contract (the events service)."""
    stub = exchange_pb2_grpc.ReplicaFeedStub(channel)
    return RpcFeed(name, kinds, network, channel, stub, REPLICA_FEED_MESSAGES)

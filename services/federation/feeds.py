"""The record feeds a node replicates: the directory's and the events service's.

Both speak the same shape (a change stream that replays then tails, batches applied
with the origin's cursor in one transaction), the directory through its own API and
other services through `justnet.common.v1.ReplicaFeed`; this module hides which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from justnet.common.v1 import exchange_pb2 as xpb
from justnet.common.v1 import exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2 as dpb
from justnet.directory.v1 import directory_pb2_grpc

from services.common.identity import Caller
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

    def watch(self, since: int) -> Any:
        """A server stream of changes (fields: seq, kind, record_id, origin, version,
        deleted, visibility, at, payload) this node owns; cancel() it when done."""

    async def cursor(self, origin: str) -> tuple[int, int]:
        """(cursor, replicas held) for an origin."""

    async def apply(self, origin: str, records: list[Replica], cursor: int) -> int:
        """Applies a batch with the new cursor; returns the stored cursor."""

    async def drop(self, origin: str) -> int: ...


class DirectoryFeed:
    def __init__(self, network: str, stub: directory_pb2_grpc.DirectoryServiceStub) -> None:
        self.name = "directory"
        self.kinds: tuple[str, ...] = DIRECTORY_KINDS
        self.stub = stub
        self.admin = Caller("admin", network, "federation").metadata()

    def watch(self, since: int) -> Any:
        return self.stub.WatchChanges(
            dpb.WatchChangesRequest(since_seq=since, follow=True, local_only=True),
            metadata=self.admin,
            timeout=None,
        )

    async def cursor(self, origin: str) -> tuple[int, int]:
        c = await self.stub.GetReplicationCursor(
            dpb.GetReplicationCursorRequest(origin=origin), metadata=self.admin, timeout=5.0
        )
        return c.cursor, c.records

    async def apply(self, origin: str, records: list[Replica], cursor: int) -> int:
        result = await self.stub.ApplyReplicaBatch(
            dpb.ApplyReplicaBatchRequest(
                origin=origin,
                cursor=cursor,
                records=[
                    dpb.ApplyReplicaRequest(
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
            dpb.DropReplicasRequest(origin=origin), metadata=self.admin, timeout=30.0
        )
        return int(reply.removed)


class ServiceFeed:
    """A service's feed through the common ReplicaFeed contract (the events service)."""

    def __init__(
        self, name: str, kinds: tuple[str, ...], network: str, channel: grpc.aio.Channel
    ) -> None:
        self.name = name
        self.kinds = kinds
        self.stub = exchange_pb2_grpc.ReplicaFeedStub(channel)
        self.admin = Caller("admin", network, "federation").metadata()

    def watch(self, since: int) -> Any:
        return self.stub.WatchChanges(
            xpb.FeedWatchRequest(since_seq=since, follow=True, local_only=True),
            metadata=self.admin,
            timeout=None,
        )

    async def cursor(self, origin: str) -> tuple[int, int]:
        c = await self.stub.GetReplicationCursor(
            xpb.FeedCursorRequest(origin=origin), metadata=self.admin, timeout=5.0
        )
        return c.cursor, c.records

    async def apply(self, origin: str, records: list[Replica], cursor: int) -> int:
        result = await self.stub.ApplyReplicaBatch(
            xpb.FeedApplyBatchRequest(
                origin=origin,
                cursor=cursor,
                records=[
                    xpb.FeedReplica(
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
            xpb.FeedDropRequest(origin=origin), metadata=self.admin, timeout=30.0
        )
        return int(reply.removed)

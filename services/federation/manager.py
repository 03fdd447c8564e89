"""Keeps one subscription task per peer in step with the peers table.

The table is the source of truth (the CLI and the gateway both write it); the manager
re-reads it every second, starts tasks for new peers, restarts them when a peer's
endpoint, keys, certificate or policy change, and stops them (dropping the peer's
replicas) when a peer is removed. A slow or dead peer only ever blocks its own task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from justnet.directory.v1 import directory_pb2 as dpb
from justnet.directory.v1 import directory_pb2_grpc

from services.common.identity import Caller
from services.common.identity_files import NodeIdentity
from services.federation.metrics import FederationMetrics
from services.federation.peers import Peer, PeerStore
from services.federation.subscriber import PeerLink, Subscriber

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0


class PeerManager:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        store: PeerStore,
        directory: directory_pb2_grpc.DirectoryServiceStub,
        on_peers: Callable[[dict[str, Peer]], Awaitable[None]] | None = None,
        metrics: FederationMetrics | None = None,
    ) -> None:
        self.network = network
        self.on_peers = on_peers
        self.metrics = metrics
        self.identity = identity
        self.store = store
        self.directory = directory
        self.links: dict[str, PeerLink] = {}
        self.peers: dict[str, Peer] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="federation-peers")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *(lk.task for lk in self.links.values())) if t]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:
                log.exception("peer sync failed")
            await asyncio.sleep(SYNC_SECONDS)

    async def sync(self) -> None:
        current = await self.store.peers()
        self.peers = current
        for network in list(self.links):
            if network not in current:
                await self._stop_link(network)
                await self._drop_replicas(network)
        for network, peer in current.items():
            link = self.links.get(network)
            if link is not None and link.peer.identity == peer.identity:
                continue
            if link is not None:
                await self._stop_link(network)
            link = PeerLink(peer)
            subscriber = Subscriber(self.network, self.identity, self.store, self.directory, link)
            link.task = asyncio.create_task(subscriber.run(), name=f"subscribe-{network}")
            self.links[network] = link
            log.info("subscribing to %s at %s", network, peer.endpoint)
        if self.on_peers is not None:
            await self.on_peers(current)
        if self.metrics is not None:
            self.metrics.lag.clear()
            for network, link in self.links.items():
                lag = link.lag_seconds()
                if lag is not None:
                    self.metrics.lag[network] = lag

    async def _stop_link(self, network: str) -> None:
        link = self.links.pop(network)
        if link.task is not None:
            link.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await link.task

    async def _drop_replicas(self, network: str) -> None:
        try:
            reply = await self.directory.DropReplicas(
                dpb.DropReplicasRequest(origin=network),
                metadata=Caller("admin", self.network, "federation").metadata(),
            )
            log.info("peer %s removed; dropped %d replicas", network, reply.removed)
        except Exception:
            log.exception("could not drop the replicas of %s", network)

"""Keeps one subscription task per peer in step with the peers table.

The table is the source of truth (the CLI and the gateway both write it); the manager
re-reads it every second, starts tasks for new peers, restarts them when a peer's
endpoint, keys, certificate or accepted states change, and stops them (dropping the
peer's replicas and quarantined records) when a peer is removed. A slow or dead peer
only ever blocks its own task. Each peer has one subscription per feed (directory,
events); the directory's is the peer's reported state.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable

from services.common.identity_files import NodeIdentity
from services.federation.feeds import Feed
from services.federation.peer_client import link_identity
from services.federation.peers import Peer, PeerStore
from services.federation.quarantine import QuarantineStore
from services.federation.subscriber import PeerLink, Subscriber

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0


class PeerManager:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        store: PeerStore,
        feeds: list[Feed],
        quarantine: QuarantineStore,
        on_peers: Callable[[dict[str, Peer]], Awaitable[None]] | None = None,
    ) -> None:
        self.network = network
        self.identity = identity
        self.store = store
        self.feeds = feeds
        self.quarantine = quarantine
        self.on_peers = on_peers
        self.feed_links: dict[tuple[str, str], PeerLink] = {}
        self.peers: dict[str, Peer] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def links(self) -> dict[str, PeerLink]:
        """The primary (directory) subscription of each peer: what ListPeers reports."""
        primary = self.feeds[0].name
        return {net: link for (net, feed), link in self.feed_links.items() if feed == primary}

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="federation-peers")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *(lk.task for lk in self.feed_links.values())) if t]
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
        for network in {net for net, _ in self.feed_links} - current.keys():
            await self._stop_links(network)
            await self._drop_replicas(network)
        for network, peer in current.items():
            for index, feed in enumerate(self.feeds):
                key = (network, feed.name)
                link = self.feed_links.get(key)
                if link is not None and link.identity == link_identity(self.identity, peer):
                    continue
                if link is not None:
                    await self._stop(key)
                link = PeerLink(peer, link_identity(self.identity, peer))
                subscriber = Subscriber(
                    self.network,
                    self.identity,
                    self.store,
                    feed,
                    link,
                    self.quarantine,
                    durable_state=index == 0,
                )
                # A fresh context: the subscription must not join the trace (or the
                # caller identity) of the AddPeer call that happened to start it.
                link.task = asyncio.create_task(
                    subscriber.run(),
                    name=f"subscribe-{network}-{feed.name}",
                    context=contextvars.Context(),
                )
                self.feed_links[key] = link
                if index == 0:
                    log.info("subscribing to %s at %s", network, peer.endpoint)
        if self.on_peers is not None:
            await self.on_peers(current)

    async def _stop(self, key: tuple[str, str]) -> None:
        link = self.feed_links.pop(key)
        if link.task is not None:
            link.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await link.task

    async def _stop_links(self, network: str) -> None:
        for key in [k for k in self.feed_links if k[0] == network]:
            await self._stop(key)

    async def _drop_replicas(self, network: str) -> None:
        for feed in self.feeds:
            try:
                removed = await feed.drop(network)
                log.info("peer %s removed; dropped %d %s replicas", network, removed, feed.name)
            except Exception:
                log.exception("could not drop the %s replicas of %s", feed.name, network)
        try:
            removed = await self.quarantine.drop(network)
            if removed:
                log.info("peer %s removed; forgot %d quarantined records", network, removed)
        except Exception:
            log.exception("could not drop the quarantined records of %s", network)

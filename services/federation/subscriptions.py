"""Keeps one subscription task per peer in step with the peers table.

The table is the source of truth (the CLI and the gateway both write it); the manager
re-reads it every second, starts tasks for new peers, restarts them when a peer's
endpoint, keys, certificate or accepted states change, and stops them when a peer is
removed. A removal stores a purge of the peer's replicas (peers.py); the manager carries
out stored purges once the peer's subscriptions have stopped: at start, after a removal,
and again with backoff while a service is down, until every feed has dropped them. A slow
or dead peer only ever blocks its own task. Each peer has one subscription per feed (directory,
events); the directory's is the peer's reported state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from services.common.backoff import backoff_seconds
from services.common.keyring import NodeIdentity
from services.common.loops import background, cancel, repeat
from services.common.timeutil import as_utc, utcnow
from services.federation.feeds import Feed
from services.federation.peer_client import link_identity
from services.federation.peers import Peer, PeerStore
from services.federation.quarantine import QuarantineStore
from services.federation.subscriber import PeerLink, Subscriber

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0
PURGE_IDLE_SECONDS = 60.0  # how often stored purges are looked at when none is due


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
        self._purge_check_at = 0.0  # at start: purges stored while federation was down
        self._task: asyncio.Task[None] | None = None

    @property
    def links(self) -> dict[str, PeerLink]:
        """The primary (directory) subscription of each peer: what ListPeers reports."""
        primary = self.feeds[0].name
        return {net: link for (net, feed), link in self.feed_links.items() if feed == primary}

    def start(self) -> None:
        self._task = background(repeat(self.sync, SYNC_SECONDS, "peer sync"), "federation-peers")

    async def stop(self) -> None:
        await cancel(self._task, *(link.task for link in self.feed_links.values()))

    async def sync(self) -> None:
        current = await self.store.peers()
        self.peers = current
        removed = {net for net, _ in self.feed_links} - current.keys()
        for network in removed:
            await self._stop_links(network)
        if removed or time.monotonic() >= self._purge_check_at:
            await self.run_purges()
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
                link.task = background(subscriber.run(), f"subscribe-{network}-{feed.name}")
                self.feed_links[key] = link
                if index == 0:
                    log.info("subscribing to %s at %s", network, peer.endpoint)
        if self.on_peers is not None:
            await self.on_peers(current)

    async def _stop(self, key: tuple[str, str]) -> None:
        await cancel(self.feed_links.pop(key).task)

    async def _stop_links(self, network: str) -> None:
        for key in [k for k in self.feed_links if k[0] == network]:
            await self._stop(key)

    async def run_purges(self) -> None:
        """Drops removed peers' replicas as stored purges say, feed by feed; what fails
        (a service is down) is retried with backoff."""
        now = utcnow()
        next_check = time.monotonic() + PURGE_IDLE_SECONDS
        by_name = {feed.name: feed for feed in self.feeds}
        for purge in await self.store.purges():
            if purge.network in self.peers or any(n == purge.network for n, _ in self.feed_links):
                continue  # added again meanwhile (its purge is deleted then)
            due = as_utc(purge.next_attempt_at)
            if due > now:
                next_check = min(next_check, time.monotonic() + (due - now).total_seconds())
                continue
            left, errors = [], []
            for name in purge.feeds:
                feed = by_name.get(name)
                if feed is None:
                    continue  # a feed this version no longer has
                try:
                    removed = await feed.drop(purge.network)
                    log.info(
                        "peer %s removed; dropped %d %s replicas", purge.network, removed, name
                    )
                except Exception as exc:  # the service is down or failing: later
                    left.append(name)
                    errors.append(f"{name}: {exc}")
            delay = backoff_seconds(purge.attempts + 1) if left else 0.0
            await self.store.purge_progress(
                purge.network, left, "; ".join(errors), now + timedelta(seconds=delay)
            )
            if left:
                log.warning(
                    "could not drop all replicas of removed peer %s (%s); retrying in %.1f s",
                    purge.network,
                    "; ".join(errors)[:300],
                    delay,
                )
                next_check = min(next_check, time.monotonic() + delay)
        await self.quarantine.load_counts()
        self._purge_check_at = next_check

"""Pushes this node's key announcements to its peers after `justnet keys rotate`.

Each peer that has not acknowledged the node's newest key gets the whole announcement
chain (AnnounceKeys), over the identity it still trusts (keyring.for_peer), until
it answers with the newest key id; then it is marked as acknowledged and this node uses
its new identity toward it. A peer that is down is retried with backoff; nothing else
waits for it. Peers that pull (GetKeys, when they see an unknown key) get the same chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import grpc
from justnet.federation.v1 import federation_pb2

from services.common.backoff import backoff_seconds
from services.common.keyring import NodeIdentity
from services.common.loops import background, cancel, repeat
from services.federation.peer_client import ANNOUNCE_KEYS, PeerClient
from services.federation.peers import Peer, PeerStore

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
CALL_SECONDS = 10.0


class KeyAnnouncer:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        store: PeerStore,
        peers: Callable[[], dict[str, Peer]],
    ) -> None:
        self.network = network
        self.identity = identity
        self.store = store
        self.peers = peers
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        work = repeat(self.announce_due, POLL_SECONDS, "key announcement round")
        self._task = background(work, "federation-announce-keys")

    async def stop(self) -> None:
        await cancel(self._task)

    def due(self) -> list[Peer]:
        if not self.identity.announcements:
            return []  # never rotated: peers know the only key there is
        newest = self.identity.newest.signing_key.key_id
        now = time.monotonic()
        return [
            p
            for p in self.peers().values()
            if p.announced_key_id != newest and self._retry_at.get(p.network, 0.0) <= now
        ]

    async def announce_due(self) -> None:
        peers = self.due()
        if peers:
            await asyncio.gather(*(self._announce(peer) for peer in peers))

    async def _announce(self, peer: Peer) -> None:
        newest = self.identity.newest.signing_key.key_id
        request = federation_pb2.AnnounceKeysRequest(
            announcements=[
                federation_pb2.SignedKeyAnnouncement.FromString(a)
                for a in self.identity.announcements
            ]
        ).SerializeToString()
        client = PeerClient(self.network, self.identity, peer)
        try:
            async with client.channel() as channel:
                raw = await client.unary(channel, ANNOUNCE_KEYS, request, deadline=CALL_SECONDS)
            answer = federation_pb2.AnnounceKeysResponse.FromString(raw)
        except (grpc.aio.AioRpcError, ValueError) as exc:
            failures = self._failures.get(peer.network, 0) + 1
            self._failures[peer.network] = failures
            delay = backoff_seconds(failures)
            self._retry_at[peer.network] = time.monotonic() + delay
            detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
            log.warning(
                "could not announce key %s to %s (%s); retrying in %.1f s",
                newest,
                peer.network,
                detail,
                delay,
            )
            return
        self._failures.pop(peer.network, None)
        self._retry_at.pop(peer.network, None)
        if answer.current_key_id == newest:
            await self.store.acknowledged(peer.network, newest)
            log.info("%s acknowledged key %s", peer.network, newest)
        else:
            log.warning(
                "%s holds key %s of ours, not %s", peer.network, answer.current_key_id, newest
            )
            self._retry_at[peer.network] = time.monotonic() + backoff_seconds(5)

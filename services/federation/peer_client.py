"""Calls this node makes to one peer: mutual TLS with the pinned certificate, and every
call signed over method, origin, destination and the exact request bytes."""

from __future__ import annotations

import grpc

from services.common.clients import open_channel
from services.common.keyring import NodeIdentity
from services.federation import tls
from services.federation.peers import Peer
from services.federation.signatures import AUTH_KEY, sign_call

PEER_SERVICE = "justnet.federation.v1.PeerService"
SUBSCRIBE = f"/{PEER_SERVICE}/Subscribe"
GET_KEYS = f"/{PEER_SERVICE}/GetKeys"
DELIVER = f"/{PEER_SERVICE}/Deliver"
FETCH_DETAILS = f"/{PEER_SERVICE}/FetchContactDetails"
ANNOUNCE_KEYS = f"/{PEER_SERVICE}/AnnounceKeys"
# Bytes of a stream gRPC takes in ahead of what this node has read (default 64 KiB). A
# feed's signed batch is up to ~1 MiB: with 64 KiB the peer could send the next batch only
# in 64 KiB steps as this node read, so while this node's directory applied one batch the
# next one was still on its way (~15 ms idle per batch of 500 in an initial sync). Still
# bounded: past it, and past the subscriber's own backlog (subscriber.MAX_PENDING), the
# peer's sending waits.
LOOKAHEAD = 4 * 1024 * 1024


def link_identity(identity: NodeIdentity, peer: Peer) -> tuple[object, ...]:
    """What, when changed, requires new connections to the peer: the peer's own identity
    (peers.Peer.identity) and which of this node's identities is used toward it."""
    return (*peer.identity, identity.for_peer(peer.announced_key_id).signing_key.key_id)


class PeerClient:
    def __init__(self, network: str, identity: NodeIdentity, peer: Peer) -> None:
        self.network = network
        self.peer = peer
        # Chosen once per client, so its channel and its signatures agree: during a
        # rotation, a peer that has not acknowledged the new key gets the previous one.
        self.own = identity.for_peer(peer.announced_key_id)

    def channel(self) -> grpc.aio.Channel:
        return open_channel(
            self.peer.endpoint,
            credentials=tls.channel_credentials(self.own, self.peer),
            options=[*tls.channel_options(self.peer), ("grpc.http2.lookahead_bytes", LOOKAHEAD)],
            default_timeout=10.0,
            retries=False,
        )

    def signed(self, method: str, body: bytes) -> tuple[tuple[str, str], ...]:
        header = sign_call(self.own.signing_key, method, self.network, self.peer.network, body)
        return ((AUTH_KEY, header),)

    async def unary(
        self, channel: grpc.aio.Channel, method: str, body: bytes, deadline: float
    ) -> bytes:
        """One signed unary call with raw bytes both ways (parsed by the caller)."""
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        raw: bytes = await call(body, metadata=self.signed(method, body), timeout=deadline)
        return raw

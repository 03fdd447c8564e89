"""PeerService: what this node serves to its peers on the peer port.

Handlers receive the raw request bytes, so the call signature is checked over exactly
what arrived before anything is parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2_grpc
from justnet.federation.v1 import federation_pb2

from services.common.errors import DomainError
from services.common.identity import Caller
from services.common.keyring import NodeIdentity
from services.common.signing import certificate_fingerprint
from services.common.timeutil import utcnow
from services.federation.contact_details import DetailsLog, answer
from services.federation.feeds import Feed
from services.federation.nonces import NonceStore
from services.federation.peer_client import (
    ANNOUNCE_KEYS,
    DELIVER,
    FETCH_DETAILS,
    GET_KEYS,
    SUBSCRIBE,
)
from services.federation.peer_client import PEER_SERVICE as SERVICE
from services.federation.peers import Peer
from services.federation.policy import POLICIES, Policy
from services.federation.receiver import Receiver
from services.federation.signatures import AUTH_KEY, CallVerifier, sign_batch, sign_record

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 4096
# Each announcement carries a certificate (~1 KiB); a node's whole chain stays far below.
MAX_ANNOUNCE_BYTES = 256 * 1024
# A pushed message carries its payload (bounded at Send) plus the signed envelope.
MAX_MESSAGE_BYTES = 300 * 1024
HEARTBEAT_SECONDS = 5.0
QUEUE_BOUND = 100  # lists of changes (a feed hands over up to 500 at once)
MAX_BATCH = 500  # records per signed batch, whatever the subscriber asks
# Payload bytes per batch before it is closed: messages stay far below gRPC's 4 MiB.
BATCH_BYTES = 1024 * 1024


def _tls_fingerprint(context: grpc.aio.ServicerContext) -> str | None:
    auth = context.auth_context()
    certs = auth.get("x509_pem_cert")
    if not certs:
        return None
    return certificate_fingerprint(certs[0])


class PeerServer:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        peers: Callable[[], dict[str, Peer]],
        directory: directory_pb2_grpc.DirectoryServiceStub,
        feeds: dict[str, Feed],
        keys: Callable[[], federation_pb2.NodeKeys],
        receiver: Receiver,
        details_log: DetailsLog,
        replayed: Callable[[str, str, str], Awaitable[None]],
        announced: Callable[[str, list[federation_pb2.SignedKeyAnnouncement]], Awaitable[str]],
        nonces: NonceStore | None = None,
    ) -> None:
        self.network = network
        self.identity = identity
        self.peers = peers
        self.directory = directory
        self.feeds = feeds
        self.keys = keys
        self.receiver = receiver
        self.details_log = details_log
        self.replayed = replayed
        self.announced = announced
        self.verifier = CallVerifier(network, nonces)
        self.admin = Caller.node_service("federation", network).metadata()

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Subscribe": grpc.unary_stream_rpc_method_handler(self.subscribe),
                "GetKeys": grpc.unary_unary_rpc_method_handler(self.get_keys),
                "Deliver": grpc.unary_unary_rpc_method_handler(self.deliver),
                "FetchContactDetails": grpc.unary_unary_rpc_method_handler(self.fetch_details),
                "AnnounceKeys": grpc.unary_unary_rpc_method_handler(self.announce_keys),
            },
        )

    async def _authenticate(
        self,
        method: str,
        body: Any,
        context: grpc.aio.ServicerContext,
        limit: int = MAX_REQUEST_BYTES,
    ) -> Peer:
        if not isinstance(body, bytes) or len(body) > limit:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request too large")
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        try:
            return await self.verifier.verify(
                metadata.get(AUTH_KEY), method, body, self.peers(), _tls_fingerprint(context)
            )
        except DomainError as exc:
            log.warning("refused peer call %s: %s", method, exc.message)
            await context.abort(exc.code, exc.message)
            raise  # unreachable: abort raises

    async def get_keys(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await self._authenticate(GET_KEYS, body, context)
        return bytes(self.keys().SerializeToString())

    async def announce_keys(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        """The peer's new keys (it rotated): applied if each announcement is signed by a
        key this node trusts for it; answered with the peer's key now held as current."""
        peer = await self._authenticate(ANNOUNCE_KEYS, body, context, MAX_ANNOUNCE_BYTES)
        try:
            request = federation_pb2.AnnounceKeysRequest.FromString(body)
        except Exception:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "garbled AnnounceKeysRequest")
            raise
        try:
            current = await self.announced(peer.network, list(request.announcements))
        except DomainError as exc:
            log.warning("refused key announcement of %s: %s", peer.network, exc.message)
            await context.abort(exc.code, exc.message)
            raise  # unreachable: abort raises
        return bytes(
            federation_pb2.AnnounceKeysResponse(current_key_id=current).SerializeToString()
        )

    async def deliver(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        peer = await self._authenticate(DELIVER, body, context, MAX_MESSAGE_BYTES)
        try:
            receipt = await self.receiver.receive(peer, body)
        except DomainError as exc:
            log.warning("refused a message from %s: %s", peer.network, exc.message)
            await context.abort(exc.code, exc.message)
            raise  # unreachable: abort raises
        return bytes(receipt.SerializeToString())

    async def fetch_details(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        peer = await self._authenticate(FETCH_DETAILS, body, context)
        try:
            request = federation_pb2.PeerDetailsRequest.FromString(body)
        except Exception:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "garbled PeerDetailsRequest")
            raise
        try:
            details = await answer(self.network, peer, request, self.directory, self.details_log)
        except DomainError as exc:
            await context.abort(exc.code, exc.message)
            raise  # unreachable: abort raises
        except Exception:
            log.exception("contact details for %s failed", peer.network)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the directory did not answer")
            raise
        return bytes(details.SerializeToString())

    async def subscribe(
        self, body: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        peer = await self._authenticate(SUBSCRIBE, body, context)
        try:
            request = federation_pb2.SubscribeRequest.FromString(body)
        except Exception:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "garbled SubscribeRequest")
            return
        feed = self.feeds.get(request.feed or "directory")
        if feed is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "feed: no such feed")
            return
        policy = POLICIES.get(peer.policy, POLICIES["default"])
        # After the peer's sharing policy changed, everything is offered again from the
        # start under the new policy (what it no longer covers goes out as tombstones).
        replay = feed.name in peer.replay_feeds
        since = 0 if replay else request.since_cursor
        log.info(
            "%s subscribed to %s from cursor %d%s",
            peer.network,
            feed.name,
            since,
            " (replay after a policy change)" if replay else "",
        )
        stream = self._stream(feed, peer, policy, since, request.max_batch, context, replay)
        async for message in stream:
            yield message

    async def _stream(
        self,
        feed: Feed,
        peer: Peer,
        policy: Policy,
        since: int,
        max_batch: int,
        context: grpc.aio.ServicerContext,
        replay: bool = False,
    ) -> AsyncIterator[bytes]:
        """The records after `since`, then live ones, with heartbeats; up to max_batch
        records per signed batch (0: one signed record per message)."""
        max_batch = min(max(max_batch, 0), MAX_BATCH)
        backlog = _Backlog(feed.watch_batches(since))
        cursor = since
        # At once: the subscriber knows the stream is up before any record is due.
        yield federation_pb2.SignedRecord(heartbeat=True, cursor=cursor).SerializeToString()
        # A replay this stream makes (or made) is the one the peer row asks for.
        replays = replay
        try:
            while True:
                # Every pass, not only when idle: a removed peer or a narrowed policy must
                # stop receiving at once, even while the feed is busy (a dict lookup).
                if self._policy_changed(peer, feed.name, replays):
                    await context.abort(
                        grpc.StatusCode.UNAVAILABLE, "sharing policy changed; resubscribe"
                    )
                if not backlog.held:
                    if backlog.ended:
                        await context.abort(grpc.StatusCode.UNAVAILABLE, "change feed ended")
                        return
                    if not await backlog.wait(HEARTBEAT_SECONDS):
                        yield federation_pb2.SignedRecord(
                            heartbeat=True, cursor=cursor
                        ).SerializeToString()
                        if replay:
                            # Idle for a heartbeat: the whole backlog went out.
                            await self.replayed(peer.network, feed.name, peer.policy)
                            replay = False
                    continue
                if not max_batch:
                    change = backlog.held.pop(0)
                    cursor = change.seq
                    yield self._record(change, peer, policy).SerializeToString()
                else:
                    # Whatever is already here, up to the cap: one signature, one message.
                    backlog.take_ready(max_batch)
                    batch, backlog.held = self._batch(backlog.held, max_batch, peer, policy)
                    cursor = batch.last_cursor
                    yield sign_batch(self.identity.signing_key, batch).SerializeToString()
                if backlog.drained():
                    # End of a burst: tells the subscriber to apply what it holds now.
                    yield federation_pb2.SignedRecord(
                        heartbeat=True, cursor=cursor
                    ).SerializeToString()
        finally:
            await backlog.close()

    def _policy_changed(self, peer: Peer, feed: str, replaying: bool) -> bool:
        """The peer was removed, or its policy changed since this stream began: the
        stream ends so the peer resubscribes under the current policy."""
        current = self.peers().get(peer.network)
        if current is None or current.policy != peer.policy:
            return True
        return feed in current.replay_feeds and not replaying

    def _batch(
        self, changes: list[exchange_pb2.FeedChange], limit: int, peer: Peer, policy: Policy
    ) -> tuple[federation_pb2.BatchEnvelope, list[exchange_pb2.FeedChange]]:
        """A batch of the first changes (at most `limit`, about BATCH_BYTES); the rest."""
        batch = federation_pb2.BatchEnvelope(origin=self.network, destination=peer.network)
        records = batch.records
        size = 0
        taken = 0
        for change in changes:
            if taken >= limit or (taken and size >= BATCH_BYTES):
                break
            record = records.add()
            self._fill(record, change, policy)
            size += len(record.payload) + 100
            taken += 1
        batch.first_cursor = changes[0].seq
        batch.last_cursor = changes[taken - 1].seq
        batch.issued_at.FromDatetime(utcnow())
        return batch, changes[taken:]

    @staticmethod
    def _fill(
        envelope: federation_pb2.RecordEnvelope, change: exchange_pb2.FeedChange, policy: Policy
    ) -> None:
        shared = not change.deleted and policy.shares(change.kind, change.visibility)
        envelope.kind = change.kind
        envelope.record_id = change.record_id
        envelope.version = change.version
        envelope.deleted = not shared
        if shared:
            envelope.payload = policy.shape(change.kind, change.payload)
        envelope.cursor = change.seq
        envelope.changed_at.CopyFrom(change.at)

    def _record(
        self, change: exchange_pb2.FeedChange, peer: Peer, policy: Policy
    ) -> federation_pb2.SignedRecord:
        """One record signed on its own (subscribers that did not ask for batches)."""
        envelope = federation_pb2.RecordEnvelope(origin=self.network, destination=peer.network)
        self._fill(envelope, change, policy)
        envelope.issued_at.FromDatetime(utcnow())
        return sign_record(self.identity.signing_key, envelope)


class _Backlog:
    """What a feed handed over for one peer stream and was not sent yet: a bounded queue
    a pump task fills (lists of consecutive changes), and the changes taken from it."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.queue: asyncio.Queue[list[exchange_pb2.FeedChange] | None] = asyncio.Queue(QUEUE_BOUND)
        self.held: list[exchange_pb2.FeedChange] = []
        self.ended = False
        self.reader = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for changes in self.stream:
                await self.queue.put(changes)
        finally:
            await self.queue.put(None)

    async def wait(self, seconds: float) -> bool:
        """Takes the next changes (or the end of the feed); False after `seconds` idle."""
        try:
            # Not asyncio.wait_for: on 3.11 it can swallow the cancellation that ends the
            # stream (see services/common/waiting.py).
            async with asyncio.timeout(seconds):
                changes = await self.queue.get()
        except TimeoutError:
            return False
        if changes is None:
            self.ended = True
        else:
            self.held = changes
        return True

    def take_ready(self, cap: int) -> None:
        """Adds what is already queued to what is held, up to about `cap` changes."""
        while len(self.held) < cap and not self.queue.empty():
            more = self.queue.get_nowait()
            if more is None:
                self.ended = True
                return
            self.held.extend(more)

    def drained(self) -> bool:
        return not self.held and self.queue.empty()

    async def close(self) -> None:
        self.stream.cancel()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await self.reader

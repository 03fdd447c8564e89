"""Delivers the outbox to peers: one courier per peer, a window of messages in flight.

Each courier keeps up to WINDOW deliveries to its peer in flight, each the oldest pending
message of its ordering key (the sender's choice, e.g. the request id), so one key's
messages go one at a time, in order, while different keys go side by side. Each message is
signed, pushed with `PeerService.Deliver`, and the receipt the peer signs in return is
verified. Outcomes of the deliveries that finished meanwhile are written in one
transaction; only then is a key free for its next message, so a restart never finds a key
ahead of what was recorded. A failure backs that message (and so its key) off with jitter,
durably (the next attempt time is stored with the message): a message the peer keeps
failing holds up only its own key. A peer that cannot be reached (UNAVAILABLE, timeout)
also pauses the whole courier, growing while it stays unreachable. Outcomes are handed to
the sending service's `Mailbox.Settled`, retried until it takes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2
from opentelemetry import propagate, trace

from services.common import semconv
from services.common.backoff import UNREACHABLE_CAP_SECONDS, backoff_seconds
from services.common.errors import DomainError
from services.common.identity import Caller
from services.common.keyring import NodeIdentity
from services.common.loops import background, cancel, stop_if_cancelled
from services.common.timeutil import as_utc, utcnow
from services.common.waiting import wait_event
from services.federation.mailboxes import Mailboxes
from services.federation.metrics import FederationMetrics
from services.federation.models import OutboxRow
from services.federation.outbox import Attempt, Outbox, delivery_message
from services.federation.peer_client import DELIVER, PeerClient, link_identity
from services.federation.peers import Peer
from services.federation.signatures import open_receipt, sign_message

log = logging.getLogger(__name__)
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
# The peer itself is not answering: pause the courier, not only the message.
UNREACHABLE = (UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
tracer = trace.get_tracer(__name__)
DELIVER_TIMEOUT = 20.0
IDLE_POLL = 5.0  # re-read the queue at least this often (Send also wakes the courier)
# Deliveries in flight per peer (benchmarks/README.md: 16 reached the target; more only
# queued at the peer's services).
WINDOW = 16
DELIVERY_DEADLINE = timedelta(days=7)
NOTIFY_POLL = 2.0
NOTIFY_PARALLEL = 16  # Settled calls at once, one per ordering key
SWEEP_SECONDS = 60.0
DEPTH_SECONDS = 10.0


class Courier:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        peer: Peer,
        outbox: Outbox,
        notify: Callable[[], None],
        metrics: FederationMetrics,
    ) -> None:
        self.network = network
        self.identity = identity
        self.peer = peer
        self.outbox = outbox
        self.notify = notify
        self.metrics = metrics
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.link = link_identity(identity, peer)
        # ordering key -> its delivery in flight (or finished, its outcome not yet written)
        self.flying: dict[str, asyncio.Task[None]] = {}
        self.finished: list[tuple[OutboxRow, Attempt]] = []
        self.max_in_flight = 0  # the most deliveries seen in flight at once
        self.unreachable = 0  # failures to reach the peer since its last answer
        self.paused_until = 0.0  # time.monotonic() before which nothing is sent

    async def run(self) -> None:
        client = PeerClient(self.network, self.identity, self.peer)
        async with client.channel() as channel:
            try:
                while True:
                    self.wake.clear()
                    try:
                        await self._write_finished()
                        wait = await self._dispatch(client, channel)
                    except Exception:  # the database is busy or gone: try again shortly
                        stop_if_cancelled()
                        log.exception("courier for %s could not read or write", self.peer.network)
                        wait = 1.0
                    await wait_event(self.wake, wait)
            finally:
                await cancel(*self.flying.values())

    async def _dispatch(self, client: PeerClient, channel: grpc.aio.Channel) -> float:
        """Starts deliveries up to the window; returns how long to wait at most."""
        pause = self.paused_until - time.monotonic()
        if pause > 0:
            return pause
        free = WINDOW - len(self.flying)
        if free <= 0:
            return IDLE_POLL  # a finished delivery wakes the courier
        rows, later = await self.outbox.ready(self.peer.network, set(self.flying), free)
        for row in rows:
            self.flying[row.ordering_key] = asyncio.create_task(
                self._attempt(client, channel, row), name=f"deliver-{row.seq}"
            )
        self.max_in_flight = max(self.max_in_flight, len(self.flying))
        if later is None:
            return IDLE_POLL
        return min(max((as_utc(later) - utcnow()).total_seconds(), 0.0), IDLE_POLL)

    async def _write_finished(self) -> None:
        """Records the outcomes of the deliveries that finished, in one transaction, and
        frees their keys. If the write fails they stay finished, written next time."""
        if not self.finished:
            return
        done = list(self.finished)
        await self.outbox.record([attempt for _, attempt in done])
        del self.finished[: len(done)]
        for row, attempt in done:
            self.flying.pop(row.ordering_key, None)
            if attempt.state != "pending":
                self.metrics.delivered(self.peer.network, row.kind, attempt.state)
                log.info("message %s to %s: %s", row.message_id, self.peer.network, attempt.state)
        self.notify()

    async def _attempt(self, client: PeerClient, channel: grpc.aio.Channel, row: OutboxRow) -> None:
        """Delivers one message; its outcome joins `finished` for the next write."""
        parent = propagate.extract({"traceparent": row.traceparent} if row.traceparent else {})
        with tracer.start_as_current_span(
            "federation.deliver",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                semconv.PEER: self.peer.network,
                semconv.MESSAGE_KIND: row.kind,
                semconv.MESSAGE_ATTEMPT: row.attempts + 1,
            },
        ) as span:
            try:
                receipt = await self._deliver(client, channel, row)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                span.set_status(trace.StatusCode.ERROR, _describe(exc))
                attempt = self._failed(row, exc)
            else:
                body = exchange_pb2.ReceiptBody.FromString(receipt.body)
                state = "delivered" if body.accepted else "refused"
                span.set_attribute(semconv.MESSAGE_STATE, state)
                self.unreachable = 0
                reason = "" if body.accepted else body.reason
                attempt = Attempt(row.seq, state, receipt.SerializeToString(), reason)
        self.finished.append((row, attempt))
        self.wake.set()

    def _failed(self, row: OutboxRow, exc: Exception) -> Attempt:
        """The retry of a failed delivery: the message backs off, and the whole courier
        pauses when the peer could not be reached."""
        error = _describe(exc)
        delay = backoff_seconds(row.attempts + 1)
        code = exc.code() if isinstance(exc, grpc.aio.AioRpcError) else None
        if code in UNREACHABLE:
            # Down or partitioned: look again soon, so the queue moves within seconds of
            # the peer coming back.
            delay = min(delay, UNREACHABLE_CAP_SECONDS)
            self.unreachable += 1
            pause = min(backoff_seconds(self.unreachable), UNREACHABLE_CAP_SECONDS)
            self.paused_until = max(self.paused_until, time.monotonic() + pause)
        error_type = code.name if code is not None else type(exc).__name__
        self.metrics.delivery_failed(self.peer.network, row.kind, error_type)
        log.warning(
            "delivery %s to %s failed (%s); retrying in %.1f s",
            row.message_id,
            self.peer.network,
            error,
            delay,
        )
        return Attempt(row.seq, "pending", None, error, delay)

    async def _deliver(
        self, client: PeerClient, channel: grpc.aio.Channel, row: OutboxRow
    ) -> exchange_pb2.SignedReceipt:
        envelope = federation_pb2.MessageEnvelope(
            origin=self.network,
            destination=self.peer.network,
            message_id=row.message_id,
            kind=row.kind,
            payload=row.payload,
        )
        envelope.sent_at.FromDatetime(utcnow())
        body = sign_message(client.own.signing_key, envelope).SerializeToString()
        raw = await client.unary(channel, DELIVER, body, deadline=DELIVER_TIMEOUT)
        receipt = exchange_pb2.SignedReceipt()
        try:
            receipt.ParseFromString(raw)
        except Exception:
            raise ReceiptRefused("garbled receipt") from None
        try:
            parsed = open_receipt(receipt, self.peer)
        except DomainError as exc:
            raise ReceiptRefused(exc.message) from None
        expected = (self.network, row.message_id, row.kind, row.payload_sha256)
        got = (parsed.origin, parsed.message_id, parsed.kind, parsed.payload_sha256.hex())
        if got != expected:
            raise ReceiptRefused("the receipt is for another message")
        return receipt


class ReceiptRefused(Exception):
    """The peer's receipt did not verify: the message counts as not delivered."""


def _describe(exc: Exception) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class Couriers:
    """Keeps one courier per peer in step with the peers table, hands outcomes to the
    sending services, and gives up on what can no longer be delivered."""

    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        outbox: Outbox,
        mailboxes: Mailboxes,
        metrics: FederationMetrics,
    ) -> None:
        self.network = network
        self.identity = identity
        self.outbox = outbox
        self.mailboxes = mailboxes
        self.metrics = metrics
        self.couriers: dict[str, Courier] = {}
        self._swept_peers: set[str] | None = None
        self._swept_at = 0.0
        self._depth_at = -DEPTH_SECONDS
        self._settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.admin = Caller.node_service("federation", network).metadata()

    def start(self) -> None:
        self._task = background(self._notify_loop(), "federation-settled")

    def wake(self, destination: str) -> None:
        """A message for `destination` was queued."""
        self.metrics.depth_stale = True
        courier = self.couriers.get(destination)
        if courier is not None:
            courier.wake.set()

    async def sync(self, peers: dict[str, Peer]) -> None:
        for network in list(self.couriers):
            current = peers.get(network)
            if (
                current is None
                or link_identity(self.identity, current) != self.couriers[network].link
            ):
                await self._stop(network)
        for network, peer in peers.items():
            if network not in self.couriers:
                courier = Courier(
                    self.network,
                    self.identity,
                    peer,
                    self.outbox,
                    self._settled.set,
                    self.metrics,
                )
                courier.task = background(courier.run(), f"courier-{network}")
                self.couriers[network] = courier
        now = time.monotonic()
        if self.metrics.depth_stale or now - self._depth_at >= DEPTH_SECONDS:
            # A gauge for scrapes, never counted at scrape time: recounted after a message
            # was queued or settled (at most once a second: sync runs once a second) and
            # every DEPTH_SECONDS in any case (messages given up on, other writers).
            self._depth_at = now
            self.metrics.depth_stale = False
            depth = {d.destination: d.pending for d in await self.outbox.depths()}
            self.metrics.depth = {network: depth.get(network, 0) for network in peers}
        # Giving up takes the writer lock: only when the peers changed, or once a minute
        # for the delivery deadline, not on every one-second sync.
        if set(peers) != self._swept_peers or now - self._swept_at > SWEEP_SECONDS:
            self._swept_peers, self._swept_at = set(peers), now
            gone = "the destination is not a peer"
            failed = await self.outbox.fail_undeliverable(set(peers), gone)
            failed += await self.outbox.expire(utcnow() - DELIVERY_DEADLINE)
            if failed:
                log.warning("gave up on %d undeliverable messages", failed)
                self.metrics.depth_stale = True
                self._settled.set()

    async def _stop(self, network: str) -> None:
        await cancel(self.couriers.pop(network).task)

    async def stop(self) -> None:
        couriers, self.couriers = list(self.couriers.values()), {}
        await cancel(*(c.task for c in couriers), self._task)

    async def _notify_loop(self) -> None:
        while True:
            self._settled.clear()
            try:
                await self.notify_settled()
            except Exception:
                stop_if_cancelled()
                log.exception("could not hand delivery outcomes to the services")
            await wait_event(self._settled, NOTIFY_POLL)

    async def notify_settled(self) -> None:
        """Hands settled outcomes to the sending services: one ordering key's in order,
        different keys side by side; the ones taken are marked in one transaction."""
        by_key: dict[tuple[str, str], list[OutboxRow]] = {}
        for row in await self.outbox.unnotified():
            by_key.setdefault((row.destination, row.ordering_key), []).append(row)
        taken: list[int] = []
        limit = asyncio.Semaphore(NOTIFY_PARALLEL)

        async def hand(rows: list[OutboxRow]) -> None:
            async with limit:
                for row in rows:
                    if not await self._hand_outcome(row):
                        return  # the key's later outcomes wait for this one
                    taken.append(row.seq)

        try:
            await asyncio.gather(*(hand(rows) for rows in by_key.values()))
        finally:
            if taken:
                await self.outbox.mark_notified(taken)

    async def _hand_outcome(self, row: OutboxRow) -> bool:
        mailbox = self.mailboxes.for_kind(row.kind)
        if mailbox is None:
            return True
        try:
            await mailbox.Settled(
                exchange_pb2.DeliveryOutcome(delivery=delivery_message(row)),
                metadata=self.admin,
                timeout=10.0,
            )
        except grpc.aio.AioRpcError as exc:
            log.info(
                "%s did not take outcome of %s yet: %s",
                row.kind,
                row.message_id,
                exc.code().name,
            )
            return False
        return True

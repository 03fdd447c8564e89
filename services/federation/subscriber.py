"""One subscription per peer: pull its changes, verify, apply, resume after failures.

The loop asks the directory for the cursor it stored with the last applied batch,
subscribes from there (asking for signed batches of records), verifies every batch or
record (signature, key validity, origin, destination, cursor range), judges each record
(a state the peer is accepted for, a believable last_verified_at: quarantine.py), and
applies records in batches together with the new cursor. A record held back, or refused
by the service that applies it, goes to the quarantine and the rest of its batch is
applied: one bad record does not stop the feed. Any other error closes the stream; the
loop backs off with jitter (durably: the retry time is stored) and resumes from the
stored cursor, so nothing is lost or applied twice. After the accepted states of the
peer change, its feeds are read again from the start (`rescan_feeds` on the peer row),
so what was applied or quarantined is decided again under the new set.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2

from services.common.backoff import CAP_SECONDS, UNREACHABLE_CAP_SECONDS, backoff_seconds
from services.common.errors import DomainError, detail_from_trailers
from services.common.keyring import NodeIdentity
from services.common.loops import stop_if_cancelled
from services.common.timeutil import utcnow
from services.federation.feeds import Feed
from services.federation.peer_client import GET_KEYS, SUBSCRIBE, PeerClient
from services.federation.peers import Peer, PeerStore
from services.federation.quarantine import (
    REFUSED,
    Held,
    QuarantineStore,
    judge,
    jurisdiction_of,
)
from services.federation.signatures import KeyProblem, open_batch, open_record

log = logging.getLogger(__name__)

BATCH = 500
# Verified records held while the directory applies a batch (plus one incoming batch).
MAX_PENDING = 2 * BATCH
UNREACHABLE_AFTER = 3  # failures in a row before "backing_off" becomes "unreachable"
OWN_SERVICE_WAIT = 30.0  # seconds a subscription waits at start for this node's service
IDLE_TIMEOUT = 20.0  # no heartbeat for this long: the stream is dead
REFUSING = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
RECORD_FIELD = re.compile(r"^records\[(\d+)\]\.?(.*)$")


@dataclass
class _Message:
    """One message of a peer's feed: a heartbeat (with its cursor) or signed records."""

    heartbeat: bool
    cursor: int
    envelopes: list[federation_pb2.RecordEnvelope]


class RecordRefused(Exception):
    """A record from the peer failed verification: the stream is dropped."""


class OwnServiceSlow(Exception):
    """This node's own service did not take the peer's records in time: the session ends
    and is retried with backoff; the peer did nothing wrong, so it is not refused."""


class PeerSilent(Exception):
    """Nothing, not even a heartbeat, came for IDLE_TIMEOUT: the stream is dead. That is
    how a network partition looks, so it is a failure to reach the peer, not a refusal."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A verified record and its cursor, judged: `held` says why it is not applied (then
    `replica` is its tombstone, or None when the service gets nothing of it)."""

    replica: exchange_pb2.FeedReplica | None
    cursor: int
    kind: str
    record_id: str
    held: Held | None = None


def refused_records(exc: grpc.aio.AioRpcError, count: int) -> dict[int, str]:
    """Which records of a batch the applying service refused (index -> its message),
    from the field errors it named `records[i].field`; empty when it named none."""
    if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return {}
    detail = detail_from_trailers(exc.trailing_metadata())
    if detail is None:
        return {}
    out: dict[int, str] = {}
    for violation in detail.violations:
        match = RECORD_FIELD.match(violation.field)
        if match is None:
            return {}  # about the batch itself (origin, cursor): not one record's fault
        index = int(match.group(1))
        if index < count:
            field_name = match.group(2) or "record"
            out.setdefault(index, f"{field_name}: {violation.message}"[:500])
    return out


@dataclass
class PeerLink:
    """Live state of the subscription to one peer (what ListPeers reports)."""

    peer: Peer
    # What the subscription was started with (peer_client.link_identity): when it
    # changes, the manager starts a new one.
    identity: tuple[object, ...] = ()
    state: str = "unreachable"
    failures: int = 0
    last_error: str = ""
    last_success_at: datetime | None = None
    caught_up_at: datetime | None = None
    caught_up: bool = False
    applied_cursor: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def lag_seconds(self) -> float | None:
        if self.caught_up_at is None:
            return None
        if self.state == "connected" and self.caught_up:
            return 0.0
        return max(0.0, (utcnow() - self.caught_up_at).total_seconds())


class Subscriber:
    def __init__(
        self,
        network: str,
        identity: NodeIdentity,
        store: PeerStore,
        feed: Feed,
        link: PeerLink,
        quarantine: QuarantineStore,
        durable_state: bool = True,
    ) -> None:
        self.network = network
        self.identity = identity
        self.store = store
        self.feed = feed
        self.link = link
        self.quarantine = quarantine
        # The directory feed's link is the peer's state; other feeds only log theirs.
        self.durable_state = durable_state
        # (kind, record id) of this feed's records from the peer now in quarantine
        self.held: set[tuple[str, str]] = set()
        # The accepted states changed: read the feed again from the start, once, up to
        # (at least) the cursor stored when the re-read began.
        self.rescanning = feed.name in link.peer.rescan_feeds
        self.rescan_until = 0
        self.streamed = False  # this session received something from the peer

    @property
    def peer(self) -> Peer:
        return self.link.peer

    async def run(self) -> None:
        link = self.link
        # What peers send is applied to this node's own service: wait for it to serve
        # (a node's processes start together) instead of failing and backing off.
        if not await self.feed.ready(OWN_SERVICE_WAIT):
            log.warning("this node's %s service is not serving; subscribing anyway", self.feed.name)
        link.failures = self.peer.failures
        if self.peer.retry_at is not None:
            # Durable backoff: a restart does not hammer a peer that was failing.
            wait = (self.peer.retry_at - utcnow()).total_seconds()
            if wait > 0:
                link.state = "backing_off" if link.failures < UNREACHABLE_AFTER else "unreachable"
                await asyncio.sleep(min(wait, CAP_SECONDS * 1.4))
        while True:
            self.streamed = False
            unreachable = False
            try:
                await self._session()
                error, refused = "stream closed by the peer", False
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as exc:
                error = f"{exc.code().name}: {exc.details()}"
                refused = exc.code() in REFUSING
                unreachable = exc.code() == grpc.StatusCode.UNAVAILABLE and not self.streamed
            except (PeerSilent, OwnServiceSlow) as exc:
                error, refused = str(exc), False
            except (RecordRefused, DomainError) as exc:
                error, refused = f"refused a record: {exc}", True
            except Exception as exc:  # keep the loop alive whatever the peer sends
                stop_if_cancelled()
                log.exception("subscription to %s failed", self.peer.network)
                error, refused = f"{type(exc).__name__}: {exc}", False
            await asyncio.sleep(await self._failed(error, refused, unreachable))

    async def _failed(self, error: str, refused: bool, unreachable: bool) -> float:
        """Records a failed session (state, error, durable backoff); returns the delay."""
        link = self.link
        link.failures += 1
        link.caught_up = False
        if refused:
            link.state = "refused"
        elif link.failures >= UNREACHABLE_AFTER:
            link.state = "unreachable"
        else:
            link.state = "backing_off"
        link.last_error = error[:500]
        delay = backoff_seconds(link.failures)
        if unreachable:
            delay = min(delay, UNREACHABLE_CAP_SECONDS)
        log.log(
            logging.WARNING if self.durable_state else logging.INFO,
            "peer %s (%s feed): %s; retrying in %.1f s",
            self.peer.network,
            self.feed.name,
            link.last_error,
            delay,
        )
        if self.durable_state:
            await self.store.record_state(
                self.peer.network,
                link.state,
                failures=link.failures,
                retry_at=utcnow() + timedelta(seconds=delay),
                error=link.last_error,
            )
        return delay

    async def refresh_keys(self) -> None:
        """Fetches the peer's key announcements over its pinned TLS channel (it signs with
        a key this node does not know: it rotated) and applies those this node can trust."""
        client = PeerClient(self.network, self.identity, self.peer)
        async with client.channel() as channel:
            body = federation_pb2.GetKeysRequest().SerializeToString()
            raw = await client.unary(channel, GET_KEYS, body, deadline=5.0)
        keys = federation_pb2.NodeKeys.FromString(raw)
        await self.store.apply_announcements(self.peer.network, list(keys.announcements))

    async def _session(self) -> None:
        link = self.link
        cursor, _ = await self.feed.cursor(self.peer.network)
        link.applied_cursor = cursor
        self.held = await self.quarantine.held_ids(self.peer.network, self.feed.kinds)
        since = 0 if self.rescanning else cursor
        self.rescan_until = cursor
        body = federation_pb2.SubscribeRequest(
            since_cursor=since, feed=self.feed.name, max_batch=BATCH
        ).SerializeToString()
        client = PeerClient(self.network, self.identity, self.peer)
        applier = Applier(self, cursor)
        async with client.channel() as channel:
            call = channel.unary_stream(
                SUBSCRIBE, request_serializer=None, response_deserializer=None
            )
            stream = call(body, metadata=client.signed(SUBSCRIBE, body), timeout=None)
            iterator = stream.__aiter__()
            try:
                while True:
                    applier.check()
                    try:
                        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                        # cancellation that stops this task when a message lands at once.
                        async with asyncio.timeout(IDLE_TIMEOUT):
                            raw = await iterator.__anext__()
                    except StopAsyncIteration:
                        return
                    except TimeoutError:
                        stream.cancel()
                        raise PeerSilent(
                            f"no heartbeat from the peer for {IDLE_TIMEOUT:.0f} s"
                        ) from None
                    self.streamed = True
                    await self._connected()
                    record = await self._open(raw, stream)
                    if record.heartbeat:
                        applier.heartbeat(record.cursor)
                        continue
                    link.caught_up = False
                    await applier.add([self._judge(e) for e in record.envelopes])
            finally:
                await applier.close()

    async def _connected(self) -> None:
        link = self.link
        if link.state == "connected":
            return
        link.state = "connected"
        link.failures = 0
        link.last_error = ""
        if self.durable_state:
            await self.store.record_state(
                self.peer.network, "connected", failures=0, retry_at=None, success=True
            )

    async def _open(self, raw: bytes, stream: Any) -> _Message:
        """A message from the peer, its signature checked and every record of this feed;
        anything else ends the stream as refused."""
        record = federation_pb2.SignedRecord()
        try:
            record.ParseFromString(raw)
        except Exception:
            stream.cancel()
            raise RecordRefused("garbled message") from None
        if record.heartbeat:
            return _Message(True, record.cursor, [])
        try:
            if record.batch:
                envelopes = open_batch(record, self.peer, self.network)
            else:
                envelopes = [open_record(record, self.peer, self.network)]
        except DomainError as exc:
            stream.cancel()
            if isinstance(exc, KeyProblem):  # rotated keys: fetch them
                await self._try_refresh_keys()
            raise RecordRefused(exc.message) from None
        for envelope in envelopes:
            if envelope.kind not in self.feed.kinds:
                stream.cancel()
                raise RecordRefused(f"a {envelope.kind[:40]} record in the {self.feed.name} feed")
        return _Message(False, record.cursor, envelopes)

    def _judge(self, e: federation_pb2.RecordEnvelope) -> Incoming:
        """The record as the service gets it: itself, or its tombstone (or nothing) when
        it is held back."""
        held = judge(
            self.peer.network,
            e.kind,
            e.record_id,
            e.version,
            e.deleted,
            e.payload,
            self.peer.accepted,
            utcnow(),
        )
        replica: exchange_pb2.FeedReplica | None = exchange_pb2.FeedReplica(
            origin=self.peer.network,
            kind=e.kind,
            record_id=e.record_id,
            version=e.version,
            deleted=e.deleted or held is not None,
            payload=e.payload if held is None else b"",
            verified=True,  # its signature was verified above
            synced_at=e.changed_at,
        )
        if held is not None and not held.tombstone:
            replica = None
        return Incoming(replica, e.cursor, e.kind, e.record_id, held)

    async def _apply(self, batch: list[Incoming], cursor: int) -> None:
        """Quarantines what is held back, then applies the rest with the cursor; records
        the service refuses are quarantined too and the rest applied without them."""
        started = time.monotonic()
        held: dict[tuple[str, str], Held] = {}
        cleared: set[tuple[str, str]] = set()
        for item in batch:  # in order: the last word on each record counts
            key = (item.kind, item.record_id)
            if item.held is not None:
                held[key] = item.held
                cleared.discard(key)
            else:
                held.pop(key, None)
                if key in self.held:
                    cleared.add(key)
        await self._quarantine(list(held.values()), cleared)
        # (position in the batch, record, what the service gets)
        records = [(n, item, item.replica) for n, item in enumerate(batch) if item.replica]
        refused_at: dict[tuple[str, str], int] = {}
        while True:
            try:
                self.link.applied_cursor = await self.feed.apply(
                    self.peer.network, [r for _, _, r in records], cursor
                )
                break
            except grpc.aio.AioRpcError as exc:
                refused = refused_records(exc, len(records))
                if not refused:
                    raise
            # Held back like the others; the rest of the batch goes on without them.
            out: list[Held] = []
            for i, (n, item, r) in enumerate(records):
                message = refused.get(i)
                if message is not None:
                    where = jurisdiction_of(item.kind, r.payload)
                    out.append(
                        Held(item.kind, item.record_id[:100], r.version, where, REFUSED, message)
                    )
                    refused_at[(item.kind, item.record_id)] = n
            await self._quarantine(out, set())
            records = [entry for i, entry in enumerate(records) if i not in refused]
        # A later version in the same batch that was applied outdates the refusal.
        applied_later = {
            (item.kind, item.record_id)
            for n, item, _ in records
            if refused_at.get((item.kind, item.record_id), n) < n
        }
        await self._quarantine([], applied_later)
        log.debug(
            "applied %d %s records from %s in %.0f ms",
            len(records),
            self.feed.name,
            self.peer.network,
            (time.monotonic() - started) * 1000,
        )

    async def _quarantine(self, held: list[Held], cleared: set[tuple[str, str]]) -> None:
        if not held and not cleared:
            return
        await self.quarantine.update(self.peer.network, self.feed.name, held, cleared)
        self.held -= cleared
        self.held |= {(h.kind, h.record_id) for h in held}

    async def _caught_up(self, cursor: int) -> None:
        """Everything up to `cursor` of this session's stream is applied: a re-read from
        the start is done once that reaches where the feed stood when it began."""
        if not self.rescanning or cursor < self.rescan_until:
            return
        await self.store.rescanned(self.peer.network, self.feed.name, self.peer.accepted)
        self.rescanning = False
        log.info(
            "re-read the %s feed of %s under its accepted states", self.feed.name, self.peer.network
        )

    async def _try_refresh_keys(self) -> None:
        try:
            await self.refresh_keys()
        except Exception as exc:
            log.warning("could not refresh keys of %s: %s", self.peer.network, exc)


class Applier:
    """Applies verified records in the background, in order, one batch at a time.

    While a batch is being applied the stream keeps being read and verified, so the
    peer's signing, this node's verifying and the directory's writes overlap. Whatever
    arrived meanwhile (up to BATCH records) goes into the next batch with the cursor of
    its last record; when the directory is idle a record is applied at once, without
    waiting for the burst's heartbeat. Records still held are bounded (MAX_PENDING): past
    that, reading the stream waits, which slows the peer down through flow control.
    """

    def __init__(self, subscriber: Subscriber, cursor: int) -> None:
        self.subscriber = subscriber
        self.pending: list[Incoming] = []  # each with its cursor
        self.caught_up_at_cursor: int | None = None
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()
        self.drained.set()
        self.task = asyncio.create_task(self._run())

    def check(self) -> None:
        """Raises the applier's error, if it failed, in the session that reads the stream."""
        if self.task.done():
            self.task.result()
            raise RuntimeError("the applier stopped")

    async def add(self, replicas: list[Incoming]) -> None:
        """Queues verified, judged records, each with its cursor (ascending)."""
        while len(self.pending) >= MAX_PENDING:
            self.check()
            self.drained.clear()
            # Bounded by IDLE_TIMEOUT: the directory answers or the session fails.
            waiter = asyncio.create_task(self.drained.wait())
            done, _ = await asyncio.wait(
                {waiter, self.task}, timeout=IDLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if not done:
                raise OwnServiceSlow(
                    f"this node's {self.subscriber.feed.name} service did not apply "
                    f"records within {IDLE_TIMEOUT:.0f} s"
                )
        self.pending.extend(replicas)
        self.caught_up_at_cursor = None
        self.wake.set()

    def heartbeat(self, cursor: int) -> None:
        """The peer has sent everything up to `cursor`: caught up once that is applied."""
        self.caught_up_at_cursor = cursor
        self.wake.set()

    async def _run(self) -> None:
        link = self.subscriber.link
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
                self.drained.set()
                # Stored with the records: the stream is in cursor order, so resuming
                # after the last applied record loses and repeats nothing.
                cursor = max(item.cursor for item in batch)
                await self.subscriber._apply(batch, cursor)
            target = self.caught_up_at_cursor
            if target is not None and link.applied_cursor >= target:
                link.caught_up = True
                link.caught_up_at = utcnow()
                link.last_success_at = link.caught_up_at
                await self.subscriber._caught_up(target)

    async def close(self) -> None:
        """Stops applying. Waits without absorbing a cancellation of the session itself
        (suppressing CancelledError around `await self.task` would swallow it when the
        session is cancelled mid-apply, and the subscription would never stop)."""
        self.task.cancel()
        await asyncio.wait({self.task})
        if not self.task.cancelled():
            self.task.exception()  # retrieved: the session raised it already, or is ending

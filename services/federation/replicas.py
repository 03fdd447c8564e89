"""How many replicas this node holds from each peer, per feed, kept in memory.

Counting them is a COUNT over the directory's (or the events service's) tables, behind the
feed's `GetReplicationCursor`; a scrape of /metrics must not run it. `ReplicaCounts` keeps
the last answer per (peer, feed), served by the `justnet.federation.peer.records` gauge
(metrics.py). It learns a new answer whenever anyone asks the feed (a subscription asks
at each (re)connect, the administrators' peers list each time), and its one background
task asks again shortly after each batch applied to, or drop of, a peer's replicas: at
once after a quiet spell, then at most once per `REFRESH_GAP` for all of them together, so
a catch-up of many batches, or a busy feed, costs a count every few seconds, not one per
batch. (At 0.5 s, a node receiving single changes from 4 peers counted each peer's
replicas for nearly every change: as much directory CPU as applying the changes.) A count
that fails (the service is down) is asked again after `RETRY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging

import grpc
from justnet.common.v1 import exchange_pb2

from services.common.waiting import wait_event
from services.federation.feeds import ChangeStream, Feed

log = logging.getLogger(__name__)
REFRESH_GAP = 5.0  # seconds; scrapes come every 15 s or more
RETRY_SECONDS = 5.0


class ReplicaCounts:
    def __init__(self, gap: float = REFRESH_GAP) -> None:
        self.gap = gap
        # (peer, feed) -> (cursor, replicas held), as the feed last answered
        self.held: dict[tuple[str, str], tuple[int, int]] = {}
        self._feeds: dict[str, Feed] = {}
        self._stale: set[tuple[str, str]] = set()
        # bumped at each change, so an answer older than the latest change is not kept
        self._changes: dict[tuple[str, str], int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def track(self, feed: Feed) -> Feed:
        """`feed`, with every cursor answer kept and every apply or drop recounted."""
        self._feeds[feed.name] = feed
        return TrackedFeed(feed, self)

    def records(self, peer: str, feed: str) -> int | None:
        """Replicas held from `peer` in `feed` (None: not known yet)."""
        held = self.held.get((peer, feed))
        return None if held is None else held[1]

    def changes(self, peer: str, feed: str) -> int:
        return self._changes.get((peer, feed), 0)

    def seen(self, peer: str, feed: str, answer: tuple[int, int], changes: int) -> None:
        """Keeps an answer the feed gave, unless the replicas changed since it was asked."""
        if self.changes(peer, feed) == changes:
            self.held[(peer, feed)] = answer

    def changed(self, peer: str, feed: str) -> None:
        key = (peer, feed)
        self._changes[key] = self._changes.get(key, 0) + 1
        self._stale.add(key)
        self._wake.set()

    def start(self) -> None:
        # A fresh context: the counts belong to no call's trace.
        self._task = asyncio.create_task(
            self._loop(), name="federation-replica-counts", context=contextvars.Context()
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await wait_event(self._wake, RETRY_SECONDS)
            self._wake.clear()
            await self.refresh()
            await asyncio.sleep(self.gap)

    async def refresh(self) -> None:
        """Asks each feed again for the counts that changed since the last refresh."""
        stale, self._stale = self._stale, set()
        for peer, name in sorted(stale):
            changes = self.changes(peer, name)
            try:
                self.seen(peer, name, await self._feeds[name].cursor(peer), changes)
            except grpc.aio.AioRpcError as exc:
                log.info("could not count the %s replicas of %s: %s", name, peer, exc.code().name)
                self._stale.add((peer, name))


class TrackedFeed:
    """A feed whose cursor answers and changes ReplicaCounts follows."""

    def __init__(self, feed: Feed, counts: ReplicaCounts) -> None:
        self.feed = feed
        self.counts = counts
        self.name = feed.name
        self.kinds = feed.kinds

    async def ready(self, seconds: float) -> bool:
        return await self.feed.ready(seconds)

    def watch_batches(self, since: int) -> ChangeStream:
        return self.feed.watch_batches(since)

    async def cursor(self, origin: str) -> tuple[int, int]:
        changes = self.counts.changes(origin, self.name)
        answer = await self.feed.cursor(origin)
        self.counts.seen(origin, self.name, answer, changes)
        return answer

    async def apply(self, origin: str, records: list[exchange_pb2.FeedReplica], cursor: int) -> int:
        try:
            return await self.feed.apply(origin, records, cursor)
        finally:
            self.counts.changed(origin, self.name)

    async def drop(self, origin: str) -> int:
        try:
            return await self.feed.drop(origin)
        finally:
            self.counts.changed(origin, self.name)

"""The change feed's followers share reads and are woken only by what concerns them
(services/common/replication/feed.py), on a real directory store (SQLite and PostgreSQL).

Federation follows a node's log once per peer; a write used to cost one read per peer,
and an applied replica batch woke the streams of local changes for nothing. Every test
here is about the order of events: the poll that covers other processes' writes is set
to an hour, so only notifications wake a stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2

from services.common.db import create_engine
from services.common.identity import Caller, reset_caller, set_caller
from services.common.ids import new_id
from services.common.loops import cancel
from services.common.replication import Changes, ReplicaFeedServicer
from services.common.settings import NodeSettings
from services.directory import service as directory
from services.directory.index import LookupIndex
from services.directory.logic import DirectoryLogic
from services.directory.store import DirectoryStore

EDITOR = Caller("editor", "SEAJUST", "test")
BOUND = 10.0  # seconds: only a bound, every wait below ends on an event


class CountedStore(DirectoryStore):
    """Counts reads of the change log; `hold` keeps the next read's answer back (after it
    was read) until released."""

    reads: list[str]
    read: asyncio.Event  # set after each read
    looks = 0  # looks at the log's last seq
    looked: asyncio.Event
    hold: asyncio.Event | None = None

    async def changes_since(self, seq: int, limit: int = 500, origin: str = "") -> list[Any]:
        rows = await super().changes_since(seq, limit, origin)
        self.reads.append(origin)
        self.read.set()
        gate, self.hold = self.hold, None
        if gate is not None:
            await gate.wait()
        return rows

    async def max_seq(self) -> int:
        seq = await super().max_seq()
        self.looks += 1
        self.looked.set()
        return seq


@pytest.fixture
def poll() -> float:
    return 3600.0  # other processes' writes: only notifications wake the streams


@pytest.fixture
async def parts(
    settings: NodeSettings, poll: float
) -> AsyncIterator[tuple[CountedStore, DirectoryLogic, Any]]:
    await directory.migrate(settings)
    engine = create_engine(settings.directory.database_url, instrument=False)
    store = CountedStore(engine, "SEAJUST")  # the feed's: its reads are counted
    store.reads, store.read, store.looked = [], asyncio.Event(), asyncio.Event()
    writer = DirectoryStore(engine, "SEAJUST")  # the directory's own writes and index
    logic = DirectoryLogic(writer, LookupIndex(writer), settings.jurisdictions)
    changes = Changes()
    feed = ReplicaFeedServicer(store, changes, poll_seconds=poll, on_applied=logic.replicas_changed)
    token = set_caller(Caller.node_service("federation", "SEAJUST"))
    try:
        yield store, logic, (feed, changes)
    finally:
        reset_caller(token)
        await store.engine.dispose()


async def write(logic: DirectoryLogic, changes: Changes, name: str) -> str:
    msg = directory_pb2.Authority(
        jurisdiction="TH",
        name=name,
        kind="central_authority",
        competences=["mla"],
        accepted_languages=["en"],
        visibility="federation",
    )
    created = await logic.create_authority(msg, EDITOR)
    changes.notify()
    return created.meta.id


def follow(feed: ReplicaFeedServicer, local_only: bool) -> asyncio.Queue[list[str]]:
    """A follower as federation runs one (local_only) or as a change watcher; what it
    receives goes to the queue, one list of record ids per message."""
    out: asyncio.Queue[list[str]] = asyncio.Queue()
    request = exchange_pb2.FeedWatchRequest(since_seq=0, follow=True, local_only=local_only)

    async def run() -> None:
        async for batch in feed.WatchChangeBatches(request, None):
            out.put_nowait([c.record_id for c in batch.changes])

    task = asyncio.create_task(run())
    out.task = task  # type: ignore[attr-defined]  # kept alive with the queue
    return out


async def stop(*followers: asyncio.Queue[list[str]]) -> None:
    await cancel(*(f.task for f in followers))  # type: ignore[attr-defined]


async def settled(store: CountedStore, reads: int) -> None:
    """Until `reads` reads have been made (each follower reads once at start)."""
    async with asyncio.timeout(BOUND):
        while len(store.reads) < reads:
            store.read.clear()
            await store.read.wait()


def replica_batch() -> exchange_pb2.FeedApplyBatchRequest:
    record_id = new_id()
    msg = directory_pb2.Authority(
        jurisdiction="FR",
        name="Bureau de l'entraide pénale internationale",
        kind="central_authority",
        competences=["mla"],
        accepted_languages=["fr"],
        visibility="federation",
    )
    msg.meta.id, msg.meta.origin, msg.meta.version = record_id, "EJN", 1
    record = exchange_pb2.FeedReplica(
        origin="EJN",
        kind="authority",
        record_id=record_id,
        version=1,
        payload=msg.SerializeToString(),
        verified=True,
    )
    return exchange_pb2.FeedApplyBatchRequest(origin="EJN", cursor=1, records=[record])


async def test_followers_share_one_read_and_replicas_do_not_wake_local_streams(
    parts: tuple[CountedStore, DirectoryLogic, Any],
) -> None:
    store, logic, (feed, changes) = parts
    peers = [follow(feed, local_only=True) for _ in range(3)]  # federation, once per peer
    watcher = follow(feed, local_only=False)
    try:
        await settled(store, 2)  # the peers' streams started together: one read
        # A replica batch wakes the follower of every origin, and only it.
        before = len(store.reads)
        await feed.ApplyReplicaBatch(replica_batch(), None)
        async with asyncio.timeout(BOUND):
            assert len(await watcher.get()) == 1
        # A local write: the three peers' streams are woken and share one read.
        record_id = await write(logic, changes, "Office of the Attorney General")
        async with asyncio.timeout(BOUND):
            for queue in [*peers, watcher]:
                assert await queue.get() == [record_id]
        # The watcher read twice, the peers' streams once together. Without the shared
        # read: 3 local reads; woken by the replica batch: 2 local reads or more.
        assert sorted(store.reads[before:]) == ["", "", "SEAJUST"]
    finally:
        await stop(*peers, watcher)


async def test_a_read_under_way_is_not_joined_by_a_follower_woken_later(
    parts: tuple[CountedStore, DirectoryLogic, Any],
) -> None:
    """A follower woken by a write never waits on a read that started before that write
    committed: it would miss the write until the next poll (an hour here)."""
    store, logic, (feed, changes) = parts
    first = follow(feed, local_only=True)
    try:
        await settled(store, 1)
        gate = asyncio.Event()
        store.hold = gate  # the next read (first's, after the write below) is held back
        one = await write(logic, changes, "Office one")
        await settled(store, 2)  # first's read has read the log; its answer is held
        two = await write(logic, changes, "Office two")
        second = follow(feed, local_only=True)  # starts after both writes
        async with asyncio.timeout(BOUND):
            assert await second.get() == [one, two]
            gate.set()
            assert await first.get() == [one]
            assert await first.get() == [two]
    finally:
        await stop(first, second)


@pytest.mark.parametrize("poll", [0.05])
async def test_another_processs_write_wakes_the_streams_through_one_poll(
    parts: tuple[CountedStore, DirectoryLogic, Any],
) -> None:
    """A write no notification announces (the CLI's, another replica's) is found by the
    one poll of the log's last seq, which wakes the streams: they share one read, and an
    idle log costs no reads at all."""
    store, logic, (feed, _) = parts
    peers = [follow(feed, local_only=True) for _ in range(3)]
    try:
        # One shared read at start; the poll's first look wakes them once more.
        await settled(store, 2)
        before = len(store.reads)
        record_id = await write(logic, Changes(), "Written by another process")
        async with asyncio.timeout(BOUND):
            for queue in peers:
                assert await queue.get() == [record_id]
        # The poll goes on looking (3 more looks), and nothing more is read: one read
        # for the three streams (each stream polling the log: a read at every tick).
        async with asyncio.timeout(BOUND):
            looks = store.looks
            while store.looks < looks + 3:
                store.looked.clear()
                await store.looked.wait()
        assert store.reads[before:] == ["SEAJUST"]
    finally:
        await stop(*peers)

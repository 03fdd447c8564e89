"""The directory service over real gRPC on a free loopback port (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc

from services.common.errors import detail_from_trailers
from services.common.identity import Caller
from services.common.ids import new_id
from services.common.settings import NodeSettings
from services.directory.service import DirectoryRuntime
from tests.internal import internal_channel

EDITOR = Caller("editor", "SEAJUST", "test").metadata()
ADMIN = Caller.node_service("federation", "SEAJUST").metadata()
MEMBER = Caller("member", "SEAJUST", "test").metadata()


@pytest.fixture
async def channel(
    directory_runtime: DirectoryRuntime, settings: NodeSettings
) -> AsyncIterator[grpc.aio.Channel]:
    channel = internal_channel(f"127.0.0.1:{directory_runtime.port}", settings.data_dir)
    yield channel
    await channel.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> directory_pb2_grpc.DirectoryServiceStub:
    return directory_pb2_grpc.DirectoryServiceStub(channel)


@pytest.fixture
def feed(channel: grpc.aio.Channel) -> exchange_pb2_grpc.ReplicaFeedStub:
    """The directory's change log and replicas (justnet.common.v1.ReplicaFeed)."""
    return exchange_pb2_grpc.ReplicaFeedStub(channel)


def authority(**kw: object) -> directory_pb2.Authority:
    base: dict[str, object] = {
        "jurisdiction": "VN",
        "name": "Supreme People's Procuracy, International Cooperation Department",
        "kind": "prosecution",
        "competences": ["mla"],
        "accepted_languages": ["vi", "en"],
        "visibility": "public",
    }
    base.update(kw)
    return directory_pb2.Authority(**base)  # type: ignore[arg-type]


async def test_health_and_reflection(directory_runtime: DirectoryRuntime) -> None:
    # Health needs no credential (Kubernetes probes have none).
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{directory_runtime.port}")
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(
        health_pb2.HealthCheckRequest(service="justnet.directory.v1.DirectoryService")
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    await channel.close()


async def test_validation_error_details_name_fields(
    stub: directory_pb2_grpc.DirectoryServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateAuthority(
            directory_pb2.CreateAuthorityRequest(
                authority=authority(jurisdiction="VNM", email="@")
            ),
            metadata=EDITOR,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = detail_from_trailers(info.value.trailing_metadata())
    assert detail is not None
    assert {v.field for v in detail.violations} == {"jurisdiction", "email"}


async def test_service_enforces_roles_itself(
    stub: directory_pb2_grpc.DirectoryServiceStub, feed: exchange_pb2_grpc.ReplicaFeedStub
) -> None:
    request = directory_pb2.CreateAuthorityRequest(authority=authority())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateAuthority(request)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateAuthority(request, metadata=MEMBER)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # an editor of another network cannot write here either
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateAuthority(request, metadata=Caller("editor", "EJN", "x").metadata())
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        stream = feed.WatchChanges(exchange_pb2.FeedWatchRequest(), metadata=EDITOR)
        async for _ in stream:
            pass
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_change_feed_replays_then_tails(
    stub: directory_pb2_grpc.DirectoryServiceStub, feed: exchange_pb2_grpc.ReplicaFeedStub
) -> None:
    first = await stub.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(authority=authority()), metadata=EDITOR
    )
    stream = feed.WatchChanges(
        exchange_pb2.FeedWatchRequest(since_seq=0, follow=True), metadata=ADMIN
    )
    received: list[exchange_pb2.FeedChange] = []

    async def collect() -> None:
        async for change in stream:
            received.append(change)
            if len(received) == 3:
                return

    task = asyncio.create_task(collect())
    await asyncio.sleep(0.1)
    updated = authority(name="SPP International Cooperation")
    updated.meta.id = first.meta.id
    await stub.UpdateAuthority(
        directory_pb2.UpdateAuthorityRequest(authority=updated, expected_version=1), metadata=EDITOR
    )
    await stub.DeleteAuthority(directory_pb2.DeleteRecordRequest(id=first.meta.id), metadata=EDITOR)
    await asyncio.wait_for(task, 5)
    stream.cancel()
    assert [(c.version, c.deleted) for c in received] == [(1, False), (2, False), (3, True)]
    assert [c.seq for c in received] == sorted(c.seq for c in received)
    snapshot = directory_pb2.Authority()
    snapshot.ParseFromString(received[1].payload)
    assert snapshot.name == "SPP International Cooperation"


async def test_replicas_apply_once_and_are_read_only(
    stub: directory_pb2_grpc.DirectoryServiceStub, feed: exchange_pb2_grpc.ReplicaFeedStub
) -> None:
    record_id = new_id()
    replica = authority(
        jurisdiction="FR",
        name="Bureau de l'entraide pénale internationale",
        accepted_languages=["fr"],
        visibility="federation",
    )
    replica.meta.id = record_id
    replica.meta.origin = "EJN"
    replica.meta.version = 3

    def apply(
        version: int, msg: directory_pb2.Authority | None = None
    ) -> exchange_pb2.FeedApplyBatchRequest:
        record = exchange_pb2.FeedReplica(
            origin="EJN",
            kind="authority",
            record_id=record_id,
            version=version,
            payload=(msg or replica).SerializeToString(),
            verified=True,
        )
        return exchange_pb2.FeedApplyBatchRequest(origin="EJN", cursor=version, records=[record])

    assert (await feed.ApplyReplicaBatch(apply(3), metadata=ADMIN)).applied == 1
    again = await feed.ApplyReplicaBatch(apply(3), metadata=ADMIN)
    assert (again.applied, again.ignored) == (0, 1)
    older = await feed.ApplyReplicaBatch(apply(2), metadata=ADMIN)
    assert (older.applied, older.ignored) == (0, 1)
    assert older.cursor == 3  # the stored cursor never moves back

    got = await stub.GetAuthority(directory_pb2.GetRecordRequest(id=record_id), metadata=MEMBER)
    assert got.meta.origin == "EJN"
    assert got.meta.version == 3  # the version held
    assert got.meta.provenance.verified
    # anonymous callers do not see federation records, replicated or not
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetAuthority(directory_pb2.GetRecordRequest(id=record_id))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND

    lookup = await stub.Lookup(directory_pb2.LookupRequest(jurisdiction="FR"), metadata=MEMBER)
    assert [i.authority.meta.id for i in lookup.items] == [record_id]
    assert "EJN" in lookup.networks_consulted

    edit = authority(jurisdiction="FR", name="changed")
    edit.meta.id = record_id
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.UpdateAuthority(
            directory_pb2.UpdateAuthorityRequest(authority=edit), metadata=EDITOR
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    detail = detail_from_trailers(info.value.trailing_metadata())
    assert detail is not None and detail.owner == "EJN"

    hijack = exchange_pb2.FeedReplica(
        origin="WACAP",
        kind="authority",
        record_id=record_id,
        version=9,
        payload=replica.SerializeToString(),
        verified=True,
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feed.ApplyReplicaBatch(
            exchange_pb2.FeedApplyBatchRequest(origin="WACAP", records=[hijack]), metadata=ADMIN
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    tombstone = exchange_pb2.FeedReplica(
        origin="EJN", kind="authority", record_id=record_id, version=4, deleted=True
    )
    removed = await feed.ApplyReplicaBatch(
        exchange_pb2.FeedApplyBatchRequest(origin="EJN", cursor=4, records=[tombstone]),
        metadata=ADMIN,
    )
    assert removed.applied == 1
    lookup = await stub.Lookup(directory_pb2.LookupRequest(jurisdiction="FR"), metadata=MEMBER)
    assert list(lookup.items) == []


async def test_import_is_all_or_nothing(stub: directory_pb2_grpc.DirectoryServiceStub) -> None:
    ca_id = new_id()
    good = directory_pb2.ImportRow(row=1, authority=authority(meta={"id": ca_id}))
    contact = directory_pb2.ImportRow(
        row=2,
        contact_point=directory_pb2.ContactPoint(
            authority_id=ca_id,
            jurisdiction="VN",
            name="Nguyen Thi Lan",
            languages=["vi", "en"],
            competences=["mla"],
            visibility="network",
        ),
    )
    bad = directory_pb2.ImportRow(
        row=3,
        contact_point=directory_pb2.ContactPoint(
            authority_id=ca_id, jurisdiction="TH", name="", email="nope"
        ),
    )
    result = await stub.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(rows=[good, contact, bad]), metadata=EDITOR
    )
    assert {(e.row, e.field) for e in result.errors} == {
        (3, "name"),
        (3, "email"),
        (3, "authority_id"),
    }
    listed = await stub.ListAuthorities(directory_pb2.ListAuthoritiesRequest(), metadata=EDITOR)
    assert list(listed.items) == []

    result = await stub.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(rows=[good, contact]), metadata=EDITOR
    )
    assert (result.created, result.updated, list(result.errors)) == (2, 0, [])
    result = await stub.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(rows=[good, contact]), metadata=EDITOR
    )
    assert (result.created, result.updated) == (1, 1)  # the contact point had no id: new row
    lookup = await stub.Lookup(
        directory_pb2.LookupRequest(jurisdiction="VN", language="vi"), metadata=MEMBER
    )
    assert {i.kind for i in lookup.items} == {"authority", "contact_point"}


async def test_concurrent_updates_one_wins(stub: directory_pb2_grpc.DirectoryServiceStub) -> None:
    created = await stub.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(authority=authority()), metadata=EDITOR
    )

    async def update(name: str) -> str:
        msg = authority(name=name)
        msg.meta.id = created.meta.id
        try:
            await stub.UpdateAuthority(
                directory_pb2.UpdateAuthorityRequest(authority=msg, expected_version=1),
                metadata=EDITOR,
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        return "OK"

    results = await asyncio.gather(*(update(f"name {i}") for i in range(5)))
    assert sorted(results) == ["FAILED_PRECONDITION"] * 4 + ["OK"]
    got = await stub.GetAuthority(
        directory_pb2.GetRecordRequest(id=created.meta.id), metadata=EDITOR
    )
    assert got.meta.version == 2


async def test_replica_batch_applies_in_order_with_its_cursor(
    stub: directory_pb2_grpc.DirectoryServiceStub, feed: exchange_pb2_grpc.ReplicaFeedStub
) -> None:
    """One batch: the same outcome as applying its records one by one, all or nothing."""
    kept, gone, back = new_id(), new_id(), new_id()

    def rec(record_id: str, version: int, name: str = "", deleted: bool = False) -> Any:
        msg = authority(jurisdiction="FR", name=name or f"Office v{version}", visibility="public")
        msg.meta.id, msg.meta.origin, msg.meta.version = record_id, "EJN", version
        return exchange_pb2.FeedReplica(
            origin="EJN",
            kind="authority",
            record_id=record_id,
            version=version,
            deleted=deleted,
            payload=b"" if deleted else msg.SerializeToString(),
            verified=True,
        )

    first = exchange_pb2.FeedApplyBatchRequest(
        origin="EJN", cursor=10, records=[rec(kept, 1), rec(gone, 1), rec(back, 1)]
    )
    assert (await feed.ApplyReplicaBatch(first, metadata=ADMIN)).applied == 3
    since = (
        await feed.GetReplicationCursor(
            exchange_pb2.FeedCursorRequest(origin="EJN"), metadata=ADMIN
        )
    ).cursor
    assert since == 10
    second = exchange_pb2.FeedApplyBatchRequest(
        origin="EJN",
        cursor=20,
        records=[
            rec(kept, 3, "Office renamed"),
            rec(kept, 2, "Older, ignored"),
            rec(gone, 2, deleted=True),
            rec(back, 2, deleted=True),
            rec(back, 3, "Office re-created"),
            rec(new_id(), 1, deleted=True),  # a tombstone for a record never held
        ],
    )
    result = await feed.ApplyReplicaBatch(second, metadata=ADMIN)
    assert (result.applied, result.ignored, result.cursor) == (4, 2, 20)

    listed = await stub.ListAuthorities(
        directory_pb2.ListAuthoritiesRequest(network="EJN"), metadata=MEMBER
    )
    assert sorted((a.meta.id, a.name, a.meta.version) for a in listed.items) == sorted(
        [(kept, "Office renamed", 3), (back, "Office re-created", 3)]
    )
    got = await stub.GetAuthority(directory_pb2.GetRecordRequest(id=back), metadata=MEMBER)
    assert got.meta.provenance.verified and got.meta.provenance.HasField("synced_at")
    lookup = await stub.Lookup(directory_pb2.LookupRequest(jurisdiction="FR"), metadata=MEMBER)
    assert {i.authority.name for i in lookup.items} >= {"Office renamed", "Office re-created"}
    assert gone not in {i.authority.meta.id for i in lookup.items}

    # The change log holds each applied step, in order, for the index and the feed.
    log = feed.WatchChanges(exchange_pb2.FeedWatchRequest(since_seq=0), metadata=ADMIN)
    steps = [(c.record_id, c.version, c.deleted) async for c in log if c.origin == "EJN"][-4:]
    assert steps == [(kept, 3, False), (gone, 2, True), (back, 2, True), (back, 3, False)]
    # The batched feed carries the same changes, in the same order.
    batches = feed.WatchChangeBatches(exchange_pb2.FeedWatchRequest(since_seq=0), metadata=ADMIN)
    batched = [(c.record_id, c.version, c.deleted) async for b in batches for c in b.changes]
    assert [s for s in batched if s[0] in (kept, gone, back)][-4:] == steps

    # A record of another origin in the batch: refused, and nothing of it is applied.
    hijack = exchange_pb2.FeedApplyBatchRequest(
        origin="EJN", cursor=30, records=[rec(new_id(), 1), rec(kept, 9)]
    )
    hijack.records[1].origin = "WACAP"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feed.ApplyReplicaBatch(hijack, metadata=ADMIN)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    cursor = await feed.GetReplicationCursor(
        exchange_pb2.FeedCursorRequest(origin="EJN"), metadata=ADMIN
    )
    assert (cursor.cursor, cursor.records) == (20, 2)
    # Another peer's batch naming a record EJN owns: refused as a whole, cursor untouched.
    other = rec(kept, 9)
    other.origin = "WACAP"
    payload = directory_pb2.Authority.FromString(other.payload)
    payload.meta.origin = "WACAP"
    other.payload = payload.SerializeToString()
    taken = exchange_pb2.FeedApplyBatchRequest(origin="WACAP", cursor=5, records=[other])
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await feed.ApplyReplicaBatch(taken, metadata=ADMIN)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The refusal names the record, so federation quarantines it and applies the rest.
    detail = detail_from_trailers(info.value.trailing_metadata())
    assert detail is not None
    assert [v.field for v in detail.violations] == ["records[0].origin"]
    wacap = await feed.GetReplicationCursor(
        exchange_pb2.FeedCursorRequest(origin="WACAP"), metadata=ADMIN
    )
    assert (wacap.cursor, wacap.records) == (0, 0)
    got = await stub.GetAuthority(directory_pb2.GetRecordRequest(id=kept), metadata=MEMBER)
    assert (got.meta.origin, got.meta.version) == ("EJN", 3)

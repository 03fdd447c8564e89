"""Signed replication between real nodes over mutual TLS."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2
from justnet.federation.v1 import federation_pb2

from services.common.keyring import load_identity
from services.federation import peer_server, subscriber
from services.federation.peer_client import SUBSCRIBE, PeerClient
from services.federation.signatures import open_record
from tests.federation.conftest import FedNode, NodeFactory, eventually, peer

pytestmark = pytest.mark.slow


async def test_shared_records_arrive_verified_and_network_records_stay(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    shared = await sea.create_authority("Office of the Attorney General", "federation")
    public = await sea.create_authority("Ministry of Justice", "public")
    kept = await sea.create_authority("Internal Liaison Desk", "network")
    private = await sea.create_authority("Editors' Draft", "private")

    async def arrived() -> list[directory_pb2.Authority]:
        got = await ejn.replicas_from("SEAJUST")
        return got if len(got) == 2 else []

    got = await eventually(arrived, "two shared records on EJN")
    assert {a.meta.id for a in got} == {shared.meta.id, public.meta.id}
    for record in got:
        assert record.meta.origin == "SEAJUST"
        assert record.meta.provenance.verified
        assert record.meta.provenance.HasField("synced_at")
    # neither restricted record exists on EJN, not even for its editors
    for rid in (kept.meta.id, private.meta.id):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await ejn.dir.GetAuthority(directory_pb2.GetRecordRequest(id=rid), metadata=ejn.editor)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    # the lookup on EJN answers across both networks
    lookup = await ejn.dir.Lookup(
        directory_pb2.LookupRequest(jurisdiction="TH"), metadata=ejn.member
    )
    assert {i.authority.meta.id for i in lookup.items} == {shared.meta.id, public.meta.id}
    assert set(lookup.networks_consulted) >= {"EJN", "SEAJUST"}
    # anonymous callers on EJN see only the public one
    anon = await ejn.dir.Lookup(directory_pb2.LookupRequest(jurisdiction="TH"))
    assert [i.authority.meta.id for i in anon.items] == [public.meta.id]
    await eventually(lambda: _state(sea, "EJN", "connected"), "SEAJUST connected to EJN")
    # The full peer list counts replicas; the brief one (asked on every lookup) does not.
    full = (await ejn.fed().ListPeers(federation_pb2.ListPeersRequest(), metadata=ejn.admin)).peers
    brief = (
        await ejn.fed().ListPeers(federation_pb2.ListPeersRequest(brief=True), metadata=ejn.admin)
    ).peers
    assert [(p.network, p.records) for p in full] == [("SEAJUST", 2)]
    assert [(p.network, p.records, p.cursor) for p in brief] == [("SEAJUST", 0, 0)]
    assert brief[0].state == full[0].state


async def test_updates_deletes_and_revoked_shares_propagate(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    a = await sea.create_authority("Authority A", "federation")
    b = await sea.create_authority("Authority B", "federation")
    await eventually(lambda: _count(ejn, 2), "both records")

    edit = directory_pb2.Authority(
        jurisdiction="TH",
        name="Authority A (renamed)",
        kind="central_authority",
        visibility="federation",
    )
    edit.meta.id = a.meta.id
    await sea.dir.UpdateAuthority(
        directory_pb2.UpdateAuthorityRequest(authority=edit), metadata=sea.editor
    )
    await sea.dir.DeleteAuthority(
        directory_pb2.DeleteRecordRequest(id=b.meta.id), metadata=sea.editor
    )

    async def renamed() -> bool:
        got = await ejn.replicas_from("SEAJUST")
        return [x.name for x in got] == ["Authority A (renamed)"]

    await eventually(renamed, "rename and delete on EJN")
    # Revoking the share (federation -> network) removes EJN's copy.
    edit.name = "Authority A (now network only)"
    edit.visibility = "network"
    await sea.dir.UpdateAuthority(
        directory_pb2.UpdateAuthorityRequest(authority=edit), metadata=sea.editor
    )
    await eventually(lambda: _count(ejn, 0, admin=True), "revoked record gone from EJN")
    # replicas are read-only on EJN and the refusal names the owner
    with pytest.raises(grpc.aio.AioRpcError):
        await ejn.dir.DeleteAuthority(
            directory_pb2.DeleteRecordRequest(id=a.meta.id), metadata=ejn.editor
        )


async def _count(node, n: int, admin: bool = False) -> bool:  # type: ignore[no-untyped-def]
    reply = await node.dir.ListAuthorities(
        directory_pb2.ListAuthoritiesRequest(network="SEAJUST", page={"limit": 500}),
        metadata=node.admin if admin else node.member,
    )
    return len(reply.items) == n


async def test_restart_mid_stream_loses_and_duplicates_nothing(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    rows = [
        directory_pb2.ImportRow(
            row=i + 1,
            authority=directory_pb2.Authority(
                jurisdiction="VN", name=f"Authority {i:04d}", kind="court", visibility="federation"
            ),
        )
        for i in range(4000)
    ]
    result = await sea.dir.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(rows=rows), metadata=sea.editor, timeout=120
    )
    assert result.created == 4000
    await peer(sea, ejn)

    async def some() -> int:
        n = len(await ejn.replicas_from("SEAJUST"))
        return n if n > 0 else 0

    await eventually(some, "the first batches")
    # EJN's federation process stops mid-stream (between or inside batches) and starts
    # again: it resumes from the cursor its directory stored with the last applied batch.
    await ejn.stop_federation()
    partial = (
        await ejn.dir_feed.GetReplicationCursor(
            exchange_pb2.FeedCursorRequest(origin="SEAJUST"), metadata=ejn.admin
        )
    ).records
    await ejn.start_federation()

    async def complete() -> int:
        cursor = await ejn.dir_feed.GetReplicationCursor(
            exchange_pb2.FeedCursorRequest(origin="SEAJUST"), metadata=ejn.admin
        )
        return cursor.records if cursor.records >= 4000 else 0

    assert await eventually(complete, "all 4000 records", within=30) == 4000
    assert partial <= 4000
    names: list[str] = []
    cursor = ""
    while True:
        page = await ejn.dir.ListAuthorities(
            directory_pb2.ListAuthoritiesRequest(
                network="SEAJUST", page={"limit": 500, "cursor": cursor}
            ),
            metadata=ejn.member,
        )
        names += [a.name for a in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert names == [f"Authority {i:04d}" for i in range(4000)]


async def test_a_peer_down_for_a_while_catches_up(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await sea.create_authority("Before the outage")
    await eventually(lambda: _count(ejn, 1), "first record")
    await sea.stop_federation()  # SEAJUST's peer port goes away; its directory keeps working
    await sea.create_authority("During the outage")

    async def not_connected() -> str:
        status = await ejn.peer_status("SEAJUST")
        return status.state if status and status.state in ("backing_off", "unreachable") else ""

    await eventually(not_connected, "EJN to notice SEAJUST is down")
    status = await ejn.peer_status("SEAJUST")
    assert status is not None and status.last_error
    await sea.start_federation()
    await eventually(lambda: _count(ejn, 2), "catch-up after the outage", within=40)
    await eventually(
        lambda: _state(ejn, "SEAJUST", "connected"), "EJN to report SEAJUST connected", within=10
    )


async def test_a_peer_gone_silent_is_backing_off_not_refused(
    make_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream that stays open but carries nothing (a partition: the packets go nowhere)
    is a failure to reach the peer; `refused` is for bad records and credentials."""
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await eventually(lambda: _state(ejn, "SEAJUST", "connected"), "EJN connected to SEAJUST")
    # SEAJUST sends its first heartbeat and then nothing; EJN gives up after half a second.
    monkeypatch.setattr(peer_server, "HEARTBEAT_SECONDS", 3600.0)
    monkeypatch.setattr(subscriber, "IDLE_TIMEOUT", 0.5)

    async def silent() -> federation_pb2.PeerStatus | None:
        status = await ejn.peer_status("SEAJUST")
        return status if status is not None and "no heartbeat" in status.last_error else None

    status = await eventually(silent, "EJN to notice that SEAJUST went silent")
    assert status.state == "backing_off", status


async def _state(node, network: str, state: str) -> bool:  # type: ignore[no-untyped-def]
    status = await node.peer_status(network)
    return status is not None and status.state == state


async def test_three_nodes_each_see_the_others_and_no_relay(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    wacap = await make_node("WACAP")
    await peer(sea, ejn)
    await peer(ejn, wacap)  # SEAJUST and WACAP are not peers
    await sea.create_authority("SEAJUST record")
    await wacap.create_authority("WACAP record")
    await eventually(lambda: _has(ejn, {"SEAJUST", "WACAP"}), "EJN to hold both")
    await asyncio.sleep(1.0)
    # EJN never relays one network's records to another
    assert not await wacap.replicas_from("SEAJUST")
    assert not await sea.replicas_from("WACAP")


async def _has(node, origins: set[str]) -> bool:  # type: ignore[no-untyped-def]
    found = set()
    for origin in origins:
        if await node.replicas_from(origin):
            found.add(origin)
    return found == origins


async def _ejn_holding_a_record_of_seajust(make_node: NodeFactory) -> FedNode:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await sea.create_authority("Soon gone")
    await eventually(lambda: _count(ejn, 1), "record")
    return ejn


async def test_removing_a_peer_drops_its_records(make_node: NodeFactory) -> None:
    ejn = await _ejn_holding_a_record_of_seajust(make_node)
    await ejn.fed().RemovePeer(
        federation_pb2.RemovePeerRequest(network="SEAJUST"), metadata=ejn.admin
    )
    await eventually(lambda: _count(ejn, 0, admin=True), "records of the removed peer dropped")


async def test_a_removal_while_the_directory_is_down_is_carried_out_once_it_is_back(
    make_node: NodeFactory,
) -> None:
    from services.directory import service as directory

    ejn = await _ejn_holding_a_record_of_seajust(make_node)
    port = ejn.directory_rt.port
    await ejn.directory_rt.stop(0)
    await ejn.fed().RemovePeer(
        federation_pb2.RemovePeerRequest(network="SEAJUST"), metadata=ejn.admin
    )
    await asyncio.sleep(2.0)  # the purge is tried and fails: the directory is down
    ejn.directory_rt = await directory.start(ejn.settings, port=port)

    async def dropped() -> bool:
        try:
            return await _count(ejn, 0, admin=True)
        except grpc.aio.AioRpcError:  # this test's channel reconnects with backoff too
            return False

    await eventually(dropped, "records dropped once it is back")


async def test_a_removal_while_federation_is_stopped_is_carried_out_at_its_start(
    make_node: NodeFactory,
) -> None:
    from services.common.db import create_engine
    from services.federation.peers import PeerStore

    ejn = await _ejn_holding_a_record_of_seajust(make_node)
    await ejn.stop_federation()
    # What `justnet peer remove SEAJUST` does while the service is stopped.
    engine = create_engine(ejn.settings.federation.database_url, instrument=False)
    try:
        await PeerStore(engine, "EJN").remove("SEAJUST")
    finally:
        await engine.dispose()
    assert await _count(ejn, 1, admin=True)  # nothing dropped yet
    await ejn.start_federation()
    await eventually(lambda: _count(ejn, 0, admin=True), "records dropped at start")


async def test_policy_without_personal_details(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    ca = await sea.create_authority("Central Authority", "public")
    await sea.dir.CreateContactPoint(
        directory_pb2.CreateContactPointRequest(
            contact_point=directory_pb2.ContactPoint(
                authority_id=ca.meta.id,
                jurisdiction="TH",
                name="Fictional Person",
                languages=["th"],
                email="person@th.justnet.example",
                phone="+66 2 123 4567",
                visibility="federation",
            )
        ),
        metadata=sea.editor,
    )
    await peer(sea, ejn, share="no_personal_details")

    async def contact() -> list[directory_pb2.ContactPoint]:
        reply = await ejn.dir.ListContactPoints(
            directory_pb2.ListContactPointsRequest(network="SEAJUST"), metadata=ejn.member
        )
        return list(reply.items)

    got = await eventually(contact, "the contact point")
    assert got[0].name == "Fictional Person"
    assert got[0].email == "" and got[0].phone == ""


async def test_a_sharing_policy_change_withdraws_what_is_no_longer_shared(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await sea.create_authority("Central Authority", "federation")
    await sea.create_authority("Public Prosecutor", "public")
    await eventually(lambda: _count(ejn, 2), "both records on EJN")

    # SEAJUST now shares only public records with EJN: the federation record, unchanged
    # itself, must leave EJN; the public one stays.
    await sea.fed().AddPeer(
        federation_pb2.AddPeerRequest(
            descriptor=ejn.descriptor(), share="public_only", replace=True
        ),
        metadata=sea.admin,
    )

    async def only_public() -> bool:
        got = await ejn.replicas_from("SEAJUST", ejn.admin)
        return [a.name for a in got] == ["Public Prosecutor"]

    await eventually(only_public, "the withdrawn record gone from EJN", within=30)
    # Sharing it again brings it back.
    await sea.fed().AddPeer(
        federation_pb2.AddPeerRequest(descriptor=ejn.descriptor(), share="default", replace=True),
        metadata=sea.admin,
    )
    await eventually(lambda: _count(ejn, 2), "the record shared again", within=30)


async def test_a_subscriber_that_asks_for_no_batches_gets_one_signed_record_each(
    make_node: NodeFactory,
) -> None:
    """The stream form of subscribers that predate batches (`max_batch = 0`)."""
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await sea.create_authority("Central Authority", "federation")
    await sea.create_authority("Internal Unit", "network")
    assert ejn.federation_rt is not None
    seajust = ejn.federation_rt.manager.peers["SEAJUST"]
    client = PeerClient("EJN", load_identity(ejn.settings), seajust)
    body = federation_pb2.SubscribeRequest(
        since_cursor=0, feed="directory", max_batch=0
    ).SerializeToString()
    records: list[federation_pb2.RecordEnvelope] = []
    async with client.channel() as channel:
        call = channel.unary_stream(SUBSCRIBE, request_serializer=None, response_deserializer=None)
        stream = call(body, metadata=client.signed(SUBSCRIBE, body), timeout=10)
        async for raw in stream:
            message = federation_pb2.SignedRecord.FromString(raw)
            assert not message.batch  # bytes: empty unless batched
            if message.heartbeat:
                if len(records) == 2:
                    break
                continue
            records.append(open_record(message, seajust, "EJN"))  # verified, then parsed
        stream.cancel()
    shared, withheld = records
    assert (shared.origin, shared.destination, shared.deleted) == ("SEAJUST", "EJN", False)
    assert directory_pb2.Authority.FromString(shared.payload).name == "Central Authority"
    # A record the policy does not share travels as a tombstone, with no payload.
    assert withheld.deleted and withheld.payload == b""
    assert shared.cursor < withheld.cursor

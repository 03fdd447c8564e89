"""A peer speaks only for its states (ARCHITECTURE section 4): records for a state the
peer is not accepted for, or claiming a last_verified_at in the future, go to the
quarantine; records this node's directory refuses do too; the feed goes on past them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2
from justnet.federation.v1 import federation_pb2
from sqlalchemy import text

from services.common.db import create_engine
from services.common.timeutil import utcnow
from tests.federation.conftest import FedNode, NodeFactory, eventually

pytestmark = pytest.mark.slow


async def authority(node: FedNode, jurisdiction: str, name: str) -> directory_pb2.Authority:
    result: directory_pb2.Authority = await node.dir.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(
            authority=directory_pb2.Authority(
                jurisdiction=jurisdiction,
                name=name,
                kind="central_authority",
                competences=["mla"],
                visibility="federation",
            )
        ),
        metadata=node.editor,
    )
    return result


async def tamper(
    node: FedNode, record_id: str, change: Callable[[directory_pb2.Authority], None]
) -> None:
    """Rewrites what the origin's change log says of a record, before any peer read it: a
    node whose data (or clock) is wrong still signs what its directory hands it."""
    engine = create_engine(node.settings.directory.database_url, instrument=False)
    try:
        async with engine.begin() as conn:
            seq, payload = (
                await conn.execute(
                    text(
                        "SELECT seq, payload FROM directory_changes WHERE record_id = :id "
                        "ORDER BY seq DESC LIMIT 1"
                    ),
                    {"id": record_id},
                )
            ).one()
            msg = directory_pb2.Authority.FromString(payload)
            change(msg)
            await conn.execute(
                text("UPDATE directory_changes SET payload = :p WHERE seq = :s"),
                {"p": msg.SerializeToString(), "s": seq},
            )
    finally:
        await engine.dispose()


async def head(node: FedNode) -> int:
    """The last sequence number of the node's directory change log."""
    engine = create_engine(node.settings.directory.database_url, instrument=False)
    try:
        async with engine.connect() as conn:
            return int(
                (await conn.execute(text("SELECT MAX(seq) FROM directory_changes"))).one()[0]
            )
    finally:
        await engine.dispose()


async def add_peer(node: FedNode, other: FedNode, **kw: Any) -> federation_pb2.PeerStatus:
    reply: federation_pb2.PeerStatus = await node.fed().AddPeer(
        federation_pb2.AddPeerRequest(descriptor=other.descriptor(), **kw), metadata=node.admin
    )
    return reply


async def quarantine(node: FedNode, **kw: Any) -> list[federation_pb2.QuarantinedRecord]:
    reply = await node.fed().ListQuarantine(
        federation_pb2.ListQuarantineRequest(**kw), metadata=node.admin
    )
    return list(reply.items)


async def held_ids(node: FedNode, origin: str) -> set[str]:
    return {a.meta.id for a in await node.replicas_from(origin, node.admin)}


async def test_a_narrowed_peers_other_states_land_in_quarantine(make_node: NodeFactory) -> None:
    sea = await make_node("SEAJUST")
    wacap = await make_node("WACAP")  # its descriptor lists NG, SN, GH
    ng = await authority(wacap, "NG", "Federal Ministry of Justice")
    sn = await authority(wacap, "SN", "Ministère de la Justice")
    # A state the descriptor does not list cannot be accepted.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await add_peer(sea, wacap, accepted_jurisdictions=["NG", "TH"])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "accepted_jurisdictions[1]" in (info.value.details() or "")
    added = await add_peer(sea, wacap, accepted_jurisdictions=["NG"])
    assert list(added.accepted_jurisdictions) == ["NG"]
    await add_peer(wacap, sea)

    async def sn_quarantined() -> list[federation_pb2.QuarantinedRecord]:
        return await quarantine(sea)

    [item] = await eventually(sn_quarantined, "the SN record in quarantine")
    assert (item.peer, item.feed, item.kind, item.record_id) == (
        "WACAP",
        "directory",
        "authority",
        sn.meta.id,
    )
    assert (item.jurisdiction, item.reason) == ("SN", "jurisdiction_not_accepted")
    assert item.version == sn.meta.version and item.HasField("received_at")
    assert "SN" in item.detail
    await eventually(lambda: _holds(sea, {ng.meta.id}), "only the NG record applied")
    status = await sea.peer_status("WACAP")
    assert status is not None
    assert list(status.jurisdictions) == ["NG", "SN", "GH"]
    assert list(status.accepted_jurisdictions) == ["NG"]
    assert status.quarantined == 1
    await eventually(lambda: _connected(sea), "the feed still connected")

    # Accepting SN too re-reads the feed: the record is applied, the quarantine empties.
    await add_peer(sea, wacap, replace=True, accepted_jurisdictions=["NG", "SN"])
    await eventually(lambda: _holds(sea, {ng.meta.id, sn.meta.id}), "SN applied after widening")
    await eventually(lambda: _empty(sea), "the quarantine emptied")
    # A replace that names no states keeps the narrowing (within the new descriptor).
    again = await add_peer(sea, wacap, replace=True)
    assert list(again.accepted_jurisdictions) == ["NG", "SN"]
    # Narrowing again removes the copy already held, and quarantines it anew.
    await add_peer(sea, wacap, replace=True, accepted_jurisdictions=["NG"])
    await eventually(lambda: _holds(sea, {ng.meta.id}), "the SN copy removed after narrowing")
    [item] = await eventually(sn_quarantined, "the SN record back in quarantine")
    assert item.record_id == sn.meta.id
    # Live records follow the same rule.
    gh = await authority(wacap, "GH", "Office of the Attorney General")
    ng2 = await authority(wacap, "NG", "Economic and Financial Crimes Commission")
    await eventually(lambda: _holds(sea, {ng.meta.id, ng2.meta.id}), "the live NG record")

    async def both() -> set[str]:
        ids = {i.record_id for i in await quarantine(sea)}
        return ids if ids == {sn.meta.id, gh.meta.id} else set()

    await eventually(both, "the live GH record in quarantine")
    # Newest first, a page at a time.
    first = await sea.fed().ListQuarantine(
        federation_pb2.ListQuarantineRequest(peer="WACAP", limit=1), metadata=sea.admin
    )
    assert [i.record_id for i in first.items] == [gh.meta.id] and first.next_cursor
    second = await sea.fed().ListQuarantine(
        federation_pb2.ListQuarantineRequest(peer="WACAP", limit=1, cursor=first.next_cursor),
        metadata=sea.admin,
    )
    assert [i.record_id for i in second.items] == [sn.meta.id] and not second.next_cursor
    assert await quarantine(sea, peer="EJN") == []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await quarantine(sea, limit=501)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await sea.fed().ListQuarantine(federation_pb2.ListQuarantineRequest(), metadata=sea.editor)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Removing the peer forgets its quarantined records with its replicas.
    await sea.fed().RemovePeer(
        federation_pb2.RemovePeerRequest(network="WACAP"), metadata=sea.admin
    )
    await eventually(lambda: _empty(sea), "the quarantine of a removed peer forgotten")


async def test_future_last_verified_at_and_refused_records_do_not_stop_the_feed(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST")
    wacap = await make_node("WACAP")
    future = await authority(wacap, "NG", "Claims to be verified tomorrow")
    skewed = await authority(wacap, "NG", "Verified two minutes ahead (clock skew)")
    refused = await authority(wacap, "NG", "Refused by the directory")
    valid = await authority(wacap, "NG", "Valid after the bad ones")

    def verified_in(delta: timedelta) -> Callable[[directory_pb2.Authority], None]:
        def change(msg: directory_pb2.Authority) -> None:
            msg.meta.last_verified_at.FromDatetime(utcnow() + delta)

        return change

    def nameless(msg: directory_pb2.Authority) -> None:
        msg.name = ""

    await tamper(wacap, future.meta.id, verified_in(timedelta(days=1)))
    await tamper(wacap, skewed.meta.id, verified_in(timedelta(minutes=2)))
    await tamper(wacap, refused.meta.id, nameless)
    await add_peer(sea, wacap)
    await add_peer(wacap, sea)

    # The record after the bad ones arrives, in the same batch, and the cursor moves on.
    async def valid_arrived() -> set[str]:
        held = await held_ids(sea, "WACAP")
        return held if valid.meta.id in held else set()

    held = await eventually(valid_arrived, "the valid record after the bad ones")
    assert future.meta.id not in held, "a last_verified_at a day ahead was applied"
    assert held == {skewed.meta.id, valid.meta.id}  # two minutes ahead: clock skew, applied

    async def both() -> dict[str, federation_pb2.QuarantinedRecord]:
        items = {i.record_id: i for i in await quarantine(sea)}
        return items if len(items) == 2 else {}

    items = await eventually(both, "two records in quarantine")
    assert items[future.meta.id].reason == "last_verified_in_future"
    assert items[future.meta.id].jurisdiction == "NG"
    assert "last_verified_at" in items[future.meta.id].detail
    assert items[refused.meta.id].reason == "refused"
    assert items[refused.meta.id].jurisdiction == "NG"
    assert "name" in items[refused.meta.id].detail
    cursor = await sea.dir_feed.GetReplicationCursor(
        exchange_pb2.FeedCursorRequest(origin="WACAP"), metadata=sea.admin
    )
    assert cursor.cursor == await head(wacap) and cursor.records == 2
    await eventually(lambda: _connected(sea), "the feed still connected")
    # Records written after them keep arriving on the same stream.
    later = await authority(wacap, "SN", "A live record after the quarantined ones")
    await eventually(
        lambda: _holds(sea, {skewed.meta.id, valid.meta.id, later.meta.id}), "the live record"
    )
    status = await sea.peer_status("WACAP")
    assert status is not None and status.state == "connected" and status.quarantined == 2
    # A fixed version of a quarantined record is applied and leaves the quarantine.
    fixed = directory_pb2.Authority(
        jurisdiction="NG", name="Named now", kind="central_authority", visibility="federation"
    )
    fixed.meta.id = refused.meta.id
    await wacap.dir.UpdateAuthority(
        directory_pb2.UpdateAuthorityRequest(authority=fixed), metadata=wacap.editor
    )

    async def fixed_applied() -> bool:
        ids = {i.record_id for i in await quarantine(sea)}
        return ids == {future.meta.id} and refused.meta.id in await held_ids(sea, "WACAP")

    await eventually(fixed_applied, "the fixed record applied and out of quarantine")


async def test_a_record_another_peer_holds_is_quarantined_and_the_feed_goes_on(
    make_node: NodeFactory,
) -> None:
    """A peer's record with the id of a record another peer owns is refused by the
    directory naming that record (records[i].origin): it is quarantined and the rest of
    the batch applied, like any record the directory refuses."""
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    wacap = await make_node("WACAP")
    owned = await authority(ejn, "FR", "Bureau de l'entraide pénale internationale")
    for a, b in ((sea, ejn), (ejn, sea)):
        await add_peer(a, b)

    async def ejn_held() -> bool:
        return owned.meta.id in {a.meta.id for a in await sea.replicas_from("EJN", sea.admin)}

    await eventually(ejn_held, "EJN's record held")
    # WACAP's directory takes the same id for a record of its own (an import names ids).
    claim = directory_pb2.Authority(
        jurisdiction="NG", name="Claims EJN's id", kind="central_authority", visibility="federation"
    )
    claim.meta.id = owned.meta.id
    imported = await wacap.dir.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(
            rows=[directory_pb2.ImportRow(row=1, authority=claim)]
        ),
        metadata=wacap.editor,
    )
    assert imported.created == 1, imported.errors
    valid = await authority(wacap, "NG", "Valid after the claim")
    for a, b in ((sea, wacap), (wacap, sea)):
        await add_peer(a, b)

    await eventually(lambda: _holds(sea, {valid.meta.id}), "the record after the claim")
    [item] = await eventually(lambda: quarantine(sea, peer="WACAP"), "the claim in quarantine")
    assert (item.record_id, item.reason) == (owned.meta.id, "refused")
    assert "origin" in item.detail and "EJN" in item.detail
    got = await sea.dir.GetAuthority(
        directory_pb2.GetRecordRequest(id=owned.meta.id), metadata=sea.admin
    )
    assert (got.meta.origin, got.name) == ("EJN", owned.name)
    await eventually(lambda: _connected(sea), "the feed still connected")


async def _holds(node: FedNode, ids: set[str]) -> bool:
    return await held_ids(node, "WACAP") == ids


async def _empty(node: FedNode) -> bool:
    return await quarantine(node) == []


async def _connected(node: FedNode) -> bool:
    status = await node.peer_status("WACAP")
    return status is not None and status.state == "connected"


async def test_codes_a_newer_peer_knows_are_kept_and_shown_as_given(
    make_node: NodeFactory,
) -> None:
    """A peer on a newer version may send a competence or kind this node does not know,
    or a phone number newer numbering data accepts: the record is applied with the values
    as given, not refused (issue 13, point 1)."""
    sea = await make_node("SEAJUST")
    wacap = await make_node("WACAP")
    newer = await authority(wacap, "NG", "Office with newer codes")

    def from_a_newer_version(msg: directory_pb2.Authority) -> None:
        msg.competences.append("space_law")
        msg.kind = "asset_recovery_office_v2"
        msg.phone = "+999 555 0100"  # no such country code in this node's data

    await tamper(wacap, newer.meta.id, from_a_newer_version)
    await add_peer(sea, wacap)
    await add_peer(wacap, sea)
    await eventually(lambda: _holds(sea, {newer.meta.id}), "the record with newer codes")
    [held] = [a for a in await sea.replicas_from("WACAP", sea.admin) if a.meta.id == newer.meta.id]
    assert list(held.competences) == ["mla", "space_law"]
    assert held.kind == "asset_recovery_office_v2"
    assert held.phone == "+999 555 0100"
    assert await quarantine(sea) == []

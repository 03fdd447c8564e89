"""Events across networks between real nodes (directory, events, federation, gateway)
peered over mutual TLS: replication through federation's events feed, registrations
for a peer's event delivered to its owner and answered back, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2
from sqlalchemy import text

from services.common.db import create_engine
from services.common.identity import Caller
from services.common.keyring import load_identity
from services.common.timeutil import utcnow
from services.federation.peer_client import DELIVER, PeerClient
from services.federation.signatures import sign_message
from tests.postgres import fresh_database
from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world

EVENT = {
    "title": "EJN Plenary, Berlin",
    "kind": "plenary",
    "starts_at": "2099-11-18T09:00:00",
    "ends_at": "2099-11-20T13:00:00",
    "timezone": "Europe/Berlin",
    "venue": {"city": "Berlin", "country": "DE"},
    "languages": ["en", "de"],
    "capacity": 1,
    "visibility": "federation",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ReqNode, ReqNode]]:
    """EJN and SEAJUST, peered; on PostgreSQL each node's events have their own database."""
    async with requests_world(tmp_path) as make:
        if request.param == "sqlite":
            yield await _pair(make)
        else:
            async with fresh_database() as ejn_url, fresh_database() as sea_url:
                yield await _pair(make, ejn_url, sea_url)


async def _pair(
    make: NodeFactory, ejn_url: str | None = None, sea_url: str | None = None
) -> tuple[ReqNode, ReqNode]:
    ejn = await make("EJN", sample_data=False, events_database_url=ejn_url)
    sea = await make("SEAJUST", sample_data=False, events_database_url=sea_url)
    return ejn, sea


async def create(node: ReqNode, **changes: Any) -> dict[str, Any]:
    status, body = await node.call("POST", "/api/v1/events", "editor", json={**EVENT, **changes})
    assert status == 201, body
    result: dict[str, Any] = body
    return result


async def change(node: ReqNode, event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {k: event[k] for k in EVENT} | changes
    status, reply = await node.call(
        "PUT",
        f"/api/v1/events/{event['id']}",
        "editor",
        json=body,
        headers={"If-Match": f'"{event["version"]}"'},
    )
    assert status == 200, reply
    result: dict[str, Any] = reply
    return result


async def seen(node: ReqNode, event_id: str) -> dict[str, Any] | None:
    status, body = await node.call("GET", f"/api/v1/events/{event_id}")
    return body if status == 200 else None


async def gone(node: ReqNode, event_id: str) -> bool:
    status, _ = await node.call("GET", f"/api/v1/events/{event_id}")
    return bool(status == 404)


async def register(node: ReqNode, event_id: str, name: str, role: str = "member") -> dict[str, Any]:
    status, body = await node.call(
        "POST", f"/api/v1/events/{event_id}/registrations", role, json={"name": name}
    )
    assert status == 201, body
    result: dict[str, Any] = body
    return result


async def registration(node: ReqNode, reg: dict[str, Any], role: str = "member") -> dict[str, Any]:
    status, body = await node.call(
        "GET", f"/api/v1/events/{reg['event_id']}/registrations/{reg['id']}", role
    )
    assert status == 200, body
    result: dict[str, Any] = body
    return result


def in_state(node: ReqNode, reg: dict[str, Any], state: str, role: str = "member") -> Any:
    async def check() -> dict[str, Any] | None:
        got = await registration(node, reg, role)
        return got if got["state"] == state else None

    return check


async def owner_list(node: ReqNode, event_id: str) -> list[tuple[str, str, str]]:
    status, body = await node.call("GET", f"/api/v1/events/{event_id}/registrations", "editor")
    assert status == 200, body
    return [(r["network"], r["name"], r["state"]) for r in body["items"]]


async def test_shared_events_replicate_with_provenance_and_tombstones(
    pair: tuple[ReqNode, ReqNode],
) -> None:
    ejn, sea = pair
    internal = await create(ejn, title="EJN secretariat meeting", visibility="network")
    plenary = await create(ejn)
    training = await create(ejn, title="EJN training on e-evidence", kind="training")
    replica = await eventually(lambda: seen(sea, training["id"]), "the training at SEAJUST")
    # The feed is in order: the internal meeting came before the training and never arrived.
    assert await gone(sea, internal["id"])
    replica = await seen(sea, plenary["id"])
    assert replica is not None
    assert replica["origin"] == "EJN"
    assert replica["provenance"]["origin"] == "EJN" and replica["provenance"]["verified"]
    assert replica["starts_at"] == "2099-11-18T09:00:00+01:00"
    assert replica["confirmed"] is None  # places are counted at EJN
    # The administrators' view shows the events feed beside the directory's.
    status, peers = await sea.call("GET", "/api/v1/federation/peers", role="admin")
    assert status == 200
    [ejn_peer] = [p for p in peers["items"] if p["network"] == "EJN"]
    feeds = {f["feed"]: f for f in ejn_peer["feeds"]}
    assert set(feeds) == {"directory", "events"}
    assert feeds["events"]["state"] == "connected" and feeds["events"]["records"] >= 2
    _, listed = await sea.call("GET", "/api/v1/events", params={"network": "EJN"})
    assert sorted(e["title"] for e in listed["items"]) == [
        "EJN Plenary, Berlin",
        "EJN training on e-evidence",
    ]
    # Read-only at SEAJUST, even for its editors.
    status, _ = await sea.call(
        "PUT", f"/api/v1/events/{plenary['id']}", "editor", json={**EVENT, "title": "Mine"}
    )
    assert status == 403
    status, _ = await sea.call("DELETE", f"/api/v1/events/{plenary['id']}", "editor")
    assert status == 403
    assert (await seen(sea, plenary["id"]))["title"] == "EJN Plenary, Berlin"  # type: ignore[index]

    # No longer shared: the peer's copy goes (a tombstone); shared again: it comes back.
    narrowed = await change(ejn, plenary, visibility="network")
    await eventually(lambda: gone(sea, plenary["id"]), "the tombstone at SEAJUST")
    await change(ejn, narrowed, visibility="federation", title="EJN Plenary, Berlin (new dates)")
    back = await eventually(lambda: seen(sea, plenary["id"]), "the event shared again")
    assert back["title"] == "EJN Plenary, Berlin (new dates)"
    assert back["version"] == 3
    # Deleted at EJN: deleted at SEAJUST.
    status, _ = await ejn.call("DELETE", f"/api/v1/events/{training['id']}", "editor")
    assert status == 204
    await eventually(lambda: gone(sea, training["id"]), "the deletion at SEAJUST")
    assert await seen(sea, plenary["id"]) is not None


async def test_registration_for_a_peers_event_is_answered_by_its_owner(
    pair: tuple[ReqNode, ReqNode],
) -> None:
    ejn, sea = pair
    event = await create(ejn)
    await eventually(lambda: seen(sea, event["id"]), "the event at SEAJUST")

    first = await register(sea, event["id"], "Somchai Prasert")
    assert first["state"] == "pending" and first["event_origin"] == "EJN"
    confirmed = await eventually(in_state(sea, first, "confirmed"), "EJN's confirmation")
    assert confirmed["network"] == "SEAJUST"
    second = await register(sea, event["id"], "Nguyen Thi Lan", role="member2")
    waitlisted = await eventually(
        in_state(sea, second, "waitlisted", "member2"), "EJN's waitlist answer"
    )
    assert waitlisted["waitlist_position"] == 1
    # EJN's editors see both in the event's registrations; SEAJUST's see their members'.
    assert await owner_list(ejn, event["id"]) == [
        ("SEAJUST", "Somchai Prasert", "confirmed"),
        ("SEAJUST", "Nguyen Thi Lan", "waitlisted"),
    ]
    assert [s for _, _, s in await owner_list(sea, event["id"])] == ["confirmed", "waitlisted"]
    # Each member lists their own: the rows SEAJUST keeps of them, with EJN's answers.
    for role, expected in (
        ("member", [(first["id"], "confirmed", None)]),
        ("member2", [(second["id"], "waitlisted", 1)]),
    ):
        status, mine = await sea.call(
            "GET", f"/api/v1/events/{event['id']}/registrations", role, params={"mine": "true"}
        )
        assert status == 200, mine
        assert [(r["id"], r["state"], r["waitlist_position"]) for r in mine["items"]] == expected
    _, counted = await ejn.call("GET", f"/api/v1/events/{event['id']}")
    assert (counted["confirmed"], counted["waitlisted"]) == (1, 1)

    # The same message again, through EJN's peer endpoint and straight to its events
    # service (as after a crash between hand-over and receipt): the same answer, nothing new.
    payload, receipt = await outbox_row(sea, first["id"])
    assert sea.federation_rt is not None
    ejn_peer = sea.federation_rt.manager.peers["EJN"]
    envelope = federation_pb2.MessageEnvelope(
        origin="SEAJUST",
        destination="EJN",
        message_id=first["id"],
        kind="events.registration",
        payload=payload,
    )
    envelope.sent_at.FromDatetime(utcnow())
    signed = sign_message(load_identity(sea.settings).signing_key, envelope).SerializeToString()
    client = PeerClient("SEAJUST", load_identity(sea.settings), ejn_peer)
    async with client.channel() as channel:
        again = await client.unary(channel, DELIVER, signed, deadline=10)
    assert again == receipt
    mailbox, channel = ejn.mailbox("events")
    try:
        replayed = await mailbox.Receive(
            exchange_pb2.InboundMessage(
                origin="SEAJUST",
                message_id=first["id"],
                kind="events.registration",
                payload=payload,
            ),
            metadata=Caller.node_service("federation", "EJN").metadata(),
        )
    finally:
        await channel.close()
    original = exchange_pb2.ReceiptBody.FromString(
        exchange_pb2.SignedReceipt.FromString(receipt).body
    )
    assert replayed.accepted and replayed.reply == original.reply
    assert len(await owner_list(ejn, event["id"])) == 2
    assert (await ejn.received()).count(first["id"]) == 1

    # The confirmed member cancels at SEAJUST while its federation is down: cancelled at
    # once, and EJN is told once federation is back (not lost to the failed hand-over).
    await sea.stop_federation()
    status, body = await sea.call(
        "DELETE", f"/api/v1/events/{event['id']}/registrations/{first['id']}"
    )
    assert status == 200 and body["state"] == "cancelled", body
    assert (await registration(sea, first))["state"] == "cancelled"
    assert ("SEAJUST", "Somchai Prasert", "confirmed") in await owner_list(ejn, event["id"])
    await sea.start_federation()
    # EJN frees the place, moves the waitlisted member up and tells SEAJUST, where that
    # member sees the confirmation.
    moved = await eventually(
        in_state(sea, second, "confirmed", "member2"), "the promotion at SEAJUST", within=60
    )
    assert (await ejn.received()).count(f"{first['id']}:cancel") == 1
    assert moved["waitlist_position"] is None
    assert await owner_list(ejn, event["id"]) == [
        ("SEAJUST", "Somchai Prasert", "cancelled"),
        ("SEAJUST", "Nguyen Thi Lan", "confirmed"),
    ]
    # EJN's editor cancels that place: SEAJUST learns it too.
    _, owned = await ejn.call("GET", f"/api/v1/events/{event['id']}/registrations", "editor")
    theirs = next(r for r in owned["items"] if r["state"] == "confirmed")
    status, body = await ejn.call(
        "DELETE", f"/api/v1/events/{event['id']}/registrations/{theirs['id']}", "editor"
    )
    assert status == 200 and body["state"] == "cancelled", body
    await eventually(in_state(sea, second, "cancelled", "member2"), "the cancellation at SEAJUST")
    assert (await sea.received()).count(f"{second['id']}:confirmed") == 1


async def test_registration_waits_while_the_owner_is_down(pair: tuple[ReqNode, ReqNode]) -> None:
    ejn, sea = pair
    event = await create(ejn, capacity=0)
    await eventually(lambda: seen(sea, event["id"]), "the event at SEAJUST")
    await ejn.stop_federation()
    reg = await register(sea, event["id"], "Ahmad bin Ismail")
    assert reg["state"] == "pending"
    assert (await registration(sea, reg))["state"] == "pending"
    assert await owner_list(ejn, event["id"]) == []
    await ejn.start_federation()
    await eventually(in_state(sea, reg, "confirmed"), "the answer once EJN is back", within=60)
    assert await owner_list(ejn, event["id"]) == [("SEAJUST", "Ahmad bin Ismail", "confirmed")]
    assert (await ejn.received()).count(reg["id"]) == 1
    # The event is called off: it goes from SEAJUST's calendar and the member's place with it.
    _, owned = await ejn.call("GET", f"/api/v1/events/{event['id']}/registrations", "editor")
    status, _ = await ejn.call("DELETE", f"/api/v1/events/{event['id']}", "editor")
    assert status == 204
    await eventually(in_state(sea, reg, "cancelled"), "the cancellation at SEAJUST")
    # The message and the event's tombstone travel separately (hand-off, feed).
    await eventually(lambda: gone(sea, event["id"]), "the event gone from SEAJUST")

    async def forgotten() -> bool:  # EJN kept the row only until SEAJUST was told
        return await ejn.events_rt.logic.store.registration(owned["items"][0]["id"]) is None

    await eventually(forgotten, "EJN forgetting the registration")


async def outbox_row(node: ReqNode, message_id: str) -> tuple[bytes, bytes]:
    """(payload, signed receipt) of a message this node sent: the payload from the events
    service's hand-off table (federation keeps only a settled message's hash), the receipt
    from federation's outbox."""
    engine = create_engine(node.settings.events.database_url, instrument=False)
    try:
        async with engine.connect() as conn:
            sent = (
                await conn.execute(
                    text("SELECT payload FROM events_handoff WHERE message_id = :id"),
                    {"id": message_id},
                )
            ).first()
    finally:
        await engine.dispose()
    with sqlite3.connect(node.settings.data_dir / "federation.db") as db:
        row = db.execute(
            "SELECT receipt FROM federation_outbox WHERE message_id = ?", (message_id,)
        ).fetchone()
    assert sent is not None and row is not None and row[0], f"no settled message {message_id}"
    return bytes(sent[0]), bytes(row[0])


async def test_registration_while_the_members_federation_is_down_is_kept_and_delivered(
    pair: tuple[ReqNode, ReqNode],
) -> None:
    """The registration and its message to the owner are written in one transaction, so a
    federation that is down (or a Send that times out after federation took it) can
    neither lose the place nor leave a ghost at the owner that the member cannot cancel."""
    ejn, sea = pair
    event = await create(ejn, capacity=0)
    await eventually(lambda: seen(sea, event["id"]), "the event at SEAJUST")
    await sea.stop_federation()
    reg = await register(sea, event["id"], "Ahmad bin Ismail")
    assert reg["state"] == "pending"
    await sea.start_federation()
    await eventually(in_state(sea, reg, "confirmed"), "the owner's answer", within=60)
    assert await owner_list(ejn, event["id"]) == [("SEAJUST", "Ahmad bin Ismail", "confirmed")]
    assert (await ejn.received()).count(reg["id"]) == 1
    # And the member can give the place back: the owner frees it.
    status, body = await sea.call(
        "DELETE", f"/api/v1/events/{event['id']}/registrations/{reg['id']}"
    )
    assert status == 200 and body["state"] == "cancelled", body

    async def freed() -> bool:
        return await owner_list(ejn, event["id"]) == [("SEAJUST", "Ahmad bin Ismail", "cancelled")]

    await eventually(freed, "the place freed at EJN")

"""A member lists their own registrations for an event (`mine`): matched by their network
and principal, never by a name, with their true waitlist positions; editors still list
all without it. On real gRPC servers and through the real gateway, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from aiohttp.test_utils import TestClient
from justnet.events.v1 import events_pb2

from gateway.accounts import AccountStore
from gateway.auth import TokenStore
from services.common.db import create_engine
from services.common.identity import Caller
from tests.integration import test_events as events_tests
from tests.integration.test_events import EDITOR, EVENT_BODY, Stack, create_event

# The events tests' fixtures: a SEAJUST node's events and directory services, and the
# gateway in front of them with an editor and a member service token.
stack = events_tests.stack
gateway = events_tests.gateway


def person(subject: str, network: str = "SEAJUST", **kw: Any) -> tuple[tuple[str, str], ...]:
    """A member called Ana: the display name is the same for everyone here."""
    return Caller("member", network, subject, "Ana", **kw).metadata()


async def listed(
    stack: Stack, event_id: str, metadata: Any, mine: bool = True, state: str = ""
) -> list[tuple[str, str, int]]:
    reply = await stack.events.ListRegistrations(
        events_pb2.ListRegistrationsRequest(event_id=event_id, mine=mine, state=state),
        metadata=metadata,
    )
    return [(r.subject, r.state, r.waitlist_position) for r in reply.items]


async def register(stack: Stack, event_id: str, metadata: Any) -> events_pb2.Registration:
    reply: events_pb2.Registration = await stack.events.Register(
        events_pb2.RegisterRequest(event_id=event_id, name="Ana Lima"), metadata=metadata
    )
    return reply


async def test_mine_is_the_callers_own_with_true_waitlist_positions(stack: Stack) -> None:
    event = await create_event(stack, capacity=1)
    eid = event.meta.id
    await register(stack, eid, person("user:first"))
    # Two more people, the same display name and the same name on the registration.
    second = await register(stack, eid, person("user:second"))
    await register(stack, eid, person("user:third"))

    assert await listed(stack, eid, person("user:third")) == [("user:third", "waitlisted", 2)]
    assert await listed(stack, eid, person("user:second")) == [("user:second", "waitlisted", 1)]
    assert await listed(stack, eid, person("user:nobody")) == []
    # A token migrated from the days of names reaches what its old name owned.
    migrated = person("token:new", legacy_subject="user:second")
    assert await listed(stack, eid, migrated) == [("user:second", "waitlisted", 1)]
    # The same principal id at another network is someone else.
    assert await listed(stack, eid, person("user:second", "EJN")) == []
    # An editor without mine lists everyone; with mine, their own (none).
    everyone = await listed(stack, eid, EDITOR, mine=False)
    assert [s for s, _, _ in everyone] == ["user:first", "user:second", "user:third"]
    assert await listed(stack, eid, EDITOR) == []

    # The second cancels: the third moves up the line, and the second still sees theirs.
    await stack.events.CancelRegistration(
        events_pb2.GetRegistrationRequest(event_id=eid, id=second.id),
        metadata=person("user:second"),
    )
    assert await listed(stack, eid, person("user:third")) == [("user:third", "waitlisted", 1)]
    assert await listed(stack, eid, person("user:second")) == [("user:second", "cancelled", 0)]
    assert await listed(stack, eid, person("user:second"), state="waitlisted") == []
    # Registering again: both, in arrival order.
    await register(stack, eid, person("user:second"))
    assert await listed(stack, eid, person("user:second")) == [
        ("user:second", "cancelled", 0),
        ("user:second", "waitlisted", 2),
    ]

    # Without mine a member is refused; anonymous callers either way.
    cases: list[tuple[Any, bool, grpc.StatusCode]] = [
        (person("user:second"), False, grpc.StatusCode.PERMISSION_DENIED),
        ((), True, grpc.StatusCode.UNAUTHENTICATED),
        ((), False, grpc.StatusCode.UNAUTHENTICATED),
    ]
    for metadata, mine, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await listed(stack, eid, metadata, mine=mine)
        assert info.value.code() == code
    # The event's visibility still applies: another network's member cannot see it.
    internal = await create_event(stack, visibility="network")
    await register(stack, internal.meta.id, person("user:first"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await listed(stack, internal.meta.id, person("user:first", "EJN"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_gateway_mine_for_two_people_of_the_same_name(
    stack: Stack,
    gateway: tuple[TestClient, dict[str, str]],  # type: ignore[type-arg]
) -> None:
    client, tokens = gateway
    engine = create_engine(stack.settings.gateway.database_url, instrument=False)
    try:
        people = AccountStore(engine)
        ana = await people.add("ana@example.org", "Ana", "member", password="x" * 12)
        twin = await people.add("ana.twin@example.org", "Ana", "member", password="x" * 12)
        store = TokenStore(engine, stack.settings.network)
        ana_h = {"Authorization": f"Bearer {(await store.create_for(ana.id))[0]}"}
        ana_again = {"Authorization": f"Bearer {(await store.create_for(ana.id))[0]}"}
        twin_h = {"Authorization": f"Bearer {(await store.create_for(twin.id))[0]}"}
    finally:
        await engine.dispose()
    editor = {"Authorization": f"Bearer {tokens['editor']}"}

    resp = await client.post("/api/v1/events", json={**EVENT_BODY, "capacity": 1}, headers=editor)
    assert resp.status == 201, await resp.text()
    path = f"/api/v1/events/{(await resp.json())['id']}/registrations"
    made = {}
    for who, headers in (("ana", ana_h), ("twin", twin_h)):
        resp = await client.post(path, json={"name": "Ana Lima"}, headers=headers)
        assert resp.status == 201, await resp.text()
        made[who] = await resp.json()

    async def mine(headers: dict[str, str]) -> list[tuple[str, str, int | None]]:
        resp = await client.get(path, params={"mine": "true"}, headers=headers)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert set(body) == {"items", "next_cursor"}  # a list, as every list (API.md)
        return [(r["id"], r["state"], r["waitlist_position"]) for r in body["items"]]

    assert await mine(ana_h) == [(made["ana"]["id"], "confirmed", None)]
    assert await mine(twin_h) == [(made["twin"]["id"], "waitlisted", 1)]
    # Another token of the same person: the same registration.
    assert await mine(ana_again) == [(made["ana"]["id"], "confirmed", None)]
    # The editor lists everyone without mine; a member without it is refused.
    resp = await client.get(path, headers=editor)
    assert resp.status == 200
    assert [r["id"] for r in (await resp.json())["items"]] == [
        made["ana"]["id"],
        made["twin"]["id"],
    ]
    assert (await client.get(path, headers=ana_h)).status == 403
    assert (await client.get(path, params={"mine": "false"}, headers=ana_h)).status == 403
    assert (await client.get(path, params={"mine": "true"})).status == 401
    assert (await client.get(path)).status == 401
    bad = await client.get(path, params={"mine": "perhaps"}, headers=ana_h)
    assert bad.status == 400
    assert [e["field"] for e in (await bad.json())["errors"]] == ["mine"]

    spec = await (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"]["/api/v1/events/{id}/registrations"]["get"]
    mine_param = next(p for p in operation["parameters"] if p["name"] == "mine")
    assert mine_param["in"] == "query" and mine_param["schema"]["type"] == "boolean"
    assert "`member` role" in operation["description"]

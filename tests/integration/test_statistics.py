"""Statistics against hand-counted fixtures: requests between two real nodes (each side
computes its own), the directory and events services; roles, bad input, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc
from sqlalchemy import update

from services.common.db import create_engine
from services.common.identity import Caller
from services.directory.models import AuthorityRow, ContactPointRow
from services.requests.models import ChainEventRow, RequestRow
from tests.integration.test_events import (
    ADMIN,
    EDITOR,
    Stack,
    create_event,
    member,
    node_settings,
    start_stack,
)
from tests.integration.test_requests_exchange import draft, set_status, status_on
from tests.openapi_schemas import body_errors
from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world

DAY = timedelta(days=1)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=UTC)


# Each request: requesting and requested state, submission date, then the statuses the
# requested side sets, each with its day after submission. Hand-counted below.
FIXTURE: list[tuple[str, str, str, list[tuple[str, float]]]] = [
    ("TH", "NG", "2026-01-10", [("acknowledged", 2), ("in_execution", 3), ("executed", 10)]),
    ("TH", "NG", "2026-01-20", [("acknowledged", 4), ("executed", 20)]),
    ("TH", "NG", "2026-02-05", [("refused", 1)]),
    ("VN", "SN", "2026-02-10", [("acknowledged", 6)]),
    ("VN", "NG", "2026-03-01", []),  # never answered: overdue for acknowledgement
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path, postgres=request.param == "postgres") as factory:
        yield factory


async def redate(node: ReqNode, rid: str, submitted: datetime, days: list[float]) -> None:
    """Moves a request's submission and events to known dates (the rows the statistics
    read; the signed bytes keep their real time)."""
    engine = create_engine(node.settings.requests.database_url, instrument=False)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(RequestRow)
                .where(RequestRow.id == rid)
                .values(submitted_at=submitted, acknowledgement_due=submitted + 14 * DAY)
            )
            for seq, offset in enumerate([0.0, *days], start=1):
                await conn.execute(
                    update(ChainEventRow)
                    .where(ChainEventRow.request_id == rid, ChainEventRow.seq == seq)
                    .values(at=submitted + offset * DAY)
                )
    finally:
        await engine.dispose()


async def build_fixture(sea: ReqNode, wacap: ReqNode) -> None:
    for requesting, requested, day, steps in FIXTURE:
        rid = (
            await draft(sea, requesting_jurisdiction=requesting, requested_jurisdiction=requested)
        )["id"]
        assert (await sea.call("POST", f"/api/v1/requests/{rid}/submit"))[0] == 200
        await eventually(lambda r=rid: status_on(wacap, r, "submitted"), "delivered")  # type: ignore[misc]
        for status, _ in steps:
            code, body = await set_status(wacap, rid, status)
            assert code == 200, body
            await eventually(lambda r=rid, s=status: status_on(sea, r, s), f"{status} back")  # type: ignore[misc]
        days = [offset for _, offset in steps]
        for node in (sea, wacap):
            await redate(node, rid, at(day), days)
    # A draft is never counted.
    await draft(sea, requesting_jurisdiction="TH", requested_jurisdiction="SN")


def groups(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(g["direction"], g["key"]): g for g in body["groups"]}


def figures(g: dict[str, Any]) -> tuple[Any, ...]:
    return (
        g["requests"],
        g["acknowledged"],
        g["executed"],
        g["refused"],
        g["overdue"],
        g["overdue_share"],
        g["refused_share"],
        g["median_days_to_acknowledge"],
        g["p90_days_to_acknowledge"],
        g["median_days_to_execute"],
        g["p90_days_to_execute"],
    )


async def stats(node: ReqNode, query: str = "", role: str = "editor") -> tuple[int, Any]:
    result: tuple[int, Any] = await node.call(
        "GET", f"/api/v1/statistics/requests{query}", role=role
    )
    return result


async def test_request_statistics_match_hand_counts_on_both_sides(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    await build_fixture(sea, wacap)
    doc = await (await sea.client.get("/api/v1/openapi.json")).json()

    # SEAJUST sent them all. By its own member state (the requesting one):
    # TH: 3 requests; acknowledged after 2, 4 and 1 days (a refusal answers too), sorted
    # [1, 2, 4]: median = rank ceil(1.5) = 2 -> 2 days, p90 = rank ceil(2.7) = 3 -> 4 days;
    # executed after [10, 20]: median rank 1 -> 10, p90 rank ceil(1.8) = 2 -> 20;
    # 1 refused of 3; none overdue.
    # VN: 2 requests; one acknowledged after 6 days; one unanswered past its due date.
    code, body = await stats(sea)
    assert code == 200, body
    assert body_errors(doc, "GET", "/api/v1/statistics/requests", 200, body) == []
    assert body["group_by"] == "jurisdiction"
    assert {k: figures(g) for k, g in groups(body).items()} == {
        ("outgoing", "TH"): (3, 3, 2, 1, 0, 0.0, 0.3333, 2.0, 4.0, 10.0, 20.0),
        ("outgoing", "VN"): (2, 1, 0, 0, 1, 0.5, 0.0, 6.0, 6.0, None, None),
    }
    # WACAP received them: its member state is the requested one.
    code, body = await stats(wacap)
    assert code == 200, body
    assert {k: figures(g) for k, g in groups(body).items()} == {
        ("incoming", "NG"): (4, 3, 2, 1, 1, 0.25, 0.25, 2.0, 4.0, 10.0, 20.0),
        ("incoming", "SN"): (1, 1, 0, 0, 0, 0.0, 0.0, 6.0, 6.0, None, None),
    }
    # The other side's state; by month of submission; a period and a status grouping.
    code, body = await stats(sea, "?group_by=counterpart")
    assert {k: g["requests"] for k, g in groups(body).items()} == {
        ("outgoing", "NG"): 4,
        ("outgoing", "SN"): 1,
    }
    code, body = await stats(sea, "?group_by=month")
    assert {k: g["requests"] for k, g in groups(body).items()} == {
        ("outgoing", "2026-01"): 2,
        ("outgoing", "2026-02"): 2,
        ("outgoing", "2026-03"): 1,
    }
    code, body = await stats(sea, "?group_by=status&from=2026-02-01&to=2026-02-28")
    assert (body["from_date"], body["to_date"]) == ("2026-02-01", "2026-02-28")
    assert {k: figures(g)[:5] for k, g in groups(body).items()} == {
        ("outgoing", "acknowledged"): (1, 1, 0, 0, 0),
        ("outgoing", "refused"): (1, 1, 0, 1, 0),
    }
    # `to` is inclusive: a request submitted on 2026-01-20 at 09:00 is in a period ending then.
    code, body = await stats(sea, "?to=2026-01-20")
    assert [g["requests"] for g in body["groups"]] == [2]
    code, body = await stats(sea, "?direction=incoming")
    assert code == 200 and body["groups"] == []

    # CSV by content negotiation, the group's column named by the grouping.
    resp = await sea.client.get(
        "/api/v1/statistics/requests?group_by=counterpart",
        headers=sea.auth("editor") | {"Accept": "text/csv"},
    )
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["direction"], r["counterpart"], r["requests"]) for r in rows] == [
        ("outgoing", "NG", "4"),
        ("outgoing", "SN", "1"),
    ]
    assert rows[0]["median_days_to_acknowledge"] == "2.0"
    assert rows[1]["median_days_to_execute"] == ""  # none executed


async def test_statistics_are_for_editors_and_bad_input_names_the_field(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST", sample_data=False)
    for path in ("requests", "directory", "events"):
        assert (await sea.call("GET", f"/api/v1/statistics/{path}", role="member"))[0] == 403
        assert (await sea.client.get(f"/api/v1/statistics/{path}")).status == 401
        code, _ = await sea.call("GET", f"/api/v1/statistics/{path}", role="editor")
        assert code == 200
    for query, field in (
        ("?from=2026-13-01", "from"),
        ("?to=yesterday", "to"),
        ("?from=2026-03-01&to=2026-02-01", "to"),
        ("?group_by=state", "group_by"),
        ("?direction=sideways", "direction"),
        ("?colour=red", "colour"),
    ):
        code, body = await stats(sea, query)
        assert code == 400, (query, body)
        assert [e["field"] for e in body["errors"]] == [field], (query, body)
    code, body = await sea.call("GET", "/api/v1/statistics/events?from=2026-02-30", role="editor")
    assert code == 400 and [e["field"] for e in body["errors"]] == ["from"]
    # The requests service checks the role itself too, whoever calls it.
    async with sea.internal(sea.requests_rt.port) as channel:
        stub = requests_pb2_grpc.RequestsServiceStub(channel)
        member = Caller("member", "SEAJUST", "test-member").metadata()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetRequestStatistics(
                requests_pb2.RequestStatisticsRequest(), metadata=member
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        editor = Caller("editor", "SEAJUST", "test-editor").metadata()
        await stub.GetRequestStatistics(requests_pb2.RequestStatisticsRequest(), metadata=editor)


# ------------------------------------------------------------------ directory and events


@pytest.fixture
async def stack(tmp_path: Path, database_url: str) -> AsyncIterator[Stack]:
    s, dir_runtime = await start_stack(node_settings(tmp_path, "SEAJUST", database_url))
    yield s
    await s.runtime.stop(0)
    await dir_runtime.stop(0)


async def contact(s: Stack, authority: str, name: str, **kw: Any) -> str:
    created = await s.directory.CreateContactPoint(
        directory_pb2.CreateContactPointRequest(
            contact_point=directory_pb2.ContactPoint(
                authority_id=authority, jurisdiction="TH", name=name, **kw
            )
        ),
        metadata=EDITOR,
    )
    return str(created.meta.id)


async def authority(s: Stack, jurisdiction: str) -> str:
    created = await s.directory.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(
            authority=directory_pb2.Authority(
                jurisdiction=jurisdiction, name=f"Authority {jurisdiction}", kind="prosecution"
            )
        ),
        metadata=EDITOR,
    )
    return str(created.meta.id)


async def test_directory_statistics_match_hand_counts(stack: Stack) -> None:
    th, vn = await authority(stack, "TH"), await authority(stack, "VN")
    ended = await contact(stack, th, "Term ended, no successor", term_end="2020-01-01")
    successor = await contact(stack, th, "The successor")
    await contact(stack, th, "Term ended, succeeded", term_end="2020-01-01", successor_id=successor)
    await contact(stack, th, "Term ends later", term_end="2999-01-01")
    # Two records last confirmed more than 12 months ago.
    engine = create_engine(stack.settings.directory.database_url, instrument=False)
    try:
        async with engine.begin() as conn:
            old = datetime.now(UTC) - timedelta(days=400)
            for model, rid in ((AuthorityRow, vn), (ContactPointRow, ended)):
                await conn.execute(
                    update(model).where(model.id == rid).values(last_verified_at=old)
                )
    finally:
        await engine.dispose()
    reply = await stack.directory.GetDirectoryStatistics(
        directory_pb2.DirectoryStatisticsRequest(), metadata=EDITOR
    )
    got = [
        (
            g.jurisdiction,
            g.authorities,
            g.contact_points,
            g.routing_profiles,
            g.records,
            g.confirmed_within_12_months,
            round(g.confirmed_share, 4),
            g.term_ended_without_successor,
        )
        for g in reply.groups
    ]
    # TH: 1 authority + 4 contact points, 4 of 5 confirmed; one term ended unsucceeded.
    # VN: 1 authority, not confirmed for 400 days.
    assert got == [("TH", 1, 4, 0, 5, 4, 0.8, 1), ("VN", 1, 0, 0, 1, 0, 0.0, 0)]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.directory.GetDirectoryStatistics(
            directory_pb2.DirectoryStatisticsRequest(), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def register(s: Stack, event: str, who: int) -> events_pb2.Registration:
    reply: events_pb2.Registration = await s.events.Register(
        events_pb2.RegisterRequest(event_id=event, name=f"Delegate {who}"), metadata=member(who)
    )
    return reply


async def test_event_statistics_match_hand_counts(stack: Stack) -> None:
    plenary = (await create_event(stack, capacity=2)).meta.id  # 2027-10-27
    training = (
        await create_event(
            stack,
            title="Training",
            kind="training",
            starts_at="2027-03-10T09:00:00",
            ends_at="2027-03-10T17:00:00",
        )
    ).meta.id
    later = (
        await create_event(
            stack,
            title="Training 2028",
            kind="training",
            starts_at="2028-03-10T09:00:00",
            ends_at="2028-03-10T17:00:00",
        )
    ).meta.id
    # The plenary: two places for three SEAJUST delegates and one from EJN.
    first = await register(stack, plenary, 1)
    await register(stack, plenary, 2)
    assert (await register(stack, plenary, 3)).state == "waitlisted"
    peer = await stack.mailbox.Receive(
        exchange_pb2.InboundMessage(
            origin="EJN",
            message_id="ejn-1",
            kind="events.registration",
            payload=events_pb2.RegistrationMessage(
                event_id=plenary, subject="x", name="EJN delegate"
            ).SerializeToString(),
        ),
        metadata=ADMIN,
    )
    assert peer.accepted
    await stack.events.MarkAttendance(
        events_pb2.MarkAttendanceRequest(event_id=plenary, id=first.id, attended=True),
        metadata=EDITOR,
    )
    # The training: one cancels, one attends. The 2028 training is outside the period.
    cancelled = await register(stack, training, 1)
    await stack.events.CancelRegistration(
        events_pb2.GetRegistrationRequest(event_id=training, id=cancelled.id), metadata=member(1)
    )
    attended = await register(stack, training, 2)
    await stack.events.MarkAttendance(
        events_pb2.MarkAttendanceRequest(event_id=training, id=attended.id, attended=True),
        metadata=EDITOR,
    )
    await register(stack, later, 1)

    reply = await stack.events.GetEventStatistics(
        events_pb2.EventStatisticsRequest(from_date="2027-01-01", to_date="2027-12-31"),
        metadata=EDITOR,
    )
    got = [
        (
            g.network,
            g.kind,
            g.registrations,
            g.confirmed,
            g.waitlisted,
            g.cancelled,
            g.attended,
            round(g.attendance_share, 4),
        )
        for g in reply.groups
    ]
    assert got == [
        ("EJN", "plenary", 1, 0, 1, 0, 0, 0.0),
        ("SEAJUST", "plenary", 3, 2, 1, 0, 1, 0.5),
        ("SEAJUST", "training", 2, 1, 0, 1, 1, 1.0),
    ]
    assert [(k.kind, k.events) for k in reply.events] == [("plenary", 1), ("training", 1)]
    everything = await stack.events.GetEventStatistics(
        events_pb2.EventStatisticsRequest(), metadata=EDITOR
    )
    assert [(k.kind, k.events) for k in everything.events] == [("plenary", 1), ("training", 2)]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.GetEventStatistics(
            events_pb2.EventStatisticsRequest(), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED

"""The events service on real gRPC servers (with the real directory) and through the
real gateway, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import icalendar
import pytest
from aiohttp.test_utils import TestClient, TestServer
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc
from sqlalchemy import select

from gateway.app import create_app
from gateway.app import migrate as migrate_gateway
from gateway.auth import TokenStore
from services.common.db import create_engine
from services.common.errors import detail_from_trailers
from services.common.identity import Caller
from services.common.settings import NodeSettings, load_settings
from services.common.timeutil import utcnow
from services.directory import service as directory
from services.events import service as events_service
from services.events.models import HandoffRow, RegistrationRow
from tests.conftest import SEAJUST
from tests.internal import internal_channel
from tests.postgres import fresh_database

EDITOR = Caller("editor", "SEAJUST", "secretariat").metadata()
ADMIN = Caller.node_service("federation", "SEAJUST").metadata()


def member(n: int | str, network: str = "SEAJUST") -> tuple[tuple[str, str], ...]:
    return Caller("member", network, f"member-{n}").metadata()


@dataclass
class Stack:
    settings: NodeSettings
    events: events_pb2_grpc.EventsServiceStub
    mailbox: exchange_pb2_grpc.MailboxStub
    feed: exchange_pb2_grpc.ReplicaFeedStub
    directory: directory_pb2_grpc.DirectoryServiceStub
    runtime: events_service.EventsRuntime


def node_settings(tmp_path: Path, network: str, database_url: str) -> NodeSettings:
    sqlite = database_url.startswith("sqlite")
    events_url = (
        f"sqlite+aiosqlite:///{tmp_path / network / 'events.db'}" if sqlite else database_url
    )
    directory_url = (
        f"sqlite+aiosqlite:///{tmp_path / network / 'directory.db'}" if sqlite else database_url
    )
    return load_settings(
        None,
        {
            "JUSTNET_NETWORK": network,
            "JUSTNET_DATA_DIR": str(tmp_path / network),
            "JUSTNET_JURISDICTIONS": ",".join(SEAJUST if network == "SEAJUST" else ["DE", "AT"]),
            "JUSTNET_DIRECTORY_DATABASE_URL": directory_url,
            "JUSTNET_EVENTS_DATABASE_URL": events_url,
        },
    )


async def start_stack(settings: NodeSettings) -> tuple[Stack, directory.DirectoryRuntime]:
    await directory.migrate(settings)
    await events_service.migrate(settings)
    dir_runtime = await directory.start(settings, port=0)
    wired = replace(
        settings,
        directory=replace(settings.directory, address=f"127.0.0.1:{dir_runtime.port}"),
        # No federation here: a registration for a peer's event cannot be handed over.
        federation=replace(settings.federation, address="127.0.0.1:9"),
    )
    runtime = await events_service.start(wired, port=0)
    channel = internal_channel(f"127.0.0.1:{runtime.port}", settings.data_dir)
    dchannel = internal_channel(f"127.0.0.1:{dir_runtime.port}", settings.data_dir)
    stack = Stack(
        replace(wired, events=replace(wired.events, address=f"127.0.0.1:{runtime.port}")),
        events_pb2_grpc.EventsServiceStub(channel),
        exchange_pb2_grpc.MailboxStub(channel),
        exchange_pb2_grpc.ReplicaFeedStub(channel),
        directory_pb2_grpc.DirectoryServiceStub(dchannel),
        runtime,
    )
    for opened in (channel, dchannel):  # closed with the runtime
        runtime.resources.on_stop(opened.close)
    return stack, dir_runtime


@pytest.fixture
async def stack(tmp_path: Path, database_url: str) -> AsyncIterator[Stack]:
    s, dir_runtime = await start_stack(node_settings(tmp_path, "SEAJUST", database_url))
    yield s
    await s.runtime.stop(0)
    await dir_runtime.stop(0)


def event_msg(**kw: Any) -> events_pb2.Event:
    base: dict[str, Any] = {
        "title": "SEAJUST Plenary 2027",
        "kind": "plenary",
        "starts_at": "2027-10-27T09:00:00",
        "ends_at": "2027-10-29T17:00:00",
        "timezone": "Asia/Bangkok",
        "venue": events_pb2.Venue(city="Bangkok", country="TH"),
        "languages": ["en"],
        "interpretation": ["th"],
        "capacity": 10,
        "visibility": "federation",
    }
    base.update(kw)
    return events_pb2.Event(**base)


async def create_event(stack: Stack, **kw: Any) -> events_pb2.Event:
    reply: events_pb2.Event = await stack.events.CreateEvent(
        events_pb2.CreateEventRequest(event=event_msg(**kw)), metadata=EDITOR
    )
    return reply


def violations(exc: grpc.aio.AioRpcError) -> set[str]:
    detail = detail_from_trailers(exc.trailing_metadata())
    assert detail is not None
    return {v.field for v in detail.violations}


# ------------------------------------------------------------------ events


async def test_times_stored_in_utc_and_shown_in_the_events_zone(stack: Stack) -> None:
    created = await create_event(stack)
    assert created.meta.origin == "SEAJUST"
    assert created.starts_at == "2027-10-27T09:00:00+07:00"
    assert created.starts_at_utc == "2027-10-27T02:00:00Z"
    got = await stack.events.GetEvent(
        events_pb2.GetEventRequest(id=created.meta.id), metadata=EDITOR
    )
    assert got.ends_at_utc == "2027-10-29T10:00:00Z"
    # An explicit offset is an instant, whatever the zone.
    vienna = await create_event(
        stack,
        timezone="Europe/Vienna",
        starts_at="2026-03-29T00:30:00Z",
        ends_at="2026-03-29T03:30:00+02:00",
    )
    assert vienna.starts_at == "2026-03-29T01:30:00+01:00"
    assert vienna.ends_at == "2026-03-29T03:30:00+02:00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2027-10-26T09:00:00"}, "ends_at"),
        ({"timezone": "Asia/Atlantis"}, "timezone"),
        ({"capacity": -1}, "capacity"),
        ({"kind": "party"}, "kind"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"timezone": "Europe/Vienna", "starts_at": "2026-03-29T02:30:00"}, "starts_at"),
        ({"registration_deadline": "2027-11-01T00:00:00"}, "registration_deadline"),
        ({"venue": events_pb2.Venue(), "online_url": ""}, "venue"),
    ],
)
async def test_bad_events_name_the_field_and_change_nothing(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create_event(stack, **change)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(info.value)
    listed = await stack.events.ListEvents(events_pb2.ListEventsRequest(), metadata=EDITOR)
    assert list(listed.items) == []


async def test_roles_and_visibility_enforced_by_the_service(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.CreateEvent(events_pb2.CreateEventRequest(event=event_msg()))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.CreateEvent(
            events_pb2.CreateEventRequest(event=event_msg()), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    internal = await create_event(stack, visibility="network")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.GetEvent(events_pb2.GetEventRequest(id=internal.meta.id))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.GetEvent(
            events_pb2.GetEventRequest(id=internal.meta.id), metadata=member(1, "EJN")
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert (
        await stack.events.GetEvent(
            events_pb2.GetEventRequest(id=internal.meta.id), metadata=member(1)
        )
    ).title


# ------------------------------------------------------------------ registrations


async def test_fifty_simultaneous_registrations_for_ten_places(stack: Stack) -> None:
    event = await create_event(stack, capacity=10)

    async def one(n: int) -> events_pb2.Registration:
        reply: events_pb2.Registration = await stack.events.Register(
            events_pb2.RegisterRequest(event_id=event.meta.id, name=f"Delegate {n}"),
            metadata=member(n),
            timeout=120,
        )
        return reply

    results = await asyncio.gather(*(one(n) for n in range(50)))
    states = [r.state for r in results]
    assert states.count("confirmed") == 10
    assert states.count("waitlisted") == 40
    assert sorted(r.waitlist_position for r in results if r.state == "waitlisted") == list(
        range(1, 41)
    )
    got = await stack.events.GetEvent(events_pb2.GetEventRequest(id=event.meta.id), metadata=EDITOR)
    assert (got.confirmed, got.waitlisted) == (10, 40)

    # A confirmed delegate cancels: the first on the waitlist takes the place.
    first_waiting = next(r for r in results if r.waitlist_position == 1)
    second_waiting = next(r for r in results if r.waitlist_position == 2)
    leaver = next(r for r in results if r.state == "confirmed")
    n = int(leaver.name.split()[-1])
    cancelled = await stack.events.CancelRegistration(
        events_pb2.GetRegistrationRequest(event_id=event.meta.id, id=leaver.id), metadata=member(n)
    )
    assert cancelled.state == "cancelled"
    moved = await stack.events.GetRegistration(
        events_pb2.GetRegistrationRequest(event_id=event.meta.id, id=first_waiting.id),
        metadata=EDITOR,
    )
    assert moved.state == "confirmed"
    still = await stack.events.GetRegistration(
        events_pb2.GetRegistrationRequest(event_id=event.meta.id, id=second_waiting.id),
        metadata=EDITOR,
    )
    assert (still.state, still.waitlist_position) == ("waitlisted", 1)
    listed = await stack.events.ListRegistrations(
        events_pb2.ListRegistrationsRequest(event_id=event.meta.id, state="confirmed"),
        metadata=EDITOR,
    )
    assert len(listed.items) == 10


async def test_registration_rules(stack: Stack) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    closed = await create_event(
        stack,
        starts_at="2030-01-10T09:00:00",
        ends_at="2030-01-11T17:00:00",
        registration_deadline=past.isoformat(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.Register(
            events_pb2.RegisterRequest(event_id=closed.meta.id, name="Delegate"), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(info.value) == {"registration_deadline"}

    event = await create_event(stack, capacity=0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.Register(events_pb2.RegisterRequest(event_id=event.meta.id, name="X"))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    first = await stack.events.Register(
        events_pb2.RegisterRequest(event_id=event.meta.id, name="Delegate"), metadata=member(1)
    )
    assert first.state == "confirmed"  # capacity 0: no limit
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.Register(
            events_pb2.RegisterRequest(event_id=event.meta.id, name="delegate"), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.ABORTED  # already registered: 409
    assert first.id not in (info.value.details() or "")  # no other registration's id
    # A peer's message naming one of this network's contact points is that peer's
    # registrant: it does not take the place of the local person the contact point is.
    contact = str(uuid.uuid4())
    peer = await stack.mailbox.Receive(
        exchange_pb2.InboundMessage(
            origin="EJN",
            message_id="ejn-1",
            kind="events.registration",
            payload=events_pb2.RegistrationMessage(
                event_id=event.meta.id, subject="x", name="Someone", contact_point_id=contact
            ).SerializeToString(),
        ),
        metadata=ADMIN,
    )
    assert peer.accepted
    local = await stack.events.Register(
        events_pb2.RegisterRequest(
            event_id=event.meta.id, name="Local person", contact_point_id=contact
        ),
        metadata=member(3),
    )
    assert local.state == "confirmed"
    # Another member cannot see or cancel it; the list is for editors.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.GetRegistration(
            events_pb2.GetRegistrationRequest(event_id=event.meta.id, id=first.id),
            metadata=member(2),
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.ListRegistrations(
            events_pb2.ListRegistrationsRequest(event_id=event.meta.id), metadata=member(1)
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_attendance_is_recorded_on_the_contact_point(stack: Stack) -> None:
    authority = await stack.directory.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(
            authority=directory_pb2.Authority(
                jurisdiction="TH", name="Office of the Attorney General", kind="central_authority"
            )
        ),
        metadata=EDITOR,
    )
    contact = await stack.directory.CreateContactPoint(
        directory_pb2.CreateContactPointRequest(
            contact_point=directory_pb2.ContactPoint(
                authority_id=authority.meta.id, jurisdiction="TH", name="Contact Point A"
            )
        ),
        metadata=EDITOR,
    )
    event = await create_event(stack, title="SEAJUST Plenary", capacity=5)
    reg = await stack.events.Register(
        events_pb2.RegisterRequest(
            event_id=event.meta.id, name="Contact Point A", contact_point_id=contact.meta.id
        ),
        metadata=member(1),
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stack.events.MarkAttendance(
            events_pb2.MarkAttendanceRequest(event_id=event.meta.id, id=reg.id, attended=True),
            metadata=member(1),
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    marked = await stack.events.MarkAttendance(
        events_pb2.MarkAttendanceRequest(
            event_id=event.meta.id, id=reg.id, attended=True, details_confirmed=True
        ),
        metadata=EDITOR,
    )
    assert marked.attended and marked.recorded_on_contact_point
    after = await stack.directory.GetContactPoint(
        directory_pb2.GetRecordRequest(id=contact.meta.id), metadata=EDITOR
    )
    assert list(after.met_at) == ["met at SEAJUST Plenary 2027"]
    assert after.meta.version == contact.meta.version + 1
    assert after.meta.last_verified_at.ToDatetime() > contact.meta.last_verified_at.ToDatetime()
    # Marking again adds nothing twice.
    await stack.events.MarkAttendance(
        events_pb2.MarkAttendanceRequest(event_id=event.meta.id, id=reg.id, attended=True),
        metadata=EDITOR,
    )
    again = await stack.directory.GetContactPoint(
        directory_pb2.GetRecordRequest(id=contact.meta.id), metadata=EDITOR
    )
    assert list(again.met_at) == ["met at SEAJUST Plenary 2027"]


# ------------------------------------------------------------------ calendars


async def test_calendar_feed_parses_with_right_instants_across_dst(stack: Stack) -> None:
    # Europe/Vienna leaves summer time on 2026-10-25: a working group on the Friday
    # before (UTC+2) and a training on the Monday after (UTC+1), both at 09:00 local.
    before = await create_event(
        stack,
        title="Working group on e-evidence",
        kind="working_group",
        timezone="Europe/Vienna",
        starts_at="2026-10-23T09:00:00",
        ends_at="2026-10-23T17:00:00",
        venue=events_pb2.Venue(city="Vienna", country="AT"),
    )
    after = await create_event(
        stack,
        title="Training on asset recovery",
        kind="training",
        timezone="Europe/Vienna",
        starts_at="2026-10-26T09:00:00",
        ends_at="2026-10-26T17:00:00",
        venue=events_pb2.Venue(city="Vienna", country="AT"),
    )
    feed = await stack.events.GetCalendar(
        events_pb2.GetCalendarRequest(kind="", **{"from": "2026-10-01"}), metadata=EDITOR
    )
    assert feed.events == 2
    cal = icalendar.Calendar.from_ical(feed.content)
    assert cal["VERSION"] == "2.0"
    vevents = {str(e["UID"]).split("@")[0]: e for e in cal.walk("VEVENT")}
    tzids = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert "Europe/Vienna" in tzids
    start_before = vevents[before.meta.id].decoded("DTSTART")
    start_after = vevents[after.meta.id].decoded("DTSTART")
    assert start_before.astimezone(UTC) == datetime(2026, 10, 23, 7, 0, tzinfo=UTC)
    assert start_after.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert start_before.hour == start_after.hour == 9
    assert "TZID=Europe/Vienna" in feed.content.decode()
    one = await stack.events.GetCalendar(
        events_pb2.GetCalendarRequest(event_id=after.meta.id), metadata=EDITOR
    )
    assert len(icalendar.Calendar.from_ical(one.content).walk("VEVENT")) == 1


# ------------------------------------------------------------------ across networks


async def test_replica_feed_and_mailbox_contracts(tmp_path: Path, database_url: str) -> None:
    """What federation relies on, called directly on two real events services: the
    change feed replays in order, batches apply once with the cursor, and only the node's
    own services may use the feed and mailbox. The whole path between nodes (feed over
    mutual TLS, registrations answered by the owner) is in test_events_exchange.py."""
    sea_settings = node_settings(tmp_path, "SEAJUST", database_url)
    async with contextlib.AsyncExitStack() as exits:
        ejn_url = database_url
        if not database_url.startswith("sqlite"):
            ejn_url = await exits.enter_async_context(fresh_database())
        ejn, ejn_dir = await start_stack(node_settings(tmp_path, "EJN", ejn_url))
        sea, sea_dir = await start_stack(sea_settings)
        for runtime in (ejn.runtime, ejn_dir, sea.runtime, sea_dir):
            exits.push_async_callback(runtime.stop, 0)
        ejn_editor = Caller("editor", "EJN", "secretariat").metadata()
        ejn_admin = Caller.node_service("federation", "EJN").metadata()
        plenary = await ejn.events.CreateEvent(
            events_pb2.CreateEventRequest(
                event=event_msg(
                    title="EJN Plenary, Berlin",
                    timezone="Europe/Berlin",
                    starts_at="2027-11-18T09:00:00",
                    ends_at="2027-11-20T13:00:00",
                    venue=events_pb2.Venue(city="Berlin", country="DE"),
                )
            ),
            metadata=ejn_editor,
        )
        internal = await ejn.events.CreateEvent(
            events_pb2.CreateEventRequest(
                event=event_msg(title="EJN internal", visibility="network")
            ),
            metadata=ejn_editor,
        )
        # The change feed offers both (federation filters by visibility).
        changes = [
            c
            async for c in ejn.feed.WatchChanges(
                exchange_pb2.FeedWatchRequest(since_seq=0, local_only=True), metadata=ejn_admin
            )
        ]
        assert [c.record_id for c in changes] == [plenary.meta.id, internal.meta.id]
        shared = [c for c in changes if c.visibility in ("public", "federation")]
        batch = exchange_pb2.FeedApplyBatchRequest(
            origin="EJN",
            cursor=shared[-1].seq,
            records=[
                exchange_pb2.FeedReplica(
                    origin=c.origin,
                    kind=c.kind,
                    record_id=c.record_id,
                    version=c.version,
                    payload=c.payload,
                    verified=True,
                    synced_at=c.at,
                )
                for c in shared
            ],
        )
        applied = await sea.feed.ApplyReplicaBatch(batch, metadata=ADMIN)
        assert (applied.applied, applied.cursor) == (1, shared[-1].seq)
        again = await sea.feed.ApplyReplicaBatch(batch, metadata=ADMIN)
        assert (again.applied, again.ignored) == (0, 1)
        cursor = await sea.feed.GetReplicationCursor(
            exchange_pb2.FeedCursorRequest(origin="EJN"), metadata=ADMIN
        )
        assert (cursor.cursor, cursor.records) == (shared[-1].seq, 1)
        replica = await sea.events.GetEvent(
            events_pb2.GetEventRequest(id=plenary.meta.id), metadata=EDITOR
        )
        assert replica.meta.provenance.verified
        assert replica.starts_at == "2027-11-18T09:00:00+01:00"

        # With no federation to hand it to, a registration is kept, pending, and its
        # message to EJN waits in the hand-off table, written in the same transaction: no
        # timeout can leave a place at EJN that SEAJUST forgot (a ghost), nor the reverse.
        first = await sea.events.Register(
            events_pb2.RegisterRequest(event_id=plenary.meta.id, name="Delegate 1"),
            metadata=member(1),
        )
        assert first.state == "pending"
        mine = await sea.events.ListRegistrations(
            events_pb2.ListRegistrationsRequest(event_id=plenary.meta.id), metadata=EDITOR
        )
        assert [r.id for r in mine.items] == [first.id]
        assert [(m.message_id, m.kind, m.destination) for m in await waiting(sea)] == [
            (first.id, "events.registration", "EJN")
        ]

        # The owner refuses registrations for an event it does not share, and updates
        # from a network that does not own the event.
        refused = await ejn.mailbox.Receive(
            exchange_pb2.InboundMessage(
                origin="SEAJUST",
                message_id="x-1",
                kind="events.registration",
                payload=events_pb2.RegistrationMessage(
                    event_id=internal.meta.id, name="Delegate 3"
                ).SerializeToString(),
            ),
            metadata=ejn_admin,
        )
        assert not refused.accepted
        # A real pending registration at SEAJUST for EJN's event: only EJN may settle it.
        now = utcnow()
        pending = await sea.runtime.logic.store.add_pending(
            RegistrationRow(
                id=str(uuid.uuid4()),
                event_id=plenary.meta.id,
                event_origin="EJN",
                network="SEAJUST",
                subject="member-2",
                person_key="SEAJUST/member-2/delegate 2",
                name="Delegate 2",
                state="pending",
                queue_no=0,
                event_title=plenary.title,
                created_at=now,
                updated_at=now,
            )
        )

        def update(origin: str) -> exchange_pb2.InboundMessage:
            return exchange_pb2.InboundMessage(
                origin=origin,
                message_id=f"{pending.id}:confirmed",
                kind="events.registration_update",
                payload=events_pb2.RegistrationUpdate(
                    event_id=plenary.meta.id, registration_id=pending.id, state="confirmed"
                ).SerializeToString(),
            )

        # (EJN took the registration; its answer is the update below.)
        taken = await ejn.mailbox.Receive(
            exchange_pb2.InboundMessage(
                origin="SEAJUST",
                message_id=pending.id,
                kind="events.registration",
                payload=events_pb2.RegistrationMessage(
                    event_id=plenary.meta.id, subject="member-2", name="Delegate 2"
                ).SerializeToString(),
            ),
            metadata=ejn_admin,
        )
        assert taken.accepted
        forged = await sea.mailbox.Receive(update("WACAP"), metadata=ADMIN)
        assert not forged.accepted
        mine_now = await sea.events.GetRegistration(
            events_pb2.GetRegistrationRequest(event_id=plenary.meta.id, id=pending.id),
            metadata=member(2),
        )
        assert mine_now.state == "pending"
        owners = await sea.mailbox.Receive(update("EJN"), metadata=ADMIN)
        assert owners.accepted
        mine_now = await sea.events.GetRegistration(
            events_pb2.GetRegistrationRequest(event_id=plenary.meta.id, id=pending.id),
            metadata=member(2),
        )
        assert mine_now.state == "confirmed"
        # Cancelled with no federation to hand it to: cancelled here all the same, and the
        # cancellation for EJN waits in the hand-off table until federation takes it.
        cancelled = await sea.events.CancelRegistration(
            events_pb2.GetRegistrationRequest(event_id=plenary.meta.id, id=pending.id),
            metadata=member(2),
        )
        assert cancelled.state == "cancelled"
        assert f"{pending.id}:cancel" in [m.message_id for m in await waiting(sea)]

        # Federation back: what waits reaches EJN's mailbox (twice over: it is idempotent).
        for message in await waiting(sea):
            if message.message_id != f"{pending.id}:cancel":
                continue
            for _ in range(2):
                reply = await ejn.mailbox.Receive(
                    exchange_pb2.InboundMessage(
                        origin="SEAJUST",
                        message_id=message.message_id,
                        kind=message.kind,
                        payload=message.payload,
                    ),
                    metadata=ejn_admin,
                )
                assert reply.accepted, reply.reason
        owners_list = await ejn.events.ListRegistrations(
            events_pb2.ListRegistrationsRequest(event_id=plenary.meta.id), metadata=ejn_editor
        )
        assert [(r.network, r.state) for r in owners_list.items] == [("SEAJUST", "cancelled")]
        # Only the node's own services may use the mailbox and the feed.
        for call in (
            ejn.mailbox.Receive(exchange_pb2.InboundMessage(), metadata=member(1, "EJN")),
            sea.feed.ApplyReplicaBatch(batch, metadata=Caller("admin", "EJN", "x").metadata()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


# ------------------------------------------------------------------ gateway


@pytest.fixture
async def gateway(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[type-arg]
    settings = replace(
        stack.settings, requests=replace(stack.settings.requests, address="127.0.0.1:9")
    )
    await migrate_gateway(settings)
    engine = create_engine(settings.gateway.database_url, instrument=False)
    store = TokenStore(engine, settings.network)
    tokens = {r: (await store.create(r, f"test-{r}"))[0] for r in ("editor", "member")}
    await engine.dispose()
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    yield client, tokens
    await client.close()


EVENT_BODY: dict[str, Any] = {
    "title": "SEAJUST Plenary 2027",
    "kind": "plenary",
    "starts_at": "2027-10-27T09:00:00",
    "ends_at": "2027-10-29T17:00:00",
    "timezone": "Asia/Bangkok",
    "venue": {"city": "Bangkok", "country": "TH"},
    "capacity": 2,
    "visibility": "public",
}


async def test_gateway_events_routes(gateway: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    client, tokens = gateway
    editor = {"Authorization": f"Bearer {tokens['editor']}"}
    member_h = {"Authorization": f"Bearer {tokens['member']}"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ends_at": "2027-10-26T09:00:00"}, "ends_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": "ten"}, "capacity"),
    ]
    for change, field in cases:
        resp = await client.post("/api/v1/events", json={**EVENT_BODY, **change}, headers=editor)
        assert resp.status == 400, await resp.text()
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert field in {e["field"] for e in (await resp.json())["errors"]}
    assert (await client.post("/api/v1/events", json=EVENT_BODY, headers=member_h)).status == 403

    resp = await client.post("/api/v1/events", json=EVENT_BODY, headers=editor)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["starts_at"] == "2027-10-27T09:00:00+07:00"
    assert created["origin"] == "SEAJUST" and created["venue"]["city"] == "Bangkok"
    path = f"/api/v1/events/{created['id']}"
    got = await client.get(path)
    assert got.status == 200 and got.headers["ETag"] == '"1"'
    put = await client.put(
        path, json={**EVENT_BODY, "capacity": 3}, headers={**editor, "If-Match": '"1"'}
    )
    assert put.status == 200 and (await put.json())["version"] == 2

    listed = await (await client.get("/api/v1/events?kind=plenary&from=2027-01-01")).json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert (await client.get("/api/v1/events?kind=party")).status == 400

    reg = await client.post(f"{path}/registrations", json={"name": "Delegate"}, headers=member_h)
    assert reg.status == 201, await reg.text()
    registration = await reg.json()
    assert registration["state"] == "confirmed"
    assert (await client.post(f"{path}/registrations", json={"name": "X"})).status == 401
    regs = await client.get(f"{path}/registrations", headers=editor)
    assert [r["id"] for r in (await regs.json())["items"]] == [registration["id"]]
    assert (await client.get(f"{path}/registrations", headers=member_h)).status == 403
    attendance = await client.post(
        f"{path}/registrations/{registration['id']}/attendance",
        json={"attended": True},
        headers=editor,
    )
    assert attendance.status == 200 and (await attendance.json())["attended"]
    cancel = await client.delete(f"{path}/registrations/{registration['id']}", headers=member_h)
    assert cancel.status == 200 and (await cancel.json())["state"] == "cancelled"

    ics = await client.get(f"{path}.ics")
    assert ics.status == 200
    assert ics.headers["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(await ics.read())
    assert str(cal.walk("VEVENT")[0]["SUMMARY"]) == "SEAJUST Plenary 2027"
    feed = await client.get("/api/v1/events.ics?kind=plenary")
    assert feed.status == 200 and b"BEGIN:VCALENDAR" in await feed.read()

    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/events/{id}.ics" in spec["paths"]
    assert (
        "text/calendar" in spec["paths"]["/api/v1/events.ics"]["get"]["responses"]["200"]["content"]
    )
    assert (await client.delete(path, headers=editor)).status == 204
    assert (await client.get(path)).status == 404


async def test_sample_calendar_has_seajust_founding_activities(stack: Stack) -> None:
    from services.events import sample

    store = stack.runtime.logic.store
    assert await sample.load(store, "SEAJUST") == 8
    assert await sample.load(store, "SEAJUST") == 0  # loading twice changes nothing
    listed = await stack.events.ListEvents(
        events_pb2.ListEventsRequest(to="2021-01-01"), metadata=EDITOR
    )
    founding = [(e.title, e.venue.country or "online", e.starts_at[:7]) for e in listed.items]
    assert founding == [
        ("SEAJUST introductory meeting", "TH", "2019-10"),
        ("Meeting on the draft terms of reference", "TH", "2020-02"),
        ("Terms of reference adoption meeting", "AT", "2020-03"),
        ("SEAJUST side event at the UN Crime Congress", "JP", "2020-04"),
        ("SEAJUST First Plenary 2020", "online", "2020-09"),
        ("Study visit to the EJN Plenary", "DE", "2020-11"),
    ]
    for network in ("EJN", "WACAP", "CASC", "GLJCN"):
        kinds = {values["kind"] for _, values in sample.build(network)}
        assert {"plenary", "training"} <= kinds
    feed = await stack.events.GetCalendar(events_pb2.GetCalendarRequest(), metadata=EDITOR)
    assert len(icalendar.Calendar.from_ical(feed.content).walk("VEVENT")) == 8


async def waiting(node: Stack) -> list[HandoffRow]:
    """The node's messages for peers that federation has not taken yet."""
    engine = create_engine(node.settings.events.database_url, instrument=False)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(HandoffRow).where(HandoffRow.handed_over.is_(False)))
            return [HandoffRow(**row._mapping) for row in rows]
    finally:
        await engine.dispose()

"""Builds and runs the events service process."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import migrations
from services.common.clients import open_channel
from services.common.db import create_engine
from services.common.errors import DomainError
from services.common.identity import Caller
from services.common.internal import InternalCredential
from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings
from services.common.waiting import wait_event
from services.events.logic import EventsLogic, Peers
from services.events.servicer import Changes, EventsFeed, EventsMailbox, EventsServicer
from services.events.store import EventsStore

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).parent
UPDATE_POLL = 5.0  # retry what federation did not take at least this often
SERVICE_NAME = events_pb2.DESCRIPTOR.services_by_name["EventsService"].full_name
MAILBOX_NAME = exchange_pb2.DESCRIPTOR.services_by_name["Mailbox"].full_name
FEED_NAME = exchange_pb2.DESCRIPTOR.services_by_name["ReplicaFeed"].full_name


class GrpcDirectory:
    """The directory over gRPC, called on behalf of the editor who marks attendance."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = directory_pb2_grpc.DirectoryServiceStub(channel)

    async def record_attendance(
        self, request: directory_pb2.RecordAttendanceRequest, caller: Caller
    ) -> directory_pb2.ContactPoint:
        reply: directory_pb2.ContactPoint = await self.stub.RecordAttendance(
            request, metadata=caller.metadata()
        )
        return reply


class GrpcFederation:
    """The node's federation service; the events service calls it as a node service."""

    def __init__(self, channel: grpc.aio.Channel, network: str) -> None:
        self.stub = federation_pb2_grpc.FederationServiceStub(channel)
        self.metadata = Caller("admin", network, "events-service").metadata()

    async def send(self, request: federation_pb2.SendRequest) -> exchange_pb2.Delivery:
        reply: exchange_pb2.Delivery = await self.stub.Send(request, metadata=self.metadata)
        return reply


class PeerUpdates:
    """Tells peer networks about their members' registrations that changed here; woken
    after each change, and polling to retry while federation is down."""

    def __init__(self, logic: EventsLogic, poll: float = UPDATE_POLL) -> None:
        self.logic = logic
        self.poll = poll
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self.wake.set()

    def start(self) -> None:
        # A fresh context: the loop must not join the trace of the call that started it.
        self.task = asyncio.create_task(
            self._run(), name="events-peer-updates", context=contextvars.Context()
        )

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.logic.push_updates()
            except DomainError as exc:
                log.info("registration updates for peers wait: %s", exc.message)
            except Exception:
                log.exception("could not hand registration updates to federation")
            await wait_event(self.wake, self.poll)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def migrate(settings: NodeSettings) -> str | None:
    engine = create_engine(settings.events.database_url, instrument=False)
    try:
        return await migrations.upgrade(engine, PACKAGE_DIR, "events")
    finally:
        await engine.dispose()


@dataclass
class EventsRuntime:
    server: RunningServer
    engine: AsyncEngine
    logic: EventsLogic
    channels: list[grpc.aio.Channel]
    updates: PeerUpdates | None = field(default=None)

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float = 5.0) -> None:
        if self.updates is not None:
            await self.updates.stop()
        await self.server.stop(grace)
        for channel in self.channels:
            await channel.close()
        await self.engine.dispose()


async def start(settings: NodeSettings, *, port: int | None = None) -> EventsRuntime:
    engine = create_engine(settings.events.database_url)
    await migrations.require_head(engine, PACKAGE_DIR, "events")
    directory_channel = open_channel(settings.directory.target)
    federation_channel = open_channel(settings.federation.target)
    peers = Peers(
        directory=GrpcDirectory(directory_channel),
        federation=GrpcFederation(federation_channel, settings.network),
    )
    logic = EventsLogic(EventsStore(engine, settings.network), peers)
    changes = Changes()
    updates = PeerUpdates(logic)

    def register(server: grpc.aio.Server) -> None:
        events_pb2_grpc.add_EventsServiceServicer_to_server(
            EventsServicer(logic, changes, updates.notify), server
        )
        exchange_pb2_grpc.add_MailboxServicer_to_server(
            EventsMailbox(logic, updates.notify), server
        )
        exchange_pb2_grpc.add_ReplicaFeedServicer_to_server(EventsFeed(logic, changes), server)

    own = settings.events
    server = await create_server(
        register,
        [SERVICE_NAME, MAILBOX_NAME, FEED_NAME],
        host=own.host,
        port=own.port if port is None else port,
        credential=InternalCredential(settings.data_dir),
    )
    updates.start()
    return EventsRuntime(server, engine, logic, [directory_channel, federation_channel], updates)


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)


@dataclass
class OfflineEvents:
    """The events logic without a server, for the CLI (sample data)."""

    engine: AsyncEngine
    store: EventsStore

    async def close(self) -> None:
        await self.engine.dispose()


async def open_offline(settings: NodeSettings) -> OfflineEvents:
    engine = create_engine(settings.events.database_url, instrument=False)
    await migrations.require_head(engine, PACKAGE_DIR, "events")
    return OfflineEvents(engine, EventsStore(engine, settings.network))

"""Builds and runs the events service process."""

from __future__ import annotations

from dataclasses import dataclass
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
from services.common.identity import Caller
from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings
from services.events.logic import EventsLogic, Peers
from services.events.servicer import Changes, EventsFeed, EventsMailbox, EventsServicer
from services.events.store import EventsStore

PACKAGE_DIR = Path(__file__).parent
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

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float = 5.0) -> None:
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

    def register(server: grpc.aio.Server) -> None:
        events_pb2_grpc.add_EventsServiceServicer_to_server(EventsServicer(logic, changes), server)
        exchange_pb2_grpc.add_MailboxServicer_to_server(EventsMailbox(logic), server)
        exchange_pb2_grpc.add_ReplicaFeedServicer_to_server(EventsFeed(logic, changes), server)

    own = settings.events
    server = await create_server(
        register,
        [SERVICE_NAME, MAILBOX_NAME, FEED_NAME],
        host=own.host,
        port=own.port if port is None else port,
    )
    return EventsRuntime(server, engine, logic, [directory_channel, federation_channel])


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

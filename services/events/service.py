"""Builds and runs the events service process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc, notices_pb2, notices_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc
from justnet.federation.v1 import federation_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import lifecycle, migrations
from services.common.db import create_engine
from services.common.handoff import Handoff
from services.common.identity import Caller
from services.common.internal import InternalCredential
from services.common.notices import NoticeFeedServicer
from services.common.replication import Changes, ReplicaFeedServicer
from services.common.server import create_server
from services.common.settings import NodeSettings
from services.events.logic import EventsLogic, Peers
from services.events.models import HandoffRow, NoticeRow
from services.events.servicer import EventsMailbox, EventsServicer
from services.events.store import EventsStore

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).parent
SERVICE_NAME = events_pb2.DESCRIPTOR.services_by_name["EventsService"].full_name
MAILBOX_NAME = exchange_pb2.DESCRIPTOR.services_by_name["Mailbox"].full_name
FEED_NAME = exchange_pb2.DESCRIPTOR.services_by_name["ReplicaFeed"].full_name
NOTICES_NAME = notices_pb2.DESCRIPTOR.services_by_name["NoticeFeed"].full_name


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


async def migrate(settings: NodeSettings) -> str | None:
    return await lifecycle.migrate(settings.events.database_url, PACKAGE_DIR, "events")


@dataclass
class EventsRuntime(lifecycle.Runtime):
    logic: EventsLogic
    handoff: Handoff[HandoffRow]


async def start(settings: NodeSettings, *, port: int | None = None) -> EventsRuntime:
    own = lifecycle.Resources()
    engine = await own.engine(settings.events.database_url, PACKAGE_DIR, "events")
    credential = InternalCredential(settings.data_dir)
    directory_channel = own.channel(settings.directory.target, credential=credential)
    federation_channel = own.channel(settings.federation.target, credential=credential)
    store = EventsStore(engine, settings.network)
    logic = EventsLogic(store, Peers(directory=GrpcDirectory(directory_channel)))
    changes = Changes()
    service = Caller.node_service("events", settings.network)

    async def handed(row: HandoffRow, delivery: exchange_pb2.Delivery) -> None:
        if delivery.state in ("delivered", "refused", "failed"):  # a repeat, settled before
            await logic.settled(exchange_pb2.DeliveryOutcome(delivery=delivery), service)

    # Messages for peers, written with each change (services/events/messages.py).
    handoff = Handoff(
        engine,
        HandoffRow,
        federation_pb2_grpc.FederationServiceStub(federation_channel),
        service.metadata(),
        on_handed=handed,
        on_refused=logic.refused_by_federation,
    )

    def register(server: grpc.aio.Server) -> None:
        events_pb2_grpc.add_EventsServiceServicer_to_server(
            EventsServicer(logic, changes, handoff.wake), server
        )
        exchange_pb2_grpc.add_MailboxServicer_to_server(EventsMailbox(logic, handoff.wake), server)
        exchange_pb2_grpc.add_ReplicaFeedServicer_to_server(
            ReplicaFeedServicer(store, changes), server
        )
        # Waitlist promotions, for the gateway's notifier.
        notices_pb2_grpc.add_NoticeFeedServicer_to_server(
            NoticeFeedServicer(engine, NoticeRow, settings.network), server
        )

    own.started(handoff)
    server = await create_server(
        register,
        [SERVICE_NAME, MAILBOX_NAME, FEED_NAME, NOTICES_NAME],
        host=settings.events.host,
        port=settings.events.port if port is None else port,
        credential=credential,
    )
    return EventsRuntime(server, own, logic, handoff)


async def serve(settings: NodeSettings) -> None:
    await lifecycle.serve(start, settings)


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

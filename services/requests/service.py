"""Builds and runs the requests service process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2_grpc
from justnet.federation.v1 import federation_pb2 as fpb
from justnet.federation.v1 import federation_pb2_grpc
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import migrations
from services.common.clients import open_channel
from services.common.db import create_engine
from services.common.handoff import Handoff
from services.common.identity import Caller
from services.common.identity_files import load_identity
from services.common.internal import InternalCredential
from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings
from services.requests.chain import KeyRing
from services.requests.logic import RequestsLogic
from services.requests.models import OutboxRow
from services.requests.planner import Planner
from services.requests.servicer import MailboxServicer, RequestsServicer
from services.requests.store import RequestsStore

PACKAGE_DIR = Path(__file__).parent
SERVICE_NAME = requests_pb2.DESCRIPTOR.services_by_name["RequestsService"].full_name
MAILBOX_NAME = exchange_pb2.DESCRIPTOR.services_by_name["Mailbox"].full_name


async def migrate(settings: NodeSettings) -> str | None:
    engine = create_engine(settings.requests.database_url, instrument=False)
    try:
        return await migrations.upgrade(engine, PACKAGE_DIR, "requests")
    finally:
        await engine.dispose()


@dataclass
class RequestsRuntime:
    server: RunningServer
    engine: AsyncEngine
    logic: RequestsLogic
    channels: tuple[grpc.aio.Channel, ...]
    handoff: Handoff[OutboxRow]

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float = 5.0) -> None:
        await self.handoff.stop()
        await self.server.stop(grace)
        for channel in self.channels:
            await channel.close()
        await self.engine.dispose()


async def start(settings: NodeSettings, *, port: int | None = None) -> RequestsRuntime:
    identity = load_identity(settings)
    engine = create_engine(settings.requests.database_url)
    await migrations.require_head(engine, PACKAGE_DIR, "requests")
    store = RequestsStore(engine, settings.network)
    credential = InternalCredential(settings.data_dir)
    dir_channel = open_channel(settings.directory.target, credential=credential)
    fed_channel = open_channel(settings.federation.target, credential=credential)
    directory = directory_pb2_grpc.DirectoryServiceStub(dir_channel)
    federation = federation_pb2_grpc.FederationServiceStub(fed_channel)
    service_md = Caller.node_service("requests", settings.network).metadata()

    async def fetch_keys(network: str) -> fpb.NodeKeys:
        reply: fpb.NodeKeys = await federation.GetNetworkKeys(
            fpb.GetNetworkKeysRequest(network=network), metadata=service_md, timeout=3.0
        )
        return reply

    ring = KeyRing(settings.network, identity, fetch_keys)
    planner = Planner(settings.network, settings.jurisdictions, directory, federation)
    logic = RequestsLogic(store, planner, identity, ring)

    def register(server: grpc.aio.Server) -> None:
        requests_pb2_grpc.add_RequestsServiceServicer_to_server(RequestsServicer(logic), server)
        exchange_pb2_grpc.add_MailboxServicer_to_server(MailboxServicer(logic), server)

    server = await create_server(
        register,
        [SERVICE_NAME, MAILBOX_NAME],
        host=settings.requests.host,
        port=settings.requests.port if port is None else port,
        credential=credential,
    )
    # Messages for the other side, written with the events they carry.
    handoff = Handoff(
        engine,
        OutboxRow,
        federation,
        service_md,
        on_handed=logic.handed,
        on_refused=logic.refused_by_federation,
    )
    logic.wake_outbox = handoff.wake
    handoff.start()
    return RequestsRuntime(server, engine, logic, (dir_channel, fed_channel), handoff)


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)

"""Builds and runs the requests service process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc, notices_pb2, notices_pb2_grpc
from justnet.directory.v1 import directory_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from justnet.requests.v1 import reminders_pb2, reminders_pb2_grpc, requests_pb2, requests_pb2_grpc

from services.common import lifecycle
from services.common.handoff import Handoff
from services.common.identity import Caller
from services.common.internal import InternalCredential
from services.common.keyring import load_identity
from services.common.notices import NoticeFeedServicer
from services.common.server import create_server
from services.common.settings import NodeSettings
from services.requests.chain import KeyRing
from services.requests.documents.blobs import blob_store
from services.requests.documents.sealing import Sealer
from services.requests.logic import RequestsLogic
from services.requests.models import MessageRow, NoticeRow
from services.requests.planner import Planner
from services.requests.reminders import RemindersServicer
from services.requests.servicer import MailboxServicer, RequestsServicer
from services.requests.store import RequestsStore

PACKAGE_DIR = Path(__file__).parent
SERVICE_NAME = requests_pb2.DESCRIPTOR.services_by_name["RequestsService"].full_name
MAILBOX_NAME = exchange_pb2.DESCRIPTOR.services_by_name["Mailbox"].full_name
NOTICES_NAME = notices_pb2.DESCRIPTOR.services_by_name["NoticeFeed"].full_name
REMINDERS_NAME = reminders_pb2.DESCRIPTOR.services_by_name["RequestReminders"].full_name


async def migrate(settings: NodeSettings) -> str | None:
    return await lifecycle.migrate(settings.requests.database_url, PACKAGE_DIR, "requests")


@dataclass
class RequestsRuntime(lifecycle.Runtime):
    logic: RequestsLogic
    handoff: Handoff[MessageRow]


async def start(settings: NodeSettings, *, port: int | None = None) -> RequestsRuntime:
    identity = load_identity(settings)
    own = lifecycle.Resources()
    engine = await own.engine(settings.requests.database_url, PACKAGE_DIR, "requests")
    store = RequestsStore(engine, settings.network)
    credential = InternalCredential(settings.data_dir)
    dir_channel = own.channel(settings.directory.target, credential=credential)
    fed_channel = own.channel(settings.federation.target, credential=credential)
    directory = directory_pb2_grpc.DirectoryServiceStub(dir_channel)
    federation = federation_pb2_grpc.FederationServiceStub(fed_channel)
    service_md = Caller.node_service("requests", settings.network).metadata()

    async def fetch_keys(network: str) -> federation_pb2.NodeKeys:
        reply: federation_pb2.NodeKeys = await federation.GetNetworkKeys(
            federation_pb2.GetNetworkKeysRequest(network=network), metadata=service_md, timeout=3.0
        )
        return reply

    ring = KeyRing(settings.network, identity, fetch_keys)
    planner = Planner(settings.network, settings.jurisdictions, directory, federation)
    logic = RequestsLogic(
        store,
        planner,
        identity,
        ring,
        blobs=blob_store(settings.requests.database_url, engine, settings.data_dir),
        sealer=Sealer(settings.documents_key_path),
        max_document_bytes=settings.requests.max_document_bytes,
    )

    def register(server: grpc.aio.Server) -> None:
        requests_pb2_grpc.add_RequestsServiceServicer_to_server(RequestsServicer(logic), server)
        exchange_pb2_grpc.add_MailboxServicer_to_server(MailboxServicer(logic), server)
        # For the gateway's notifier: what happened (notices) and what is due (reminders).
        notices = NoticeFeedServicer(engine, NoticeRow, settings.network)
        notices_pb2_grpc.add_NoticeFeedServicer_to_server(notices, server)
        reminders_pb2_grpc.add_RequestRemindersServicer_to_server(RemindersServicer(logic), server)

    # Messages for the other side, written with the events they carry.
    handoff = Handoff(
        engine,
        MessageRow,
        federation,
        service_md,
        on_handed=logic.handed,
        on_refused=logic.refused_by_federation,
        # One request's events stay in order; different requests may overtake each other.
        ordering_key=lambda row: row.request_id,
    )
    logic.wake_outbox = handoff.wake
    own.started(handoff)
    server = await create_server(
        register,
        [SERVICE_NAME, MAILBOX_NAME, NOTICES_NAME, REMINDERS_NAME],
        host=settings.requests.host,
        port=settings.requests.port if port is None else port,
        credential=credential,
    )
    return RequestsRuntime(server, own, logic, handoff)


async def serve(settings: NodeSettings) -> None:
    await lifecycle.serve(start, settings)

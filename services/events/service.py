"""The events service process (outline: serves health and its contract; the events issue
fills in the logic and storage)."""

from __future__ import annotations

import grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc

from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings

SERVICE_NAME = events_pb2.DESCRIPTOR.services_by_name["EventsService"].full_name


async def migrate(settings: NodeSettings) -> str | None:
    return None  # no tables yet


async def start(settings: NodeSettings, *, port: int | None = None) -> RunningServer:
    def register(server: grpc.aio.Server) -> None:
        # The generated base servicer answers UNIMPLEMENTED until the events issue lands.
        events_pb2_grpc.add_EventsServiceServicer_to_server(
            events_pb2_grpc.EventsServiceServicer(), server
        )

    own = settings.events
    return await create_server(
        register, [SERVICE_NAME], host=own.host, port=own.port if port is None else port
    )


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)

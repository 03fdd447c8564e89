"""The requests service process (outline: serves health and its contract; the requests issue
fills in the logic and storage)."""

from __future__ import annotations

import grpc
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc

from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings

SERVICE_NAME = requests_pb2.DESCRIPTOR.services_by_name["RequestsService"].full_name


async def migrate(settings: NodeSettings) -> str | None:
    return None  # no tables yet


async def start(settings: NodeSettings, *, port: int | None = None) -> RunningServer:
    def register(server: grpc.aio.Server) -> None:
        # The generated base servicer answers UNIMPLEMENTED until the requests issue lands.
        requests_pb2_grpc.add_RequestsServiceServicer_to_server(
            requests_pb2_grpc.RequestsServiceServicer(), server
        )

    own = settings.requests
    return await create_server(
        register, [SERVICE_NAME], host=own.host, port=own.port if port is None else port
    )


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)

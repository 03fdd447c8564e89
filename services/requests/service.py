"""The requests service process (outline: serves health and its contract; the requests issue
fills in the logic and storage)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc

from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings

SERVICE_NAME = requests_pb2.DESCRIPTOR.services_by_name["RequestsService"].full_name


@dataclass
class RequestsRuntime:
    server: RunningServer

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float = 5.0) -> None:
        await self.server.stop(grace)


async def migrate(settings: NodeSettings) -> str | None:
    return None  # no tables yet


async def start(settings: NodeSettings, *, port: int | None = None) -> RequestsRuntime:
    def register(server: grpc.aio.Server) -> None:
        # The generated base servicer answers UNIMPLEMENTED until the requests issue lands.
        requests_pb2_grpc.add_RequestsServiceServicer_to_server(
            requests_pb2_grpc.RequestsServiceServicer(), server
        )

    server = await create_server(
        register,
        [SERVICE_NAME],
        host=settings.requests.host,
        port=settings.requests.port if port is None else port,
    )
    return RequestsRuntime(server)


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)

"""The one grpc.aio server bootstrap every service uses.

`create_server` registers the service, the library health service and reflection,
plus the one interceptor (services/common/calls.py) that sets each call's caller, span and
metric and maps its errors (the caller named in metadata counts only on calls with the
node's internal credential); it
binds (port 0 picks a free port) and returns the port. `serve` runs it until
SIGTERM or SIGINT, then reports NOT_SERVING and stops with a grace period.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from justnet.common.v1 import telemetry_pb2_grpc

from services.common.calls import CallInterceptor
from services.common.internal import InternalCredential
from services.common.telemetry_service import SERVICE_NAME as TELEMETRY_SERVICE
from services.common.telemetry_service import NodeTelemetryServicer, service_of

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
GRACE_SECONDS = 5.0
STOP_MARGIN_SECONDS = 2.0


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: HealthServicer
    service_names: tuple[str, ...]

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        """NOT_SERVING first (load balancers drain), then stop; bounded, so a call that
        does not end cannot keep the process from exiting."""
        try:
            # asyncio.timeout, not wait_for (see services/common/waiting.py).
            async with asyncio.timeout(STOP_MARGIN_SECONDS):
                await self.health.enter_graceful_shutdown()
            async with asyncio.timeout(grace + STOP_MARGIN_SECONDS):
                await self.server.stop(grace)
        except TimeoutError:
            log.warning(
                "server did not stop within %.0f s; leaving it", grace + STOP_MARGIN_SECONDS
            )


async def create_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    telemetry_service: bool | None = None,
    credential: InternalCredential | None = None,
) -> RunningServer:
    """Builds, binds and starts a server; returns it with the bound port.

    `telemetry_service` (default: on for internal ports, i.e. without credentials) serves
    this process's spans and metrics to the gateway; a port for peers never does.
    `credential` is the node's internal credential: on an internal port, only calls that
    carry it are taken to come from the named caller (a port for peers never trusts caller
    metadata: every call there is anonymous).
    """
    if credentials is not None:
        credential = None
    service = service_of(service_names)
    server = grpc.aio.server(
        interceptors=[CallInterceptor(service, credential), *interceptors],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    register(server)
    with_telemetry = telemetry_service if telemetry_service is not None else credentials is None
    health = _standard_services(server, service, list(service_names), with_telemetry)
    bound = _bind(server, host, port, credentials)
    await server.start()
    for name in (*service_names, ""):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningServer(server, bound, health, tuple(service_names))


def _standard_services(
    server: grpc.aio.Server, service: str, names: list[str], with_telemetry: bool
) -> HealthServicer:
    """Health, reflection and (on internal ports) this process's telemetry."""
    if with_telemetry:
        telemetry_pb2_grpc.add_NodeTelemetryServicer_to_server(
            NodeTelemetryServicer(service), server
        )
        names.append(TELEMETRY_SERVICE)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            *names,
            reflection.SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        ),
        server,
    )
    return health


def _bind(
    server: grpc.aio.Server, host: str, port: int, credentials: grpc.ServerCredentials | None
) -> int:
    """Binds the port (0: a free one); returns the port bound."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound: int
    if credentials is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, credentials)
    if bound == 0:
        raise OSError(f"could not bind {address}")
    return bound


async def run_until_signalled(
    stop: Callable[[], Awaitable[None]], ready: Callable[[], None] | None = None
) -> None:
    """Waits for SIGTERM/SIGINT, then runs `stop` once."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    if ready is not None:
        ready()
    try:
        await stopping.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await stop()

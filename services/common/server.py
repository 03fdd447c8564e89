"""The one grpc.aio server bootstrap every service uses.

`create_server` registers the service, the library health service and reflection,
plus the interceptors that carry the caller's identity and map domain errors (the caller
named in metadata counts only on calls with the node's internal credential); it
binds (port 0 picks a free port) and returns the port. `serve` runs it until
SIGTERM or SIGINT, then reports NOT_SERVING and stops with a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from justnet.common.v1 import telemetry_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

from services.common import telemetry
from services.common.errors import MAX_MESSAGE_CHARS, DomainError, error_metadata
from services.common.identity import ANONYMOUS, caller_from_metadata, reset_caller, set_caller
from services.common.internal import InternalCredential
from services.common.telemetry_service import SERVICE_NAME as TELEMETRY_SERVICE
from services.common.telemetry_service import (
    NodeTelemetryServicer,
    ServerCallInterceptor,
    service_of,
)

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
GRACE_SECONDS = 5.0
STOP_MARGIN_SECONDS = 2.0


class CallerAndErrorsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Sets the caller for the handler, and maps domain errors to status.

    The caller is the one named in metadata only when the call also carries the node's
    internal credential (services/common/internal.py): it comes from one of the node's own
    processes. Any other call is anonymous, whatever role its metadata claims, so reaching
    an internal port is not enough to act as an administrator. Without a credential
    (`None`, as on the federation peer port) every call is anonymous.

    This is the single place where a service's exceptions become gRPC status codes.
    """

    def __init__(self, credential: InternalCredential | None = None) -> None:
        self.credential = credential

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        metadata = details.invocation_metadata
        trusted = self.credential is not None and self.credential.verify(metadata)
        caller = caller_from_metadata(metadata) if trusted else ANONYMOUS
        method = details.method
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                token = set_caller(caller)
                try:
                    async with _errors_mapped(context, method):
                        return await inner(request, context)
                finally:
                    reset_caller(token)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                # grpc.aio runs each call in its own task, so the caller set here stays
                # in this call; no reset (a stream may be closed from another context).
                set_caller(caller)
                async with _errors_mapped(context, method):
                    async for item in inner_stream(request, context):
                        yield item

            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            inner_upload = handler.stream_unary

            async def upload(
                requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
            ) -> Any:
                set_caller(caller)  # its own task, as for unary_stream
                async with _errors_mapped(context, method):
                    return await inner_upload(requests, context)

            return grpc.stream_unary_rpc_method_handler(
                upload,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


@contextlib.asynccontextmanager
async def _errors_mapped(context: grpc.aio.ServicerContext, method: str) -> AsyncIterator[None]:
    """A domain error becomes its status; anything unexpected is logged and INTERNAL."""
    try:
        yield
    except DomainError as exc:
        await _abort(context, exc)
    except (grpc.aio.AbortError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("unhandled error in %s", method)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")


async def _abort(context: grpc.aio.ServicerContext, exc: DomainError) -> None:
    # Status message and details travel in HTTP/2 trailers, which gRPC caps (8 KiB soft,
    # 16 KiB hard): a large error would turn into RESOURCE_EXHAUSTED. Keep them small.
    context.set_trailing_metadata(error_metadata(exc))
    limit = MAX_MESSAGE_CHARS
    message = exc.message if len(exc.message) <= limit else exc.message[: limit - 3] + "..."
    await context.abort(exc.code, message)


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
    tel = telemetry.current()
    service = service_of(service_names)
    server = grpc.aio.server(
        interceptors=[
            ServerCallInterceptor(service),
            aio_server_interceptor(
                tracer_provider=tel.tracer_provider,
                filter_=filters.negate(filters.health_check()),
            ),
            *interceptors,
            CallerAndErrorsInterceptor(credential),
        ],
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

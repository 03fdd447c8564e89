"""The one interceptor of every gRPC server: what each call runs under, and how it ends.

For each call it sets, in one wrapper:

- the **service scope**, so the call's spans are the service's own even when one process
  hosts several services (`justnet up --processes one`);
- the **caller**: the one named in metadata only when the call also carries the node's
  internal credential (services/common/internal.py), i.e. it comes from one of the node's
  own processes. Any other call is anonymous, whatever role its metadata claims, so
  reaching an internal port is not enough to act as an administrator. Without a credential
  (`None`, as on the federation peer port) every call is anonymous;
- the **server span** (services/common/call_spans.py: sampling decided first, an
  unsampled call's span recorded only if it fails), with the gRPC semantic conventions'
  attributes; the client's address is not recorded;
- the **`rpc.server.duration`** metric;
- the **error mapping**: this is the single place where a service's exceptions become gRPC
  status codes.

Health checks pass through untouched (no span, no metric), as before.

One wrapper instead of three interceptors (this module's two and OpenTelemetry's): each
layer built a new method handler and closures per call, about a sixth of the directory's
CPU on a cold lookup (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import context as otel_context

from services.common import semconv, telemetry
from services.common.call_spans import CallSpans, Outcome, caller_context
from services.common.errors import MAX_MESSAGE_CHARS, DomainError, error_metadata
from services.common.identity import ANONYMOUS, Caller, caller_from_metadata, set_caller
from services.common.internal import InternalCredential
from services.common.telemetry_service import histogram, rpc_attributes

log = logging.getLogger(__name__)
HEALTH_PREFIX = "/grpc.health.v1.Health/"
# The codes the semantic conventions count as a server's own error; the others (NOT_FOUND,
# INVALID_ARGUMENT, ...) are the caller's.
SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, service: str, credential: InternalCredential | None = None) -> None:
        self.service = service
        self.credential = credential
        self.spans = CallSpans(__name__)
        self.duration = histogram(semconv.RPC_SERVER_DURATION)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(HEALTH_PREFIX):
            return handler
        metadata = details.invocation_metadata
        trusted = self.credential is not None and self.credential.verify(metadata)
        call = _Call(self, details.method, caller_from_metadata(metadata) if trusted else ANONYMOUS)
        parent = caller_context(dict(metadata or ()))
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                call.unary(handler.unary_unary, parent),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                call.stream(handler.unary_stream, parent),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                call.unary(handler.stream_unary, parent),  # an upload: one answer, like unary
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


class _Call:
    """One call's method and caller, and the wrappers that run it."""

    def __init__(self, interceptor: CallInterceptor, method: str, caller: Caller) -> None:
        self.interceptor = interceptor
        self.method = method
        self.caller = caller
        self.attributes = rpc_attributes(method)

    def unary(
        self,
        inner: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]],
        parent: otel_context.Context,
    ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with self._running(context, parent):
                return await inner(request, context)

        return run

    def stream(
        self,
        inner: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]],
        parent: otel_context.Context,
    ) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with self._running(context, parent):
                async for item in inner(request, context):
                    yield item

        return run

    @contextlib.asynccontextmanager
    async def _running(
        self, context: grpc.aio.ServicerContext, parent: otel_context.Context
    ) -> AsyncIterator[None]:
        # grpc.aio runs each call in its own task: what is set here stays in this call.
        telemetry.set_service_scope(self.interceptor.service)
        set_caller(self.caller)
        started = time.perf_counter()
        with self.interceptor.spans.server(self.method, parent, self.attributes) as outcome:
            try:
                async with _errors_mapped(context, self.method):
                    yield
            finally:
                self._ended(context, outcome, started)

    def _ended(self, context: grpc.aio.ServicerContext, outcome: Outcome, started: float) -> None:
        code = _code(context)
        outcome.attributes["rpc.grpc.status_code"] = code.value[0]
        outcome.error = code in SERVER_ERRORS
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.interceptor.duration.record(
            elapsed_ms, {**self.attributes, "rpc.grpc.status_code": code.value[0]}
        )


def _code(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    """The status the call ended with (OK when the handler set none)."""
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, int):
        return _CODES.get(code, grpc.StatusCode.UNKNOWN)
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


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

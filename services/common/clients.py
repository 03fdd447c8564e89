"""gRPC client factory: every call gets a deadline, traces propagate, UNAVAILABLE retries.

Retries come only from the channel's service config and only for UNAVAILABLE (the
request never reached a handler), so a retried write cannot apply twice.

A channel between the node's own processes is opened with the node's internal credential
(`credential=`), which every call on it then carries, so the services trust the caller it
names (services/common/internal.py). Channels to peer nodes are opened without it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc
from opentelemetry import propagate
from opentelemetry.propagators.textmap import Setter

from services.common import semconv
from services.common.call_spans import CallSpans
from services.common.calls import HEALTH_PREFIX
from services.common.internal import SERVICE_KEY, InternalCredential
from services.common.server import MAX_MESSAGE_BYTES
from services.common.telemetry_service import histogram, rpc_attributes

DEFAULT_TIMEOUT = 5.0
_RETRY_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class _CallSetup:
    """What every call on a channel gets, in one interceptor layer per call type (grpc.aio
    files an interceptor under the first call type it implements only, hence the three
    small classes below).

    - A **deadline** from a per-method table for a unary call without one (a method mapped
      to None is left without); streams, long-lived feeds, get none.
    - The node's **internal credential** (replacing any the caller set), on a channel to one
      of the node's own processes; a channel to a peer sends none.
    - A **client span** (services/common/call_spans.py: an unsampled call records one only
      if it fails) and the trace context for the server, except for server-streaming calls,
      which send the current trace context but record no client span: they are feeds that
      last for hours, and the server records its own span.
    - **`rpc.client.duration`** for unary and upload calls.
    Health checks get the deadline and credential only.
    """

    def __init__(
        self,
        timeouts: Mapping[str, float | None],
        default: float,
        credential: InternalCredential | None,
    ) -> None:
        self.timeouts = dict(timeouts)
        self.default = default
        self.credential = credential  # read per call: the file may appear after the channel
        self.spans = CallSpans(__name__)
        self.duration = histogram(semconv.RPC_CLIENT_DURATION)

    def details(
        self, details: grpc.aio.ClientCallDetails, method: str, deadline: bool
    ) -> grpc.aio.ClientCallDetails:
        timeout = details.timeout
        if timeout is None and deadline:
            timeout = self.timeouts.get(method.rsplit("/", 1)[-1], self.default)
        if self.credential is None:
            metadata = grpc.aio.Metadata(*(details.metadata or ()))
        else:
            metadata = grpc.aio.Metadata(
                *((k, v) for k, v in (details.metadata or ()) if k != SERVICE_KEY),
                *self.credential.metadata(),
            )
        propagate.inject(metadata, setter=_METADATA_SETTER)
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def answered(
        self,
        details: grpc.aio.ClientCallDetails,
        start: Callable[[grpc.aio.ClientCallDetails], Awaitable[Any]],
        deadline: bool,
    ) -> Any:
        """A call with one answer (unary, upload): its span ends when the answer is in."""
        method = _method(details)
        if method.startswith(HEALTH_PREFIX):
            return await start(self.details(details, method, deadline))
        attributes = rpc_attributes(method)
        with self.spans.client(method, attributes) as outcome:
            started = time.perf_counter()
            code = grpc.StatusCode.UNKNOWN
            try:
                call = await start(self.details(details, method, deadline))
                code = await call.code()
                return call
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED  # this process stopped waiting: not an error
                outcome.error = False
                raise
            finally:
                status = {"rpc.grpc.status_code": code.value[0]}
                outcome.attributes.update(status)
                if outcome.error is None:
                    outcome.error = code != grpc.StatusCode.OK
                self.duration.record((time.perf_counter() - started) * 1000, attributes | status)


def _method(details: grpc.aio.ClientCallDetails) -> str:
    method = details.method
    return method.decode() if isinstance(method, bytes) else method


class _MetadataSetter(Setter[grpc.aio.Metadata]):
    def set(self, carrier: grpc.aio.Metadata, key: str, value: str) -> None:
        carrier[key] = value


_METADATA_SETTER = _MetadataSetter()


class _Unary(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, setup: _CallSetup) -> None:
        self.setup = setup

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await self.setup.answered(details, lambda d: continuation(d, request), True)


class _Upload(grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, setup: _CallSetup) -> None:
        self.setup = setup

    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, requests: Any
    ) -> Any:
        return await self.setup.answered(details, lambda d: continuation(d, requests), False)


class _Stream(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, setup: _CallSetup) -> None:
        self.setup = setup

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self.setup.details(details, _method(details), False), request)


def open_channel(
    target: str,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    timeouts: Mapping[str, float | None] | None = None,
    default_timeout: float = DEFAULT_TIMEOUT,
    options: list[tuple[str, Any]] | None = None,
    retries: bool = True,
    credential: InternalCredential | None = None,
) -> grpc.aio.Channel:
    """A channel with deadlines, tracing and client metrics; `credential` (the node's
    internal credential) only for a channel to one of the node's own processes, never to a
    peer."""
    setup = _CallSetup(timeouts or {}, default_timeout, credential)
    interceptors = [_Unary(setup), _Upload(setup), _Stream(setup)]
    # Signed peer calls must not be retried by gRPC: a resent call repeats its nonce and
    # is refused as a replay. Their callers back off and re-sign instead.
    retry: list[tuple[str, Any]] = (
        [("grpc.service_config", _RETRY_CONFIG), ("grpc.enable_retries", 1)]
        if retries
        else [("grpc.enable_retries", 0)]
    )
    opts = [
        *retry,
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        *(options or []),
    ]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)
    return grpc.aio.secure_channel(target, credentials, options=opts, interceptors=interceptors)

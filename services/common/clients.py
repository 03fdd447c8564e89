"""gRPC client factory: every call gets a deadline, traces propagate, UNAVAILABLE retries.

Retries come only from the channel's service config and only for UNAVAILABLE (the
request never reached a handler), so a retried write cannot apply twice.

A channel between the node's own processes is opened with the node's internal credential
(`credential=`), which every call on it then carries, so the services trust the caller it
names (services/common/internal.py). Channels to peer nodes are opened without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters

from services.common import telemetry
from services.common.internal import SERVICE_KEY, InternalCredential
from services.common.server import MAX_MESSAGE_BYTES
from services.common.telemetry_service import ClientMetricsInterceptor

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


class DeadlineInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.aio.UnaryStreamClientInterceptor,  # type: ignore[misc]
):
    """Gives every call without an explicit timeout one from a per-method table.

    A method mapped to None (a long-lived change stream) is left without a deadline.
    """

    def __init__(self, timeouts: Mapping[str, float | None], default: float) -> None:
        self.timeouts = dict(timeouts)
        self.default = default

    def _with_deadline(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        if details.timeout is not None:
            return details
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        name = method.rsplit("/", 1)[-1]
        timeout = self.timeouts.get(name, self.default)
        if timeout is None:
            return details
        return grpc.aio.ClientCallDetails(
            details.method, timeout, details.metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_deadline(details), request)

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_deadline(details), request)


class _WithCredential:
    """Adds the node's internal credential to every call (replacing any the caller set);
    a process without a credential sends none, and its calls count as anonymous."""

    def __init__(self, credential: InternalCredential) -> None:
        self.credential = credential

    def _with_credential(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(
            *((k, v) for k, v in (details.metadata or ()) if k != SERVICE_KEY),
            *self.credential.metadata(),
        )
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


# Two classes, not one with both bases: grpc.aio files an interceptor under the first
# call type it implements only.
class UnaryCredentialInterceptor(_WithCredential, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_credential(details), request)


class StreamCredentialInterceptor(_WithCredential, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_credential(details), request)


class UploadCredentialInterceptor(_WithCredential, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_unary(
        self,
        continuation: Callable[..., Any],
        details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(self._with_credential(details), request_iterator)


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
    tel = telemetry.current()
    interceptors: list[Any] = [
        *aio_client_interceptors(
            tracer_provider=tel.tracer_provider, filter_=filters.negate(filters.health_check())
        ),
        DeadlineInterceptor(timeouts or {}, default_timeout),
        ClientMetricsInterceptor(),
    ]
    if credential is not None:
        interceptors += [
            UnaryCredentialInterceptor(credential),
            StreamCredentialInterceptor(credential),
            UploadCredentialInterceptor(credential),
        ]
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

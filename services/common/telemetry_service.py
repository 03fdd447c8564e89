"""Each process's own telemetry, served to its gateway, and the per-call hooks that feed it.

- `NodeTelemetryServicer` (justnet.common.v1.NodeTelemetry) answers with the spans this
  process keeps and its metrics in Prometheus text; `create_server` registers it on
  internal ports only (never on the federation peer port) and it requires the admin role.
- `histogram()` and `rpc_attributes()`: the instruments and attributes of
  `rpc.server.duration` and `rpc.client.duration`, which services/common/calls.py and
  clients.py record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import grpc
from justnet.common.v1 import telemetry_pb2, telemetry_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from prometheus_client import REGISTRY, generate_latest

from services.common import semconv, telemetry
from services.common.identity import current_caller

SERVICE_NAME = telemetry_pb2.DESCRIPTOR.services_by_name["NodeTelemetry"].full_name
MAX_ATTRIBUTE_CHARS = 500


def service_of(full_service_names: Iterable[str]) -> str:
    """`justnet.directory.v1.DirectoryService` -> `directory`."""
    for name in full_service_names:
        parts = name.split(".")
        if len(parts) > 2 and parts[0] == "justnet":
            return parts[1]
    return telemetry.current().service_name


def span_record(span: ReadableSpan, service: str, network: str) -> telemetry_pb2.SpanRecord:
    context = span.context
    assert context is not None
    parent = span.parent
    start = span.start_time or 0
    end = span.end_time or start
    record = telemetry_pb2.SpanRecord(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{parent.span_id:016x}" if parent is not None else "",
        parent_is_remote=bool(parent is not None and parent.is_remote),
        name=span.name,
        kind=span.kind.name,
        service=service,
        network=network,
        duration_us=(end - start) // 1000,
        status=telemetry_pb2.SpanStatus(
            code=span.status.status_code.name, message=span.status.description or ""
        ),
    )
    record.start.FromNanoseconds(start)
    for key, value in (span.attributes or {}).items():
        text = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
        record.attributes[key] = text[:MAX_ATTRIBUTE_CHARS]
    return record


def local_spans(trace_id: str = "", limit: int = 0) -> list[telemetry_pb2.SpanRecord]:
    """This process's kept spans (newest last), optionally of one trace."""
    tel = telemetry.current()
    wanted = int(trace_id, 16) if trace_id else None
    kept = tel.spans.spans(wanted)
    if limit > 0:
        kept = kept[-limit:]
    return [span_record(k.span, k.service, tel.network) for k in kept]


def metrics_text() -> str:
    return generate_latest(REGISTRY).decode()


class NodeTelemetryServicer(telemetry_pb2_grpc.NodeTelemetryServicer):
    def __init__(self, service: str) -> None:
        self.service = service

    async def RecentSpans(
        self, request: telemetry_pb2.RecentSpansRequest, context: grpc.aio.ServicerContext
    ) -> telemetry_pb2.RecentSpansResponse:
        await _require_admin(context)
        trace_id = request.trace_id.lower()
        if trace_id and (len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id)):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "trace_id: 32 hex digits")
        return telemetry_pb2.RecentSpansResponse(
            instance=telemetry.INSTANCE,
            service=self.service,
            spans=local_spans(trace_id, max(request.limit, 0)),
        )

    async def Metrics(
        self, request: telemetry_pb2.MetricsRequest, context: grpc.aio.ServicerContext
    ) -> telemetry_pb2.MetricsResponse:
        await _require_admin(context)
        return telemetry_pb2.MetricsResponse(
            instance=telemetry.INSTANCE, service=self.service, text=metrics_text()
        )


async def _require_admin(context: grpc.aio.ServicerContext) -> None:
    # An administrator (/api/v1/admin/traces) or the gateway itself (/metrics, as the node
    # service `service:gateway`); the caller is trusted only with the node's internal
    # credential (server.py). Nobody else reads telemetry.
    caller = current_caller()
    if not caller.authenticated:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "this needs an admin caller")
    if not caller.at_least("admin"):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "this needs the admin role")


# ------------------------------------------------------------------ per-call hooks


@cache
def histogram(metric: semconv.Metric, buckets: Sequence[float] | None = None) -> Any:
    """The process's instrument for `metric` (one, however many servers and channels it
    opens); `buckets`: explicit bucket boundaries advised to the SDK."""
    return (
        telemetry.current()
        .meter(__name__)
        .create_histogram(
            metric.name,
            unit=metric.unit,
            description=metric.description,
            explicit_bucket_boundaries_advisory=list(buckets) if buckets else None,
        )
    )


def rpc_attributes(method: str) -> dict[str, Any]:
    """The gRPC semantic conventions' attributes of a call to `method` (the status code is
    added when the call ends)."""
    service, _, name = method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

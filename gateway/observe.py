"""The whole node's spans and metrics, gathered by the gateway from every process.

Each service keeps its own recent spans and metrics (services/common/telemetry_service.py)
and serves them on its internal port; the gateway asks all of them when an administrator
reads /api/v1/admin/traces or Prometheus scrapes /metrics, so nothing needs a tracing
backend. Processes that share the gateway's process (tests) are counted once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import grpc
from justnet.common.v1 import telemetry_pb2, telemetry_pb2_grpc
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gateway.clients import ServiceClients
from services.common import semconv, telemetry
from services.common.identity import Caller
from services.common.telemetry import current as own_telemetry
from services.common.telemetry_service import local_spans

GATHER_TIMEOUT = 2.0


@dataclass
class Gathered:
    spans: list[telemetry_pb2.SpanRecord]
    unavailable: list[str]  # services that did not answer


async def gather_spans(
    clients: ServiceClients, caller: Caller, trace_id: str = "", limit: int = 0
) -> Gathered:
    request = telemetry_pb2.RecentSpansRequest(trace_id=trace_id, limit=limit)

    async def one(name: str, channel: grpc.aio.Channel) -> telemetry_pb2.RecentSpansResponse | None:
        try:
            reply: telemetry_pb2.RecentSpansResponse = await telemetry_pb2_grpc.NodeTelemetryStub(
                channel
            ).RecentSpans(request, metadata=caller.metadata(), timeout=GATHER_TIMEOUT)
        except grpc.aio.AioRpcError:
            return None
        return reply

    names = list(clients.channels)
    replies = await asyncio.gather(*(one(n, clients.channels[n]) for n in names))
    spans = local_spans(trace_id, limit)
    seen = {(s.trace_id, s.span_id) for s in spans}
    unavailable = []
    for name, reply in zip(names, replies, strict=True):
        if reply is None:
            unavailable.append(name)
            continue
        if reply.instance == telemetry.INSTANCE:
            continue
        for span in reply.spans:
            if (span.trace_id, span.span_id) not in seen:
                seen.add((span.trace_id, span.span_id))
                spans.append(span)
    spans.sort(key=lambda s: (s.start.ToNanoseconds(), s.span_id))
    return Gathered(spans, unavailable)


# ------------------------------------------------------------------ metrics

SERVICE_LABEL = semconv.SERVICE.replace(".", "_")


class _Families:
    """Prometheus families from several processes, merged by name, each sample labelled
    with the process it came from."""

    def __init__(self) -> None:
        self.families: dict[str, Metric] = {}

    def add(self, service: str, families: Iterable[Metric]) -> None:
        for family in families:
            merged = self.families.get(family.name)
            if merged is None:
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                self.families[family.name] = merged
            for s in family.samples:
                labels = {**s.labels, SERVICE_LABEL: service}
                merged.samples.append(Sample(s.name, labels, s.value, s.timestamp, s.exemplar))

    def collect(self) -> Iterator[Metric]:
        yield from self.families.values()


async def node_metrics(clients: ServiceClients) -> bytes:
    """Every process's metrics in one Prometheus exposition.

    Each process serves what it keeps in memory (the federation's gauges per peer included:
    replication lag, replicas, quarantined records, outbox depth), so a scrape runs no
    database query anywhere."""
    # The gateway's own call, as the node service `service:gateway` (no invented person).
    own = clients.own.metadata()

    async def one(channel: grpc.aio.Channel) -> telemetry_pb2.MetricsResponse | None:
        try:
            reply: telemetry_pb2.MetricsResponse = await telemetry_pb2_grpc.NodeTelemetryStub(
                channel
            ).Metrics(telemetry_pb2.MetricsRequest(), metadata=own, timeout=GATHER_TIMEOUT)
        except grpc.aio.AioRpcError:
            return None
        return reply

    replies = await asyncio.gather(*(one(c) for c in clients.channels.values()))
    merged = _Families()
    # The gateway's process: `node` when it hosts all five services (their metrics are one
    # registry; rpc_service tells the services apart there).
    merged.add(own_telemetry().service_name, REGISTRY.collect())
    for reply in replies:
        if reply is not None and reply.instance != telemetry.INSTANCE:
            merged.add(reply.service, text_string_to_metric_families(reply.text))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(merged)
    return generate_latest(registry)

"""`justnet serve SERVICE`: one process in the foreground, as a container runs it."""

from __future__ import annotations

from opentelemetry.exporter.prometheus import PrometheusMetricReader

from services.common import telemetry
from services.common.settings import NodeSettings


async def serve(service: str, settings: NodeSettings) -> None:
    # Every process keeps its metrics for Prometheus text (the gateway's /metrics gathers
    # them over NodeTelemetry) and its recent spans for /api/v1/admin/traces.
    telemetry.setup(
        service,
        settings.network,
        metric_readers=[PrometheusMetricReader()],
        log_level=settings.telemetry.log_level,
        keep_spans=settings.telemetry.keep_spans,
    )
    if service == "gateway":
        from gateway import service as gateway

        await gateway.serve(settings)
    elif service == "directory":
        from services.directory import service as directory

        await directory.serve(settings)
    elif service == "requests":
        from services.requests import service as requests

        await requests.serve(settings)
    elif service == "events":
        from services.events import service as events

        await events.serve(settings)
    else:
        from services.federation import service as federation

        await federation.serve(settings)

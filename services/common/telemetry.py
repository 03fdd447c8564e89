"""One `setup(service_name)` per process: traces, metrics, logs with trace ids.

Configured by the standard `OTEL_*` variables: spans go over OTLP when
`OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific variable) is set, the sampler
follows `OTEL_TRACES_SAMPLER`. Tests pass their own exporter.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)

from services.common.version import VERSION

NAMESPACE = "justnet"


@dataclass
class Telemetry:
    service_name: str
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def tracer(self, name: str) -> trace.Tracer:
        return self.tracer_provider.get_tracer(name, VERSION)

    def meter(self, name: str) -> metrics.Meter:
        return self.meter_provider.get_meter(name, VERSION)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


_current: Telemetry | None = None


def setup(
    service_name: str,
    network: str = "",
    *,
    span_exporter: SpanExporter | None = None,
    metric_readers: Sequence[MetricReader] = (),
    log_level: str = "INFO",
) -> Telemetry:
    """Installs the global tracer and meter providers for this process (once)."""
    global _current
    if _current is not None:
        return _current
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", f"justnet-{service_name}"),
            "service.namespace": NAMESPACE,
            "service.version": VERSION,
            "justnet.network": network,
        }
    )
    tracer_provider = TracerProvider(resource=resource)
    if span_exporter is not None:
        # Tests read spans synchronously; production batches.
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    otlp = _otlp_span_exporter()
    if otlp is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp))
    meter_provider = MeterProvider(resource=resource, metric_readers=list(metric_readers))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    # Patches aiohttp.web.Application so every app created afterwards starts with the
    # tracing middleware (outermost); the gateway's create_app relies on it.
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    AioHttpServerInstrumentor().instrument(tracer_provider=tracer_provider)
    _configure_logging(log_level)
    _current = Telemetry(service_name, tracer_provider, meter_provider)
    return _current


def current() -> Telemetry:
    if _current is None:
        return setup("unknown")
    return _current


def _otlp_span_exporter() -> SpanExporter | None:
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp") == "none":
        return None
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcOTLPSpanExporter,
    )

    return GrpcOTLPSpanExporter()


def instrument_engine(engine: Any) -> None:
    """Traces one SQLAlchemy engine (async engines: pass `engine.sync_engine`).

    `SQLAlchemyInstrumentor().instrument(engine=...)` works only for the first engine
    of a process (BaseInstrumentor is a singleton); each service owns its engines,
    so attach the engine tracer directly.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__

    tel = current()
    tracer = tel.tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
    meter = tel.meter("opentelemetry.instrumentation.sqlalchemy")
    usage = meter.create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="connections in use"
    )
    EngineTracer(tracer, engine, usage)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the trace and span id of the current span."""

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if span.is_valid:
            data["trace_id"] = f"{span.trace_id:032x}"
            data["span_id"] = f"{span.span_id:016x}"
        for key in ("service", "peer", "field"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_justnet", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter())
    handler._justnet = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.Formatter.converter = time.gmtime  # logs are UTC, like storage

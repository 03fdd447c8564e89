"""One `setup(service_name)` per process: traces, metrics, logs with trace ids.

Configured by the standard `OTEL_*` variables: spans go over OTLP when
`OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-specific variable) is set, the sampler
follows `OTEL_TRACES_SAMPLER` when it is set (else services/common/sampling.py with the
node's `telemetry.sample_ratio`). Tests pass their own exporter.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.trace import StatusCode

from services.common import sampling, semconv
from services.common.sampling import KeepErrorsSampler
from services.common.version import VERSION

NAMESPACE = "justnet"
DEFAULT_KEEP_SPANS = 2000
# Unsampled traces whose spans a process holds until it knows whether they failed, and
# spans held per trace: bounds, so a flood of traces cannot grow memory (a trace's part in
# one service is a handful of spans; the oldest held trace goes first).
MAX_PENDING_TRACES = 512
MAX_PENDING_SPANS = 64
# Identifies this process to the gateway: processes sharing one (tests run every server
# in one process) are counted once when the gateway gathers spans and metrics.
INSTANCE = uuid.uuid4().hex

_service_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "justnet_service_scope", default=None
)


@contextmanager
def service_scope(service: str) -> Iterator[None]:
    """Spans started inside belong to `service` (a gRPC server sets it per call, so several
    services hosted by one process, as in tests, still tell their spans apart)."""
    token = _service_scope.set(service)
    try:
        yield
    finally:
        _service_scope.reset(token)


def service_in_scope() -> str | None:
    return _service_scope.get()


def set_service_scope(service: str) -> None:
    """`service_scope` without the reset, for a task that ends with the call it serves."""
    _service_scope.set(service)


# Query parameters whose values a span may carry: what a request is about, never who (a
# lookup's `q`, a name, an e-mail, a cursor, a sign-in link's token or `next` are not here).
QUERY_ALLOWED = frozenset(
    {
        "jurisdiction",
        "requesting_jurisdiction",
        "requested_jurisdiction",
        "competence",
        "language",
        "lang",
        "limit",
        "status",
        "direction",
        "urgency",
        "urgent",
        "month",
        "from",
        "to",
        "group_by",
        "network",
        "kind",
        "visibility",
        "format",
        "view",
    }
)
# Parameters the API knows whose presence is worth seeing but whose values are not kept.
QUERY_NAMED = frozenset({"q", "name", "email", "person", "id", "cursor", "next", "token"})
REDACTED = "REDACTED"
# The span attributes that hold a query string: url.query alone, or at the end of the others.
_QUERY_ATTRIBUTES = ("url.query", "http.target", "url.full", "http.url")


def scrub_query(query: str) -> str:
    """`query` with the allowed parameters' values; the API's other parameters with their
    value REDACTED; any parameter the API does not know is left out (its name, chosen by the
    caller, could be anything)."""
    kept = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in QUERY_ALLOWED:
            kept.append(f"{key}={quote(value, safe=',;:')}")
        elif key in QUERY_NAMED:
            kept.append(f"{key}={REDACTED}")
    return "&".join(kept)


def _scrub_attribute(name: str, value: str) -> str:
    if name == "url.query":
        return scrub_query(value)
    if "?" not in value:
        return value
    head, _, query = value.partition("?")
    scrubbed = scrub_query(query.partition("#")[0])
    return f"{head}?{scrubbed}" if scrubbed else head


class QueryScrubber(SpanProcessor):
    """Rewrites a starting span's query-string attributes to `scrub_query`'s allow-list.

    Installed first, so the HTTP instrumentation's `url.query` (a lookup's `q=<a name>`)
    never reaches this process's span buffer or any exporter: attributes are replaced
    before any other processor sees the span, and nothing sets them again later.
    """

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        attributes = span.attributes or {}
        for name in _QUERY_ATTRIBUTES:
            value = attributes.get(name)
            if isinstance(value, str):
                scrubbed = _scrub_attribute(name, value)
                if scrubbed != value:
                    span.set_attribute(name, scrubbed)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class PresetIds(RandomIdGenerator):
    """Random ids, except inside `preset()`, where the next span takes the given ids.

    The gateway decides a request's sampling before it creates any span, and records an
    unsampled request's span only if the request fails (gateway/http_telemetry.py): that
    span must carry the ids its children already point to.
    """

    def __init__(self) -> None:
        self._preset: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
            "justnet_preset_ids", default=None
        )

    @contextmanager
    def preset(self, trace_id: int, span_id: int = 0) -> Iterator[None]:
        """`span_id` 0: a random one."""
        token = self._preset.set((trace_id, span_id))
        try:
            yield
        finally:
            self._preset.reset(token)

    def generate_trace_id(self) -> int:
        preset = self._preset.get()
        return preset[0] if preset else super().generate_trace_id()

    def generate_span_id(self) -> int:
        preset = self._preset.get()
        return preset[1] if preset and preset[1] else super().generate_span_id()


@dataclass(frozen=True)
class KeptSpan:
    span: ReadableSpan
    service: str


class SpanBuffer(SpanProcessor):
    """Names each span's service, and keeps this process's last `keep` finished spans for
    the admin trace view.

    A span's service is the scope it started in, else its local parent's, else the
    process's own service; it is set as the `justnet.service` attribute, so spans say it
    even when one process hosts several services (`justnet up --processes one`).

    Sampled spans are kept as they end. Spans that were recorded without being sampled
    (services/common/sampling.py) wait, per trace, until the trace shows an error here
    (then they and the trace's later spans are kept) or its local root ends (then they go).
    """

    def __init__(self, keep: int, default_service: str) -> None:
        self.keep = keep
        self.default_service = default_service
        self._spans: deque[KeptSpan] = deque(maxlen=max(keep, 1))
        self._open: dict[int, str] = {}
        self._pending: OrderedDict[int, list[KeptSpan]] = OrderedDict()
        self._errored: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        service = _service_scope.get()
        if service is None and span.parent is not None and not span.parent.is_remote:
            service = self._open.get(span.parent.span_id)
        if service is None and span.instrumentation_scope is not None:
            # A tracer made for one service (instrument_engine: a root span of a query
            # in a background loop whose task carries no scope).
            named = (span.instrumentation_scope.attributes or {}).get(semconv.SERVICE)
            service = named if isinstance(named, str) else None
        service = service or self.default_service
        span.set_attribute(semconv.SERVICE, service)
        with self._lock:
            if len(self._open) > 100_000:  # spans that never end must not grow this forever
                self._open.clear()
            self._open[span.context.span_id] = service

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None:
            return
        with self._lock:
            service = self._open.pop(span.context.span_id, self.default_service)
            if self.keep <= 0:
                return
            kept = KeptSpan(span, service)
            if span.context.trace_flags.sampled:
                self._spans.append(kept)
            else:
                self._tail_decision(kept)

    def _tail_decision(self, kept: KeptSpan) -> None:
        span = kept.span
        assert span.context is not None
        trace_id = span.context.trace_id
        if trace_id in self._errored:
            self._spans.append(kept)
            return
        pending = self._pending.get(trace_id)
        if pending is None:
            pending = self._pending[trace_id] = []
            if len(self._pending) > MAX_PENDING_TRACES:
                self._pending.popitem(last=False)
        if len(pending) < MAX_PENDING_SPANS:
            pending.append(kept)
        if span.status.status_code is StatusCode.ERROR:
            self._spans.extend(self._pending.pop(trace_id))
            self._errored[trace_id] = None
            if len(self._errored) > MAX_PENDING_TRACES:
                self._errored.popitem(last=False)
        elif span.parent is None or span.parent.is_remote:
            del self._pending[trace_id]  # this process's part ended without an error

    def errored(self, trace_id: int) -> bool:
        """Whether a span of this trace ended here with an error."""
        with self._lock:
            return trace_id in self._errored

    def forget(self, trace_id: int) -> None:
        """The trace's local part ended without an error, its root never recorded (see
        PresetIds): its held spans go, as when a recorded local root ends."""
        with self._lock:
            self._pending.pop(trace_id, None)

    def spans(self, trace_id: int | None = None) -> list[KeptSpan]:
        with self._lock:
            kept = list(self._spans)
        if trace_id is None:
            return kept
        return [
            k for k in kept if k.span.context is not None and k.span.context.trace_id == trace_id
        ]

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class Telemetry:
    service_name: str
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    network: str = ""
    spans: SpanBuffer = field(default_factory=lambda: SpanBuffer(0, "unknown"))
    # None when OTEL_TRACES_SAMPLER chose the SDK's sampler.
    sampler: KeepErrorsSampler | None = None

    def tracer(self, name: str) -> trace.Tracer:
        return self.tracer_provider.get_tracer(name, VERSION)

    @property
    def ids(self) -> PresetIds:
        ids = self.tracer_provider.id_generator
        assert isinstance(ids, PresetIds)  # tracer_provider_for
        return ids

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
    keep_spans: int = DEFAULT_KEEP_SPANS,
    sample_ratio: float = 1.0,
) -> Telemetry:
    """Installs the global tracer and meter providers for this process (once).

    `sample_ratio` of new traces are sampled, and every trace with an error is kept too
    (services/common/sampling.py), unless OTEL_TRACES_SAMPLER chooses the sampler. The
    process keeps its last `keep_spans` finished spans for the gateway's
    /api/v1/admin/traces, whether or not they are also exported over OTLP.
    """
    global _current
    if _current is not None:
        return _current
    # The stable HTTP semantic conventions for the instrumented HTTP clients (the gateway's
    # own server spans use them too: gateway/http_telemetry.py).
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", f"justnet-{service_name}"),
            "service.namespace": NAMESPACE,
            "service.version": VERSION,
            semconv.NETWORK: network,
        }
    )
    sampler = sampling.choose(sample_ratio)
    tracer_provider, buffer = tracer_provider_for(resource, sampler, keep_spans, service_name)
    if span_exporter is not None:
        # Tests read spans synchronously; production batches.
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    otlp = _otlp_span_exporter()
    if otlp is not None:
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp))
    readers = list(metric_readers)
    otlp_metrics = _otlp_metric_reader()
    if otlp_metrics is not None:
        readers.append(otlp_metrics)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _configure_logging(log_level)
    _current = Telemetry(service_name, tracer_provider, meter_provider, network, buffer, sampler)
    return _current


def tracer_provider_for(
    resource: Resource, sampler: Sampler | None, keep_spans: int, service_name: str
) -> tuple[TracerProvider, SpanBuffer]:
    """A tracer provider (its sampler from OTEL_TRACES_SAMPLER when `sampler` is None) with
    the scrubber and the span store every process has."""
    tracer_provider = TracerProvider(resource=resource, sampler=sampler, id_generator=PresetIds())
    # First: every processor after it, and so every exporter, sees scrubbed query strings.
    tracer_provider.add_span_processor(QueryScrubber())
    buffer = SpanBuffer(keep_spans, service_name)
    tracer_provider.add_span_processor(buffer)
    return tracer_provider, buffer


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


def _otlp_metric_reader() -> MetricReader | None:
    """Metrics go to the collector too when OTLP is configured (production: several
    replicas per service, which one gateway's /metrics cannot see all of)."""
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    ):
        return None
    if os.environ.get("OTEL_METRICS_EXPORTER", "otlp") == "none":
        return None
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return PeriodicExportingMetricReader(OTLPMetricExporter())
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GrpcOTLPMetricExporter,
    )

    return PeriodicExportingMetricReader(GrpcOTLPMetricExporter())


def instrument_engine(engine: Any) -> None:
    """Traces one SQLAlchemy engine (async engines: pass `engine.sync_engine`).

    `SQLAlchemyInstrumentor().instrument(engine=...)` works only for the first engine
    of a process (BaseInstrumentor is a singleton); each service owns its engines,
    so attach the engine tracer directly.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__

    tel = current()
    # The engine belongs to the service being started (its scope), even when its queries
    # later run in a task that carries no scope.
    service = _service_scope.get()
    tracer = tel.tracer_provider.get_tracer(
        "opentelemetry.instrumentation.sqlalchemy",
        __version__,
        attributes={semconv.SERVICE: service} if service else None,
    )
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

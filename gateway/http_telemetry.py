"""The gateway's HTTP server span and duration metric: one middleware, outermost.

It replaces opentelemetry-instrumentation-aiohttp-server, which cost about a third of the
gateway's CPU on a cached lookup (benchmarks/README.md, "Cached lookups, round 2"): it
records a full span for every request, also under the node's default sampler, which
records the spans it does not sample so that a failing trace can still be kept.

Here the node's sampling decision is made first, from a fresh trace id
(`KeepErrorsSampler.samples_root`, the same pure function of the id the tracer applies):

- sampled (`telemetry.sample_ratio` of requests), or a request that carries its caller's
  `traceparent`, or a node whose OTEL_TRACES_SAMPLER chose the SDK's sampler: a span is
  started as usual and the tracer's sampler decides what it records;
- otherwise the request runs under a non-recording span context with that trace id, so its
  log lines, its audit entry, its `X-Trace-Id` and the services it calls all carry it (they
  record their own spans and keep them if they fail). If the request fails (5xx, an
  exception, or an error span recorded here in its trace) its server span is recorded
  afterwards, with its real start time and the ids its children point to, so the admin view
  shows the failing trace whole; if not, nothing of it is recorded here.

Attributes follow the stable HTTP semantic conventions; the query string is scrubbed by
services.common.telemetry.QueryScrubber like every other span's, and no client address or
header is recorded (personal data).
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.metrics import Histogram
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

from gateway.problems import Handler
from services.common import semconv, telemetry
from services.common.telemetry import Telemetry

TRACE_HEADER = "traceparent"
# The stable semantic conventions' advice for http.server.request.duration, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


@dataclass
class Instruments:
    telemetry: Telemetry
    tracer: trace.Tracer
    duration: Histogram
    # One attribute dict per (method, route, status): the metric's attributes are few.
    labels: dict[tuple[str, str, int], Attributes]

    @classmethod
    def make(cls) -> Instruments:
        own = telemetry.current()
        duration = own.meter(__name__).create_histogram(
            semconv.HTTP_SERVER_DURATION.name,
            unit=semconv.HTTP_SERVER_DURATION.unit,
            description=semconv.HTTP_SERVER_DURATION.description,
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        return cls(own, own.tracer(__name__), duration, {})

    def record_duration(self, route: Route, status: int, seconds: float) -> None:
        key = (route.method, route.template, status)
        labels = self.labels.get(key)
        if labels is None:
            if len(self.labels) > 10_000:  # routes and statuses are few; methods are checked
                self.labels.clear()
            labels = self.labels[key] = {
                "http.request.method": route.method,
                "http.route": route.template,
                "http.response.status_code": status,
            }
        self.duration.record(seconds, labels)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Route:
    """What names a request in its span and metric: its method and route template."""

    method: str
    template: str  # "" when no route matched

    @classmethod
    def of(cls, request: web.Request) -> Route:
        method = request.method if request.method in _METHODS else "_OTHER"
        resource = request.match_info.route.resource
        return cls(method, resource.canonical if resource is not None else "")

    @property
    def span_name(self) -> str:
        return f"{self.method} {self.template}" if self.template else self.method

    def span_attributes(self, request: web.Request) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "http.request.method": self.method,
            "url.scheme": request.scheme,
            "url.path": request.path,
            "network.protocol.version": f"{request.version.major}.{request.version.minor}",
        }
        if request.query_string:
            attributes["url.query"] = request.query_string  # scrubbed by QueryScrubber
        if self.template:
            attributes["http.route"] = self.template
        return attributes


def _end(span: trace.Span, status: int, error: BaseException | None) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500 or error is not None:
        span.set_status(Status(StatusCode.ERROR))
        if error is not None:
            span.set_attribute("error.type", type(error).__qualname__)
            span.record_exception(error)
    span.end()


def _with_trace_id(response: web.StreamResponse, trace_id: int) -> web.StreamResponse:
    response.headers["X-Trace-Id"] = f"{trace_id:032x}"
    return response


async def _traced(
    request: web.Request, handler: Handler, ins: Instruments, route: Route, trace_id: int = 0
) -> web.StreamResponse:
    """The tracer's ordinary path: a span started now, sampled as the tracer decides
    (`trace_id`: the new trace's id, already decided on; 0 for the tracer to choose)."""
    with ins.telemetry.ids.preset(trace_id) if trace_id else contextlib.nullcontext():
        span = ins.tracer.start_span(
            route.span_name,
            context=propagate.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes=route.span_attributes(request),
        )
    status, error = 500, None
    try:
        with trace.use_span(span, end_on_exit=False, record_exception=False):
            response = await handler(request)
        status = response.status
        return _with_trace_id(response, span.get_span_context().trace_id)
    except web.HTTPException as exc:
        status = exc.status
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        _end(span, status, error)


async def _deferred(
    request: web.Request, handler: Handler, ins: Instruments, route: Route, trace_id: int
) -> web.StreamResponse:
    """An unsampled request: its span is recorded only if the request fails."""
    started = time.time_ns()
    span_id = random.getrandbits(64) or 1
    parent = SpanContext(trace_id, span_id, is_remote=False)  # trace flags: not sampled
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    status, error = 500, None
    try:
        response = await handler(request)
        status = response.status
        return _with_trace_id(response, trace_id)
    except web.HTTPException as exc:
        status = exc.status
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        otel_context.detach(token)
        spans = ins.telemetry.spans
        if status >= 500 or error is not None or spans.errored(trace_id):
            with ins.telemetry.ids.preset(trace_id, span_id):
                span = ins.tracer.start_span(
                    route.span_name,
                    context=otel_context.Context(),  # a root, as it was
                    kind=SpanKind.SERVER,
                    attributes=route.span_attributes(request),
                    start_time=started,
                )
            _end(span, status, error)
        else:
            spans.forget(trace_id)


def middleware() -> Middleware:
    """The middleware, with its instruments made once (the process's telemetry must be set
    up before the gateway's app is made)."""
    ins = Instruments.make()

    @web.middleware
    async def http_telemetry(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = Route.of(request)
        sampler = ins.telemetry.sampler
        status = 500
        try:
            if sampler is None or TRACE_HEADER in request.headers:
                response = await _traced(request, handler, ins, route)
            else:
                trace_id = random.getrandbits(128) or 1
                if sampler.samples_root(trace_id):
                    response = await _traced(request, handler, ins, route, trace_id)
                else:
                    response = await _deferred(request, handler, ins, route, trace_id)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            ins.record_duration(route, status, time.perf_counter() - started)

    return http_telemetry

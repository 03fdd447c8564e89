"""The gateway's HTTP server span and duration metric: one middleware, outermost.

It replaced opentelemetry-instrumentation-aiohttp-server, which recorded a full span for
every request, also under the node's default sampler (which records what it does not
sample so that a failing trace can still be kept): about a third of the gateway's CPU on a
cached lookup. The span is opened by services/common/call_spans.py, which decides the
sampling first and records an unsampled request's span only if the request fails
(5xx, an exception, or an error span in its trace). Every response carries its trace id in
`X-Trace-Id`, sampled or not.

Attributes follow the stable HTTP semantic conventions; the query string is scrubbed by
services.common.telemetry.QueryScrubber like every other span's, and no client address or
header is recorded (personal data).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import trace
from opentelemetry.metrics import Histogram
from opentelemetry.util.types import Attributes

from gateway.problems import Handler
from services.common import semconv
from services.common.call_spans import CallSpans, caller_context
from services.common.telemetry_service import histogram

# The stable semantic conventions' advice for http.server.request.duration, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


@dataclass
class Instruments:
    duration: Histogram
    # One attribute dict per (method, route, status): the metric's attributes are few.
    labels: dict[tuple[str, str, int], Attributes]

    @classmethod
    def make(cls) -> Instruments:
        return cls(histogram(semconv.HTTP_SERVER_DURATION, DURATION_BUCKETS), {})

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


def middleware() -> Middleware:
    """The middleware, with its instruments made once (the process's telemetry must be set
    up before the gateway's app is made)."""
    ins = Instruments.make()
    spans = CallSpans(__name__)

    @web.middleware
    async def http_telemetry(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = Route.of(request)
        status = 500
        attributes = route.span_attributes(request)
        try:
            with spans.server(
                route.span_name, caller_context(request.headers), attributes
            ) as outcome:
                try:
                    response = await handler(request)
                    status = response.status
                except web.HTTPException as exc:  # a redirect or an error aiohttp raised
                    status = exc.status
                    raise
                finally:
                    outcome.attributes["http.response.status_code"] = status
                    outcome.error = status >= 500
                trace_id = trace.get_current_span().get_span_context().trace_id
                response.headers["X-Trace-Id"] = f"{trace_id:032x}"
                return response
        finally:
            ins.record_duration(route, status, time.perf_counter() - started)

    return http_telemetry

"""Spans of calls whose sampling is decided before they exist: the gateway's HTTP requests
and every gRPC call a service serves (`CallSpans.server`, services/common/calls.py), and
every gRPC call a process makes (`CallSpans.client`, services/common/clients.py).

Under the node's sampler (services/common/sampling.py) a trace that is not sampled is
still recorded, so that one that fails can be kept; recording a span for every call cost
about a third of the gateway's CPU on a cached lookup and a sixth of the directory's on a
cold one (benchmarks/README.md). So the decision comes first: from the caller's trace
context, or for a new trace from a fresh trace id (`KeepErrorsSampler.samples_root`, the
same pure function of the id the tracer applies).

- Sampled, or a node whose OTEL_TRACES_SAMPLER chose the SDK's sampler: an ordinary span,
  started now; the tracer's sampler decides what it records.
- Not sampled: the call runs under a non-recording span context carrying the trace id and a
  span id of its own, so its logs, audit entries and the calls it makes carry them, and
  what it calls records its own spans (held until its trace is known to fail or not). If
  the call fails (`Outcome.error`) or a span of its trace ended here with an error, its
  span is recorded when it ends, with its real start time and those ids (PresetIds), so
  the trace is whole; otherwise nothing of it is recorded, and, if it was this process's
  part of the trace (a server span, or a call made outside any trace), its held spans go.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from services.common import telemetry


@dataclass
class Outcome:
    """What the call's code learns by its end: set by it, written on the span (if any)."""

    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    error: bool | None = None  # None: undecided, so an exception leaving the block is one
    exception: BaseException | None = None

    @property
    def failed(self) -> bool:
        return self.error if self.error is not None else self.exception is not None


@dataclass(frozen=True)
class _Span:
    """A span to start: now, or afterwards with the time it began."""

    tracer: trace.Tracer
    name: str
    kind: SpanKind
    parent: otel_context.Context
    attributes: Mapping[str, AttributeValue]

    def start(self, start_time: int | None = None) -> trace.Span:
        return self.tracer.start_span(
            self.name,
            context=self.parent,
            kind=self.kind,
            attributes=self.attributes,
            start_time=start_time,
        )


TRACE_KEY = "traceparent"


def caller_context(carrier: Mapping[str, Any]) -> otel_context.Context:
    """The caller's trace context from HTTP headers or gRPC metadata; most calls carry none
    (a browser, a peer, a tool), and skip the propagators' work."""
    return propagate.extract(carrier) if TRACE_KEY in carrier else otel_context.Context()


class CallSpans:
    def __init__(self, tracer_name: str) -> None:
        self.telemetry = telemetry.current()
        self.tracer = self.telemetry.tracer(tracer_name)

    def server(
        self, name: str, parent: otel_context.Context, attributes: Mapping[str, AttributeValue]
    ) -> _Opened:
        """A server span named `name` under the caller's context `parent` (empty for a new
        trace); the block sets the returned Outcome."""
        return _Opened(self, _Span(self.tracer, name, SpanKind.SERVER, parent, attributes), True)

    def client(self, name: str, attributes: Mapping[str, AttributeValue]) -> _Opened:
        """A client span named `name` under the current context; inside the block the current
        span context is the call's, for the propagator to send."""
        parent = otel_context.get_current()
        local_root = not trace.get_current_span(parent).get_span_context().is_valid
        return _Opened(
            self, _Span(self.tracer, name, SpanKind.CLIENT, parent, attributes), local_root
        )


class _Opened:
    """One call's span as a context manager (a class, not a generator: it runs on every
    request and call, and a generator-based one cost twice as much)."""

    __slots__ = ("ids", "local_root", "outcome", "recorded", "span", "spans", "started", "token")

    def __init__(self, spans: CallSpans, span: _Span, local_root: bool) -> None:
        self.spans = spans
        self.span = span
        self.local_root = local_root
        self.outcome = Outcome()
        self.recorded: trace.Span | None = None

    def __enter__(self) -> Outcome:
        sampler = self.spans.telemetry.sampler
        caller = trace.get_current_span(self.span.parent).get_span_context()
        if sampler is None:
            sampled, trace_id = True, 0  # the SDK's sampler decides
        elif caller.is_valid:
            sampled, trace_id = caller.trace_flags.sampled, caller.trace_id
        else:
            trace_id = random.getrandbits(128) or 1
            sampled = sampler.samples_root(trace_id)
        if sampled:
            preset = trace_id and not caller.is_valid  # a new trace: the id decided on
            with self.spans.telemetry.ids.preset(trace_id) if preset else contextlib.nullcontext():
                self.recorded = current = self.span.start()
        else:
            self.started = time.time_ns()
            self.ids = (trace_id, random.getrandbits(64) or 1)
            current = NonRecordingSpan(SpanContext(*self.ids, is_remote=False))  # not sampled
        self.token = otel_context.attach(trace.set_span_in_context(current, self.span.parent))
        return self.outcome

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        otel_context.detach(self.token)
        outcome = self.outcome
        if exc is not None:
            outcome.exception = exc
        if self.recorded is not None:
            _finish(self.recorded, outcome)
            return
        store = self.spans.telemetry.spans
        trace_id, span_id = self.ids
        if outcome.failed or store.errored(trace_id):
            with self.spans.telemetry.ids.preset(trace_id, span_id):
                recorded = self.span.start(self.started)
            _finish(recorded, outcome)
        elif self.local_root:
            store.forget(trace_id)


def _finish(span: trace.Span, outcome: Outcome) -> None:
    span.set_attributes(outcome.attributes)
    if outcome.failed:
        span.set_status(Status(StatusCode.ERROR))
        if outcome.exception is not None:
            span.set_attribute("error.type", type(outcome.exception).__qualname__)
            span.record_exception(outcome.exception)
    span.end()

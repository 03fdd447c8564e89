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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
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


class CallSpans:
    def __init__(self, tracer_name: str) -> None:
        self.telemetry = telemetry.current()
        self.tracer = self.telemetry.tracer(tracer_name)

    def server(
        self, name: str, parent: otel_context.Context, attributes: Mapping[str, AttributeValue]
    ) -> contextlib.AbstractContextManager[Outcome]:
        """A server span named `name` under the caller's context `parent` (empty for a new
        trace); the block sets the returned Outcome."""
        return self._open(_Span(self.tracer, name, SpanKind.SERVER, parent, attributes), True)

    def client(
        self, name: str, attributes: Mapping[str, AttributeValue]
    ) -> contextlib.AbstractContextManager[Outcome]:
        """A client span named `name` under the current context; inside the block the current
        span context is the call's, for the propagator to send."""
        parent = otel_context.get_current()
        local_root = not trace.get_current_span(parent).get_span_context().is_valid
        span = _Span(self.tracer, name, SpanKind.CLIENT, parent, attributes)
        return self._open(span, local_root)

    @contextlib.contextmanager
    def _open(self, span: _Span, local_root: bool) -> Iterator[Outcome]:
        sampler = self.telemetry.sampler
        caller = trace.get_current_span(span.parent).get_span_context()
        if sampler is None:
            sampled, trace_id = True, 0  # the SDK's sampler decides
        elif caller.is_valid:
            sampled, trace_id = caller.trace_flags.sampled, 0
        else:
            trace_id = random.getrandbits(128) or 1
            sampled = sampler.samples_root(trace_id)
        outcome = Outcome()
        with (
            self._recorded(span, trace_id, outcome)
            if sampled
            else self._deferred(span, trace_id or caller.trace_id, outcome, local_root)
        ):
            try:
                yield outcome
            except BaseException as exc:
                outcome.exception = exc
                raise

    @contextlib.contextmanager
    def _recorded(self, span: _Span, trace_id: int, outcome: Outcome) -> Iterator[None]:
        with self.telemetry.ids.preset(trace_id) if trace_id else contextlib.nullcontext():
            started = span.start()
        try:
            with trace.use_span(started, end_on_exit=False, record_exception=False):
                yield
        finally:
            _finish(started, outcome)

    @contextlib.contextmanager
    def _deferred(
        self, span: _Span, trace_id: int, outcome: Outcome, local_root: bool
    ) -> Iterator[None]:
        started = time.time_ns()
        span_id = random.getrandbits(64) or 1
        own = SpanContext(trace_id, span_id, is_remote=False)  # trace flags: not sampled
        token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(own), span.parent))
        try:
            yield
        finally:
            otel_context.detach(token)
            spans = self.telemetry.spans
            if outcome.failed or spans.errored(trace_id):
                with self.telemetry.ids.preset(trace_id, span_id):
                    recorded = span.start(started)
                _finish(recorded, outcome)
            elif local_root:
                spans.forget(trace_id)


def _finish(span: trace.Span, outcome: Outcome) -> None:
    span.set_attributes(outcome.attributes)
    if outcome.failed:
        span.set_status(Status(StatusCode.ERROR))
        if outcome.exception is not None:
            span.set_attribute("error.type", type(outcome.exception).__qualname__)
            span.record_exception(outcome.exception)
    span.end()

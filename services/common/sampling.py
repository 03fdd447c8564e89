"""Which traces a node keeps: a head-sampled share, plus every trace with an error.

A ratio sampler decides at a trace's root, before anyone knows whether it will fail. So
the node's default sampler (`KeepErrorsSampler`) samples `ratio` of new traces (children
follow their parent's flag, across processes too), and *records* the others without
sampling them: their spans reach this process's span processors but never an exporter
(the SDK's export processors skip unsampled spans). The node's own span store
(`telemetry.SpanBuffer`) then makes a tail decision per trace: it holds an unsampled
trace's spans until the trace's local root ends and keeps them only if one of them ended
with an error status. What that costs and saves is measured in benchmarks/README.md: an
unsampled trace still pays for recording its spans.

`OTEL_TRACES_SAMPLER` (and `OTEL_TRACES_SAMPLER_ARG`), when set, replace all of this with
the SDK's own sampler: a span it does not sample is not recorded at all, errors included.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

ENV_SAMPLER = "OTEL_TRACES_SAMPLER"


class KeepErrorsSampler(Sampler):
    """Parent-based ratio sampling that records what it does not sample (see the module)."""

    def __init__(self, ratio: float) -> None:
        self.set_ratio(ratio)

    def set_ratio(self, ratio: float) -> None:
        """Takes effect for traces started from now on."""
        self.ratio = ratio
        self._root = TraceIdRatioBased(ratio)

    def samples_root(self, trace_id: int) -> bool:
        """This sampler's decision for a new trace with this id, known before any span
        exists (the decision is a pure function of the id)."""
        return trace_id & TraceIdRatioBased.TRACE_ID_LIMIT < self._root.bound

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid:
            sampled = parent.trace_flags.sampled
        else:
            root = self._root.should_sample(parent_context, trace_id, name, kind, attributes, links)
            sampled = root.decision is Decision.RECORD_AND_SAMPLE
        decision = Decision.RECORD_AND_SAMPLE if sampled else Decision.RECORD_ONLY
        state = parent.trace_state if parent.is_valid else trace_state
        return SamplingResult(decision, attributes, state)

    def get_description(self) -> str:
        return f"KeepErrorsSampler{{{self.ratio}}}"


def choose(ratio: float) -> KeepErrorsSampler | None:
    """The node's sampler, or None when OTEL_TRACES_SAMPLER chooses one (the SDK's
    TracerProvider then reads it and OTEL_TRACES_SAMPLER_ARG itself)."""
    if os.environ.get(ENV_SAMPLER, "").strip():
        return None
    return KeepErrorsSampler(ratio)

"""Head sampling that keeps every error: a share of traces is sampled at the root, and
the node's own span store (the admin trace view) also keeps every trace in which a span
ended with an error; OTEL_TRACES_SAMPLER, when set, replaces the node's sampler."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased
from opentelemetry.trace import Status, StatusCode

from services.common import sampling, telemetry
from services.common.call_spans import CallSpans
from services.common.sampling import KeepErrorsSampler
from services.common.telemetry import SpanBuffer
from tests.conftest import Node

UNKNOWN_AUTHORITY = "/api/v1/authorities/0190a3b4-0000-7000-8000-000000000000"


@pytest.fixture
def ratio(request: pytest.FixtureRequest) -> Iterator[float]:
    sampler = telemetry.current().sampler
    assert sampler is not None  # the test process sets no OTEL_TRACES_SAMPLER
    sampler.set_ratio(request.param)
    yield request.param
    sampler.set_ratio(1.0)


async def _trace_ids(node: Node) -> set[str]:
    resp = await node.client.get("/api/v1/admin/traces?limit=500", headers=node.auth("admin"))
    assert resp.status == 200, await resp.text()
    return {t["trace_id"] for t in (await resp.json())["items"]}


async def _lookup_and_error(node: Node) -> tuple[str, str]:
    ok = await node.client.get("/api/v1/lookup?jurisdiction=TH", headers=node.auth("member"))
    assert ok.status == 200
    failed = await node.client.get(UNKNOWN_AUTHORITY, headers=node.auth("member"))
    assert failed.status == 404  # the directory answers NOT_FOUND: an error span
    return ok.headers["X-Trace-Id"], failed.headers["X-Trace-Id"]


@pytest.mark.parametrize("ratio", [0.0], indirect=True)
async def test_with_ratio_0_only_traces_with_an_error_are_shown(node: Node, ratio: float) -> None:
    ok, failed = await _lookup_and_error(node)
    shown = await _trace_ids(node)
    assert failed in shown and ok not in shown
    resp = await node.client.get(f"/api/v1/admin/traces/{failed}", headers=node.auth("admin"))
    spans = (await resp.json())["spans"]
    assert any(s["status"] == "ERROR" for s in spans)
    # the whole of the gateway's part is kept, its root included
    assert any(s["parent_span_id"] is None and s["service"] == "gateway" for s in spans)
    resp = await node.client.get(f"/api/v1/admin/traces/{ok}", headers=node.auth("admin"))
    assert resp.status == 404


@pytest.mark.parametrize("ratio", [1.0], indirect=True)
async def test_with_ratio_1_every_trace_is_shown(node: Node, ratio: float) -> None:
    ok, failed = await _lookup_and_error(node)
    assert {ok, failed} <= await _trace_ids(node)


def _provider(sampler: KeepErrorsSampler | None) -> tuple[TracerProvider, SpanBuffer]:
    return telemetry.tracer_provider_for(Resource.create({}), sampler, 100, "directory")


def test_an_unsampled_trace_is_kept_from_its_first_error_and_dropped_without_one() -> None:
    provider, buffer = _provider(KeepErrorsSampler(0.0))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("fine"), tracer.start_as_current_span("fine child"):
        pass
    assert buffer.spans() == []
    with tracer.start_as_current_span("root"):
        with tracer.start_as_current_span("before"):
            pass
        with tracer.start_as_current_span("failed") as span:
            span.set_status(Status(StatusCode.ERROR))
        with tracer.start_as_current_span("after"):
            pass
    assert [k.span.name for k in buffer.spans()] == ["before", "failed", "after", "root"]
    assert all(k.service == "directory" for k in buffer.spans())
    assert all(not k.span.context.trace_flags.sampled for k in buffer.spans())


def test_a_sampled_trace_is_kept_whole() -> None:
    provider, buffer = _provider(KeepErrorsSampler(1.0))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    assert [k.span.name for k in buffer.spans()] == ["child", "root"]


def test_otel_traces_sampler_replaces_the_nodes_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    assert sampling.choose(1.0) is None
    provider, buffer = _provider(None)
    assert provider.sampler.get_description().startswith("ParentBased")
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("failed") as span:
        span.set_status(Status(StatusCode.ERROR))
        assert not span.is_recording()  # the SDK's sampler records nothing it drops
    assert buffer.spans() == []
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    provider, buffer = _provider(sampling.choose(0.0))
    with provider.get_tracer("test").start_as_current_span("kept"):
        pass
    assert [k.span.name for k in buffer.spans()] == ["kept"]


def test_held_unsampled_spans_are_bounded() -> None:
    provider, buffer = _provider(KeepErrorsSampler(0.0))
    tracer = provider.get_tracer("test")
    roots = []
    # Traces whose local root has not ended yet: their ended spans wait, within bounds.
    for _ in range(telemetry.MAX_PENDING_TRACES + 20):
        root = tracer.start_span("long call")
        roots.append(root)
        context = trace.set_span_in_context(root)
        for _ in range(telemetry.MAX_PENDING_SPANS + 5):
            tracer.start_span("step", context=context).end()
    held = buffer._pending  # what the store holds while it cannot yet decide
    assert len(held) == telemetry.MAX_PENDING_TRACES
    assert all(len(spans) == telemetry.MAX_PENDING_SPANS for spans in held.values())
    for root in roots:
        root.end()
    assert buffer._pending == {} and buffer.spans() == []


@pytest.mark.parametrize("ratio", [0.0], indirect=True)
async def test_an_unsampled_request_records_nothing_unless_it_fails(
    node: Node, ratio: float, spans: InMemorySpanExporter, started: _Started
) -> None:
    """The gateway decides before any span exists (gateway/http_telemetry.py): a request
    that ends well starts no span, neither its own nor its gRPC call's nor the directory's;
    one that fails gets them afterwards, under the ids its children already point to, so the
    tree is whole."""
    ok = await node.client.get("/api/v1/lookup?jurisdiction=VN", headers=node.auth("member"))
    assert ok.status == 200  # a question the gateway has not cached: it asks the directory
    assert not [n for n in started.names if n.startswith(("GET ", "/justnet."))], started.names
    ok, failed = await _lookup_and_error(node)
    provider = telemetry.current()
    held = {k.span.context.trace_id for k in provider.spans.spans() if k.span.context}
    assert int(ok, 16) not in held
    assert int(ok, 16) not in provider.spans._pending  # nothing of it is held either
    resp = await node.client.get(f"/api/v1/admin/traces/{failed}", headers=node.auth("admin"))
    trace_spans = (await resp.json())["spans"]
    ids = {s["span_id"] for s in trace_spans}
    roots = [s for s in trace_spans if s["parent_span_id"] is None]
    assert [(r["service"], r["kind"]) for r in roots] == [("gateway", "SERVER")]
    assert roots[0]["name"] == "GET /api/v1/authorities/{id}"
    assert all(s["parent_span_id"] in ids for s in trace_spans if s is not roots[0])
    assert any(s["kind"] == "CLIENT" and s["status"] == "ERROR" for s in trace_spans)
    assert not [s for s in spans.get_finished_spans() if s.context.trace_flags.sampled]


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 1.0])
def test_the_gateways_early_decision_is_the_tracers(rate: float) -> None:
    """samples_root must agree with the ratio sampler the tracer applies to the same trace
    id; otherwise the gateway would sample rate squared, or record spans it had dropped."""
    sampler = KeepErrorsSampler(rate)
    reference = TraceIdRatioBased(rate)
    rng = random.Random(7)
    decisions = []
    for _ in range(2000):
        trace_id = rng.getrandbits(128)
        expected = (
            reference.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        )
        assert sampler.samples_root(trace_id) is expected
        decisions.append(expected)
    assert abs(sum(decisions) / len(decisions) - rate) < 0.05


class _Started(SpanProcessor):
    """Names of the spans started while `on` (the SDK cannot remove a processor)."""

    def __init__(self) -> None:
        self.on = False
        self.names: list[str] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.on:
            self.names.append(span.name)


@pytest.fixture
def started() -> Iterator[_Started]:
    processor = _Started()
    telemetry.current().tracer_provider.add_span_processor(processor)
    processor.on = True
    yield processor
    processor.on = False


@pytest.mark.parametrize("ratio", [0.0], indirect=True)
def test_an_unsampled_server_span_exists_only_if_its_call_fails(
    ratio: float, started: _Started
) -> None:
    """services/common/call_spans.py, as every gRPC call and HTTP request uses it."""
    spans = CallSpans("test")
    store = telemetry.current().spans
    tracer = telemetry.current().tracer("test")
    caller = trace.SpanContext(0x1234, 0x99, is_remote=True)  # a caller's unsampled trace
    parent = trace.set_span_in_context(trace.NonRecordingSpan(caller))

    with spans.server("fine", parent, {"a": 1}) as outcome:
        inside = trace.get_current_span().get_span_context()
        tracer.start_span("child").end()
        outcome.error = False
    assert inside.trace_id == 0x1234 and not inside.trace_flags.sampled
    assert started.names == ["child"]  # the call itself started no span: the saving
    assert not store.spans(0x1234)  # and nothing of its trace is kept

    with spans.server("failed", parent, {"a": 1}) as outcome:
        inside = trace.get_current_span().get_span_context()
        tracer.start_span("child").end()
        outcome.error = True
    kept = {k.span.name: k.span for k in store.spans(0x1234)}
    assert set(kept) == {"child", "failed"}
    failed, child = kept["failed"], kept["child"]
    assert failed.context is not None and failed.context.span_id == inside.span_id
    assert child.parent is not None and child.parent.span_id == inside.span_id
    assert failed.parent is not None and failed.parent.span_id == 0x99  # under its caller
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {}).get("a") == 1

    with pytest.raises(RuntimeError), spans.server("raised", Context(), {}):
        new_trace = trace.get_current_span().get_span_context().trace_id
        raise RuntimeError("boom")
    assert [k.span.name for k in store.spans(new_trace)] == ["raised"]

"""Traces and metrics of a node started with `justnet up` (five separate processes): the
gateway gathers every process's spans and metrics with no tracing backend installed."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.common import semconv
from tests.e2e.conftest import RunningNode


def test_one_trace_shows_spans_recorded_by_several_processes(node: RunningNode) -> None:
    # Route planning crosses processes on every call: gateway -> requests -> directory.
    route = {"requesting_jurisdiction": "TH", "requested_jurisdiction": "VN", "language": "en"}
    resp = node.request("POST", "/api/v1/routes", role="member", json=route)
    assert resp.status_code == 200, resp.text
    trace_id = resp.headers["X-Trace-Id"]
    trace = node.get(f"/api/v1/admin/traces/{trace_id}", role="admin")
    assert trace.status_code == 200, trace.text
    data = trace.json()
    assert data["unavailable"] == []
    assert {"gateway", "requests", "directory"} <= set(data["services"])
    ids = {s["span_id"] for s in data["spans"]}
    roots = [s for s in data["spans"] if s["parent_span_id"] not in ids]
    assert [r["name"] for r in roots] == ["POST /api/v1/routes"]
    directory = [s for s in data["spans"] if s["service"] == "directory"]
    assert any(s["kind"] == "SERVER" for s in directory)
    assert all(s["node"] == "SEAJUST" for s in data["spans"])
    listing = node.get("/api/v1/admin/traces?limit=5", role="admin").json()
    assert len(listing["items"]) <= 5


def _count(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def test_metrics_of_every_process_change_with_requests(node: RunningNode) -> None:
    rpc = semconv.prometheus_name(semconv.RPC_SERVER_DURATION) + "_count"
    labels = {"justnet_service": "directory", "rpc_method": "Lookup"}
    before = node.get("/metrics", "admin").text
    # Two different questions: a repeated one is answered from the gateway's memory.
    for competence in ("mla", "extradition"):
        assert (
            node.get(f"/api/v1/lookup?jurisdiction=VN&competence={competence}").status_code == 200
        )
    after = node.get("/metrics", "admin").text
    assert _count(after, rpc, **labels) >= _count(before, rpc, **labels) + 2
    records = semconv.prometheus_name(semconv.RECORDS)
    assert _count(after, records, justnet_service="directory", justnet_origin="SEAJUST") > 0
    services = {
        s.labels.get("justnet_service")
        for f in text_string_to_metric_families(after)
        for s in f.samples
    }
    assert {"gateway", "directory", "requests", "events", "federation"} <= services

"""One trace covers the gateway, the directory's gRPC server and its SQL queries."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.conftest import Node
from tests.integration.test_gateway_directory import AUTHORITY, create


async def test_gateway_grpc_and_sql_share_one_trace(
    node: Node, spans: InMemorySpanExporter
) -> None:
    created = await create(node, "/api/v1/authorities", AUTHORITY)
    spans.clear()
    resp = await node.client.get(f"/api/v1/authorities/{created['id']}")
    assert resp.status == 200
    trace_id = int(resp.headers["X-Trace-Id"], 16)

    in_trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    kinds = {(s.kind, s.name) for s in in_trace}
    http = [s for s in in_trace if s.kind == SpanKind.SERVER and not s.name.startswith("/")]
    grpc_client = [s for s in in_trace if s.kind == SpanKind.CLIENT and s.name.startswith("/")]
    grpc_server = [s for s in in_trace if s.kind == SpanKind.SERVER and s.name.startswith("/")]
    sql = [
        s
        for s in in_trace
        if s.attributes and ("db.statement" in s.attributes or "db.query.text" in s.attributes)
    ]
    assert http, kinds
    assert [s.name for s in grpc_client] == ["/justnet.directory.v1.DirectoryService/GetAuthority"]
    assert [s.name for s in grpc_server] == ["/justnet.directory.v1.DirectoryService/GetAuthority"]
    assert sql, kinds
    # parent links: HTTP -> gRPC client -> gRPC server -> SQL
    assert grpc_client[0].parent is not None
    assert grpc_client[0].parent.span_id == http[0].context.span_id
    assert grpc_server[0].parent is not None
    assert grpc_server[0].parent.span_id == grpc_client[0].context.span_id
    assert any(
        s.parent is not None and s.parent.span_id == grpc_server[0].context.span_id for s in sql
    )
    resource = grpc_server[0].resource.attributes
    assert resource["service.namespace"] == "justnet"
    assert resource["justnet.network"] == "SEAJUST"


async def test_error_responses_carry_the_trace_id(node: Node) -> None:
    resp = await node.client.get("/api/v1/authorities/not-an-id")
    assert resp.status == 404
    assert len(resp.headers["X-Trace-Id"]) == 32
    resp = await node.client.get("/no/such/route")
    assert resp.status == 404
    assert len(resp.headers["X-Trace-Id"]) == 32

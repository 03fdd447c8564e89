"""The administrators' view with no tracing backend: traces, metrics and the audit log,
through the real gateway in front of real directory and federation servers."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from services.common import semconv
from tests.conftest import Node
from tests.integration.test_gateway_directory import AUTHORITY, create

ROOT = Path(__file__).resolve().parents[2]


async def _trace(node: Node, trace_id: str) -> dict[str, Any]:
    resp = await node.client.get(f"/api/v1/admin/traces/{trace_id}", headers=node.auth("admin"))
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def test_a_lookup_trace_crossing_two_services_is_complete(node: Node) -> None:
    await create(node, "/api/v1/authorities", AUTHORITY)
    # a lookup asks the directory, and federation for the peers' state
    resp = await node.client.get("/api/v1/lookup?jurisdiction=TH", headers=node.auth("member"))
    assert resp.status == 200
    trace_id = resp.headers["X-Trace-Id"]

    trace = await _trace(node, trace_id)
    spans = trace["spans"]
    assert trace["trace_id"] == trace_id
    assert {"gateway", "directory", "federation"} <= set(trace["services"])
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if s["parent_span_id"] is None]
    assert len(roots) == 1 and roots[0]["service"] == "gateway"
    assert roots[0]["name"] == "GET /api/v1/lookup"
    # complete: every other span's parent is in the trace
    assert all(s["parent_span_id"] in ids for s in spans if s is not roots[0])
    by_name = {(s["service"], s["kind"], s["name"]) for s in spans}
    lookup = "/justnet.directory.v1.DirectoryService/Lookup"
    list_peers = "/justnet.federation.v1.FederationService/ListPeers"
    assert ("gateway", "CLIENT", lookup) in by_name
    assert ("directory", "SERVER", lookup) in by_name
    assert ("gateway", "CLIENT", list_peers) in by_name
    assert ("federation", "SERVER", list_peers) in by_name
    server = next(s for s in spans if s["name"] == lookup and s["kind"] == "SERVER")
    assert server["attributes"]["rpc.service"] == "justnet.directory.v1.DirectoryService"
    assert server["node"] == "SEAJUST"
    assert server["status"] in ("UNSET", "OK")
    assert server["duration_ms"] >= 0 and server["start"].endswith("Z")
    # the server span's parent is the gateway's client span (context propagated)
    client = next(s for s in spans if s["span_id"] == server["parent_span_id"])
    assert (client["service"], client["kind"]) == ("gateway", "CLIENT")

    listing = await node.client.get("/api/v1/admin/traces?limit=50", headers=node.auth("admin"))
    assert listing.status == 200
    items = (await listing.json())["items"]
    summary = next(t for t in items if t["trace_id"] == trace_id)
    assert summary["root"] == "GET /api/v1/lookup"
    assert summary["spans"] == len(spans)
    assert len(items) <= 50


async def test_traces_are_for_admins_only_and_ids_are_checked(node: Node) -> None:
    for role in ("anonymous", "member", "editor"):
        resp = await node.client.get("/api/v1/admin/traces", headers=node.auth(role))
        assert resp.status == (401 if role == "anonymous" else 403)
    resp = await node.client.get("/api/v1/admin/traces/not-hex", headers=node.auth("admin"))
    assert resp.status == 400
    assert (await resp.json())["errors"][0]["field"] == "trace_id"
    resp = await node.client.get("/api/v1/admin/traces/" + "0" * 32, headers=node.auth("admin"))
    assert resp.status == 404
    resp = await node.client.get("/api/v1/admin/traces?limit=0", headers=node.auth("admin"))
    assert resp.status == 400


def _samples(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


async def test_metrics_change_when_requests_are_made(node: Node) -> None:
    await create(node, "/api/v1/authorities", AUTHORITY)
    before = await (await node.client.get("/metrics", headers=node.auth("scrape"))).text()
    # Three different questions: a repeated one is answered from the gateway's memory.
    for competence in ("mla", "extradition", "cybercrime"):
        resp = await node.client.get(f"/api/v1/lookup?jurisdiction=TH&competence={competence}")
        assert resp.status == 200
    after = await (await node.client.get("/metrics", headers=node.auth("scrape"))).text()

    rpc = semconv.prometheus_name(semconv.RPC_SERVER_DURATION) + "_count"
    server = {"rpc_method": "Lookup", "rpc_service": "justnet.directory.v1.DirectoryService"}
    assert _samples(after, rpc, **server) >= _samples(before, rpc, **server) + 3
    client = semconv.prometheus_name(semconv.RPC_CLIENT_DURATION) + "_count"
    assert (
        _samples(after, client, rpc_method="Lookup")
        >= _samples(before, client, rpc_method="Lookup") + 3
    )
    http = semconv.prometheus_name(semconv.HTTP_SERVER_DURATION) + "_count"
    route = {"http_route": "/api/v1/lookup"}
    assert _samples(after, http, **route) >= _samples(before, http, **route) + 3
    records = semconv.prometheus_name(semconv.RECORDS)
    assert _samples(after, records, justnet_origin="SEAJUST") >= 1
    assert 'justnet_service="gateway"' in after


async def test_the_audit_log_records_writes_and_lookups_never_tokens(node: Node) -> None:
    created = await create(node, "/api/v1/authorities", AUTHORITY)
    resp = await node.client.get("/api/v1/lookup?jurisdiction=TH", headers=node.auth("member"))
    assert resp.status == 200
    lookup_trace = resp.headers["X-Trace-Id"]
    resp = await node.client.get("/api/v1/lookup?jurisdiction=TH")  # anonymous: not audited
    assert resp.status == 200

    resp = await node.client.get("/api/v1/admin/audit?limit=10", headers=node.auth("member"))
    assert resp.status == 403
    resp = await node.client.get("/api/v1/admin/audit?limit=10", headers=node.auth("admin"))
    assert resp.status == 200
    body = await resp.text()
    items = (await resp.json())["items"]
    for token in node.tokens.values():
        assert token not in body
    write = next(i for i in items if i["action"] == "POST")
    # Audited by stable principal id (a service token's own), with the name shown beside it.
    assert write["subject"].startswith("token:") and write["subject_name"] == "test-editor"
    assert write["role"] == "editor"
    assert write["target"] == f"/api/v1/authorities/{created['id']}"  # the new record
    assert "status 201" in write["detail"]
    lookup = next(i for i in items if i["target"] == "/api/v1/lookup?jurisdiction=TH")
    assert (lookup["subject_name"], lookup["action"], lookup["trace_id"]) == (
        "test-member",
        "GET",
        lookup_trace,
    )
    assert lookup["subject"].startswith("token:") and lookup["subject"] != write["subject"]
    assert not any(i["subject"] == "anonymous" for i in items)
    assert created["id"]


def test_code_names_only_registered_justnet_attributes() -> None:
    """Every `justnet.` attribute or metric name in the code is declared in semconv.py."""
    declared = set(semconv.ATTRIBUTES) | {m.name for m in semconv.METRICS}
    found: set[str] = set()
    for folder in ("services", "gateway"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "semconv.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found |= set(re.findall(r"^justnet\.[a-z_]+(?:\.[a-z_]+)*$", node.value))
    # protobuf package names and file names are not attributes
    found = {f for f in found if not re.match(r"^justnet\.([a-z]+\.v\d|toml$)", f)}
    assert found <= declared, found - declared


async def test_metrics_need_an_admin_token_or_the_scrape_token(node: Node) -> None:
    assert (await node.client.get("/metrics")).status == 401
    for role in ("member", "editor"):
        assert (await node.client.get("/metrics", headers=node.auth(role))).status == 403
    wrong = {"Authorization": "Bearer " + "x" * len(node.tokens["scrape"])}
    assert (await node.client.get("/metrics", headers=wrong)).status == 401
    for role in ("admin", "scrape"):
        resp = await node.client.get("/metrics", headers=node.auth(role))
        assert resp.status == 200, role
        assert "justnet_service" in await resp.text()


async def test_the_scrape_token_reads_metrics_and_nothing_else(node: Node) -> None:
    scrape = node.auth("scrape")
    # not even what anyone may read anonymously, nor the admin's views
    for path in ("/api/v1/networks", "/api/v1/node", "/api/v1/admin/traces", "/api/v1/admin/audit"):
        resp = await node.client.get(path, headers=scrape)
        assert resp.status == 403, path
    resp = await node.client.post("/api/v1/authorities", json=AUTHORITY, headers=scrape)
    assert resp.status == 403

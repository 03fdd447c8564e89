"""Personal details kept off replication are fetched on demand from the owning node,
which logs who asked; one trace covers both nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.common.identity import Caller
from tests.internal import internal_channel
from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world

AUTHORITY = {
    "jurisdiction": "TH",
    "name": "Office of the Attorney General, International Affairs Department",
    "kind": "central_authority",
    "competences": ["mla"],
    "accepted_languages": ["th", "en"],
    "visibility": "federation",
}


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path) as factory:
        yield factory


async def create(node: ReqNode, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created = await node.call("POST", path, role="editor", json=body)
    assert status == 201, created
    result: dict[str, Any] = created
    return result


async def contact_point(node: ReqNode, visibility: str) -> dict[str, Any]:
    authority = await create(node, "/api/v1/authorities", AUTHORITY)
    return await create(
        node,
        "/api/v1/contact-points",
        {
            "authority_id": authority["id"],
            "jurisdiction": "TH",
            "name": "Anong Rattanakul",
            "languages": ["th", "en"],
            "competences": ["mla"],
            "email": "anong.r@ago.th.example",
            "phone": "+66 2 142 1444",
            "visibility": visibility,
        },
    )


async def test_withheld_details_are_fetched_from_the_owner_who_logs_the_request(
    make: NodeFactory, spans: InMemorySpanExporter
) -> None:
    sea = await make("SEAJUST", sample_data=False, share="no_personal_details")
    wacap = await make("WACAP", sample_data=False, share="no_personal_details")
    shared = await contact_point(sea, "federation")
    kept = await contact_point(sea, "network")

    async def replica() -> dict[str, Any] | None:
        status, body = await wacap.call("GET", f"/api/v1/contact-points/{shared['id']}")
        return body if status == 200 else None

    copy = await eventually(replica, "the replica on WACAP")
    assert copy["origin"] == "SEAJUST" and copy["provenance"]["verified"] is True
    assert not copy.get("email") and not copy.get("phone")  # kept off replication

    spans.clear()
    resp = await wacap.client.get(
        f"/api/v1/contact-points/{shared['id']}/details", headers=wacap.auth("member")
    )
    assert resp.status == 200, await resp.text()
    details = await resp.json()
    assert details["email"] == "anong.r@ago.th.example"
    assert details["phone"] == "+6621421444"  # stored in E.164
    assert details["origin"] == "SEAJUST" and details["fetched_at"]

    # One trace: WACAP gateway -> WACAP federation -> SEAJUST federation -> SEAJUST directory.
    trace_id = int(resp.headers["X-Trace-Id"], 16)
    in_trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]

    def one(name: str, kind: SpanKind) -> Any:
        found = [s for s in in_trace if s.name == name and s.kind == kind]
        assert len(found) == 1, (name, sorted(s.name for s in in_trace))
        return found[0]

    fed = one("/justnet.federation.v1.FederationService/FetchContactDetails", SpanKind.SERVER)
    out = one("/justnet.federation.v1.PeerService/FetchContactDetails", SpanKind.CLIENT)
    peer_in = one("/justnet.federation.v1.PeerService/FetchContactDetails", SpanKind.SERVER)
    owner_reads = [
        s
        for s in in_trace
        if s.name == "/justnet.directory.v1.DirectoryService/GetContactPoint"
        and s.kind == SpanKind.SERVER
        and s.parent is not None
        and any(
            c.context.span_id == s.parent.span_id
            and c.parent is not None
            and c.parent.span_id == peer_in.context.span_id
            for c in in_trace
        )
    ]
    assert out.parent is not None and out.parent.span_id == fed.context.span_id
    assert peer_in.parent is not None and peer_in.parent.span_id == out.context.span_id
    assert owner_reads, "the owner's directory read is in the same trace"

    # The owner's log: who asked, from where, and what was answered.
    status, log = await sea.call("GET", "/api/v1/federation/contact-requests", role="admin")
    assert status == 200
    [entry] = log["items"]
    # The asker is named by their stable principal id on their node, never a display name.
    assert entry["network"] == "WACAP" and entry["requester"].startswith("token:")
    asker = entry["requester"]
    assert entry["requester_role"] == "member" and entry["outcome"] == "given"
    assert entry["contact_point_id"] == shared["id"]

    # A record not shared with WACAP: refused exactly like a missing one, and logged.
    async with internal_channel(f"127.0.0.1:{wacap.fed_port}", wacap.settings.data_dir) as channel:
        stub = federation_pb2_grpc.FederationServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.FetchContactDetails(
                federation_pb2.FetchContactDetailsRequest(
                    origin="SEAJUST", contact_point_id=kept["id"]
                ),
                metadata=Caller("member", "WACAP", "curious-member").metadata(),
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        # Anonymous callers cannot ask at all.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.FetchContactDetails(
                federation_pb2.FetchContactDetailsRequest(
                    origin="SEAJUST", contact_point_id=shared["id"]
                )
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    _, log = await sea.call("GET", "/api/v1/federation/contact-requests", role="admin")
    assert [(e["requester"], e["outcome"]) for e in log["items"]] == [
        ("curious-member", "not_shared"),
        (asker, "given"),
    ]
    # Members and anonymous callers do not read the owner's log.
    status, _ = await sea.call("GET", "/api/v1/federation/contact-requests", role="member")
    assert status == 403

    # The owner is down: a clear 503, not a hang or a 500.
    await sea.stop_federation()
    resp = await wacap.client.get(
        f"/api/v1/contact-points/{shared['id']}/details", headers=wacap.auth("member")
    )
    assert resp.status == 503
    assert "SEAJUST" in (await resp.json())["detail"]
    anonymous = await wacap.client.get(f"/api/v1/contact-points/{shared['id']}/details")
    assert anonymous.status == 401

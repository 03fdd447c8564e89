"""Editing a draft request (`PUT /api/v1/requests/{id}`, the requests service's UpdateDraft):
only its creator or an editor, only while it is a draft, If-Match against a stale copy,
the same validation as a new draft, and the route planned again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.requests_nodes import DRAFT, NodeFactory, ReqNode, eventually, requests_world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path, postgres=request.param == "postgres") as factory:
        yield factory


async def put(
    node: ReqNode, rid: str, body: Any, role: str = "member", etag: str | None = None
) -> tuple[int, Any, str | None]:
    headers = node.auth(role)
    if etag is not None:
        headers["If-Match"] = etag
    resp = await node.client.put(f"/api/v1/requests/{rid}", json=body, headers=headers)
    return resp.status, await resp.json(), resp.headers.get("ETag")


async def create(node: ReqNode, **changes: Any) -> tuple[dict[str, Any], str]:
    resp = await node.client.post(
        "/api/v1/requests", json={**DRAFT, **changes}, headers=node.auth("member")
    )
    body = await resp.json()
    assert resp.status == 201, body
    return body, resp.headers["ETag"]


async def test_the_creator_edits_a_draft_with_if_match(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    await make("WACAP")
    created, etag = await create(sea)
    rid = created["id"]
    assert etag == '"1"'

    edited = {
        **DRAFT,
        "title": "Bank and phone records of a shell company",
        "measures": ["banking_records", "electronic_evidence"],
        "offences": ["money laundering", "fraud"],
        "urgency": "urgent",
        "deadline": "2099-03-31",
    }
    code, body, new_etag = await put(sea, rid, edited, etag=etag)
    assert code == 200, body
    assert new_etag == '"2"'
    assert body["status"] == "draft"
    assert body["title"] == edited["title"]
    assert body["measures"] == edited["measures"]
    assert body["offences"] == edited["offences"]
    assert body["urgency"] == "urgent"
    assert body["deadline"] == "2099-03-31"
    assert body["route"]["urgency"] == "urgent"  # planned again
    assert body["route"]["destination_network"] == "WACAP"

    # The copy read before the edit is stale now: 412, and nothing changes.
    code, body, _ = await put(sea, rid, {**edited, "title": "Lost update"}, etag=etag)
    assert code == 412, body
    assert body["type"] == "urn:justnet:problem:version-mismatch"
    code, got = await sea.call("GET", f"/api/v1/requests/{rid}")
    assert code == 200
    assert got["title"] == edited["title"]
    assert got["version"] in (2, "2")

    # Without If-Match there is no check (as for every PUT of the API).
    code, body, new_etag = await put(sea, rid, {**edited, "reference": "OAG-2026-0143"})
    assert code == 200, body
    assert new_etag == '"3"'
    assert body["reference"] == "OAG-2026-0143"

    # Another requested state: routed again, to no node when none covers it.
    code, body, _ = await put(sea, rid, {**edited, "requested_jurisdiction": "FR"})
    assert code == 200, body
    assert body["requested_jurisdiction"] == "FR"
    assert body["route"]["destination_network"] is None
    assert "no_peer" in [w["code"] for w in body["route"]["warnings"]]
    code, body, _ = await put(sea, rid, edited)
    assert code == 200
    assert body["route"]["destination_network"] == "WACAP"


async def test_an_edit_is_checked_like_a_new_draft(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    created, _ = await create(sea)
    rid = created["id"]
    for bad in (
        {**DRAFT, "title": ""},
        {**DRAFT, "deadline": "2001-01-01", "measures": ["teleportation"]},
        {**DRAFT, "requested_jurisdiction": "TH"},
        {**DRAFT, "offences": "fraud", "colour": "blue"},
        {**DRAFT, "language": "klingon"},
    ):
        resp = await sea.client.post("/api/v1/requests", json=bad, headers=sea.auth("member"))
        as_new = await resp.json()
        assert resp.status == 400, as_new
        code, as_edit, _ = await put(sea, rid, bad)
        assert code == 400, as_edit
        assert as_edit["errors"] == as_new["errors"]
    code, got = await sea.call("GET", f"/api/v1/requests/{rid}")
    assert got["title"] == DRAFT["title"]
    assert got["version"] in (1, "1")
    # A malformed If-Match is bad input too.
    code, body, _ = await put(sea, rid, DRAFT, etag="yesterday")
    assert code == 400
    assert body["errors"][0]["field"] == "If-Match"


async def test_only_its_creator_or_an_editor_edits_only_a_draft(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    created, _ = await create(sea)
    rid = created["id"]

    # Another member of the same node does not even see it.
    code, body, _ = await put(sea, rid, {**DRAFT, "title": "Mine now"}, role="member2")
    assert code == 404, body
    # Anonymous callers are asked for a token.
    resp = await sea.client.put(f"/api/v1/requests/{rid}", json=DRAFT)
    assert resp.status == 401
    # An editor of the requesting node may.
    code, body, _ = await put(sea, rid, {**DRAFT, "title": "Checked by the secretariat"}, "editor")
    assert code == 200, body
    assert body["title"] == "Checked by the secretariat"
    # An unknown id is 404 like one the caller may not see.
    code, _, _ = await put(sea, "0190f5c2-0000-7000-8000-000000000000", DRAFT)
    assert code == 404

    # Once submitted it is no draft: 409 for its creator and for editors.
    code, _ = await sea.call("POST", f"/api/v1/requests/{rid}/submit")
    assert code == 200
    for role in ("member", "editor"):
        code, body, _ = await put(sea, rid, {**DRAFT, "title": "Too late"}, role)
        assert code == 409, body
        assert body["type"] == "urn:justnet:problem:conflict"

    # The requested side sees the incoming request but never edits it.
    async def arrived() -> bool:
        code, _ = await wacap.call("GET", f"/api/v1/requests/{rid}", role="member")
        return code == 200

    await eventually(arrived, "the request on WACAP")
    for role in ("member", "editor"):
        code, body, _ = await put(wacap, rid, {**DRAFT, "title": "Rewritten"}, role)
        assert code == 403, body
    code, got = await wacap.call("GET", f"/api/v1/requests/{rid}", role="editor")
    assert got["title"] == "Checked by the secretariat"


async def test_the_edit_route_is_in_the_openapi_document(make: NodeFactory) -> None:
    sea = await make("SEAJUST", sample_data=False)
    code, doc = await sea.call("GET", "/api/v1/openapi.json")
    assert code == 200
    op = doc["paths"]["/api/v1/requests/{id}"]["put"]
    assert op["operationId"] == "update_request"
    assert {"404", "409", "412"} <= set(op["responses"])
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RequestInput"
    }

"""A peer speaks only for its states (ARCHITECTURE section 4), between real nodes with
their gateways: a rogue CASC node that claims NG beside WACAP cannot change how SEAJUST
routes to NG, and once SEAJUST narrows what it accepts from CASC, the rogue records land
in the quarantine that administrators read through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from tests.requests_nodes import MEMBERS, NodeFactory, ReqNode, eventually, requests_world

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[NodeFactory]:
    # The rogue: a CASC node configured (and describing itself) as covering NG too, so its
    # sample data holds a central authority and a routing profile for NG. On PostgreSQL,
    # each node's federation database (with its quarantine) is there.
    monkeypatch.setitem(MEMBERS, "CASC", ["KZ", "UZ", "NG"])
    async with requests_world(tmp_path, postgres=request.param == "postgres") as factory:
        yield factory


async def ok(node: ReqNode, method: str, path: str, role: str = "member", **kw: Any) -> Any:
    status, body = await node.call(method, path, role, **kw)
    assert status in (200, 201), (method, path, status, body)
    return body


async def rogue_profile(casc: ReqNode) -> tuple[dict[str, Any], dict[str, Any]]:
    """CASC publishes its own central authority and routing profile for NG, confirmed
    after WACAP's: a later last_verified_at is no claim to speak for a state."""
    authority = await ok(
        casc,
        "POST",
        "/api/v1/authorities",
        "editor",
        json={
            "jurisdiction": "NG",
            "name": "Rogue Central Authority for Nigeria",
            "kind": "central_authority",
            "competences": ["mla"],
            "accepted_languages": ["ru"],
            "email": "mla@rogue.example",
            "visibility": "public",
        },
    )
    profile = await ok(
        casc,
        "PUT",
        "/api/v1/jurisdictions/NG/routing-profile",
        "editor",
        json={
            "central_authority_id": authority["id"],
            "accepted_languages": ["ru"],
            "channels": [{"kind": "email", "address": "mla@rogue.example", "formal": True}],
            "legal_bases": ["RECIPROCITY"],
            "acknowledgement_days": 1,
            "visibility": "public",
        },
    )
    return authority, profile


async def test_a_rogue_peer_claiming_ng_cannot_change_how_seajust_routes_there(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")
    await make("WACAP")
    casc = await make("CASC")
    authority, profile = await rogue_profile(casc)

    async def rogue_arrived() -> dict[str, Any] | None:
        body = await ok(sea, "GET", "/api/v1/jurisdictions/NG/routing-profile")
        held = [body, *body["alternatives"]]
        if [p["version"] for p in held if p["origin"] == "CASC"] == [profile["version"]]:
            return body
        return None

    served = await eventually(rogue_arrived, "CASC's NG profile on SEAJUST", within=30)
    # WACAP's profile is served: the reference data lists NG in WACAP, not in CASC.
    assert (served["origin"], served["standing"]) == ("WACAP", "reference_network")
    [alternative] = served["alternatives"]
    assert alternative["origin"] == "CASC" and alternative["standing"] == "other_network"
    assert alternative["provenance"]["origin"] == "CASC" and alternative["provenance"]["verified"]
    assert alternative["central_authority_id"] == authority["id"]
    assert alternative["last_verified_at"] > served["last_verified_at"]
    assert served["central_authority_id"] != authority["id"]
    jurisdiction = await ok(sea, "GET", "/api/v1/jurisdictions/NG")
    assert jurisdiction["routing_profile"]["origin"] == "WACAP"
    assert [a["origin"] for a in jurisdiction["routing_profile"]["alternatives"]] == ["CASC"]
    # The route SEAJUST plans to NG: WACAP's node and central authority, English as WACAP
    # says; the rogue appears only in the warnings.
    route = await ok(
        sea,
        "POST",
        "/api/v1/routes",
        json={
            "requesting_jurisdiction": "TH",
            "requested_jurisdiction": "NG",
            "measures": ["banking_records"],
            "language": "en",
        },
    )
    assert route["destination_network"] == "WACAP"
    assert route["profile_origin"] == "WACAP"
    assert route["central_authority"]["origin"] == "WACAP"
    assert route["central_authority"]["id"] == served["central_authority_id"]
    assert "ru" not in route["accepted_languages"]
    codes = {w["code"]: w["message"] for w in route["warnings"]}
    assert "CASC" in codes["alternative_profiles"] and "CASC" in codes["several_peers_cover"]
    assert all(c["origin"] != "CASC" for c in route["contacts"][:1])
    # The rogue's own records stay visible as what they are: CASC's, with provenance.
    held = await ok(sea, "GET", f"/api/v1/authorities/{authority['id']}")
    assert held["origin"] == "CASC" and held["provenance"]["verified"]


async def test_narrowing_a_peer_through_the_api_quarantines_its_other_states(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")
    await make("WACAP")
    casc = await make("CASC")
    authority, _ = await rogue_profile(casc)
    await eventually(
        lambda: _status(sea, f"/api/v1/authorities/{authority['id']}", 200), "the rogue record"
    )
    descriptor = json_format.MessageToDict(casc.descriptor(), preserving_proto_field_name=True)
    body = {**descriptor, "replace": True, "accepted_jurisdictions": ["KZ", "FR"]}
    status, problem = await sea.call("POST", "/api/v1/federation/peers", "admin", json=body)
    assert status == 400, problem
    assert [e["field"] for e in problem["errors"]] == ["accepted_jurisdictions[1]"]
    body["accepted_jurisdictions"] = ["KZ", "UZ"]
    status, _ = await sea.call("POST", "/api/v1/federation/peers", "editor", json=body)
    assert status == 403
    added = await ok(sea, "POST", "/api/v1/federation/peers", "admin", json=body)
    assert added["accepted_jurisdictions"] == ["KZ", "UZ"]
    assert added["jurisdictions"] == ["KZ", "UZ", "NG"]

    async def quarantined() -> list[dict[str, Any]]:
        page = await ok(sea, "GET", "/api/v1/federation/quarantine?peer=CASC&limit=500", "admin")
        kinds = {i["kind"] for i in page["items"]}
        gone = await _status(sea, f"/api/v1/authorities/{authority['id']}", 404)
        return page["items"] if gone and {"authority", "routing_profile"} <= kinds else []

    items = await eventually(quarantined, "CASC's NG records in quarantine", within=30)
    assert {(i["peer"], i["jurisdiction"], i["reason"]) for i in items} == {
        ("CASC", "NG", "jurisdiction_not_accepted")
    }
    assert authority["id"] in {i["record_id"] for i in items}
    assert all(i["received_at"] and i["feed"] == "directory" for i in items)
    # NG is routed by WACAP's profile alone; CASC's own states still arrive.
    served = await ok(sea, "GET", "/api/v1/jurisdictions/NG/routing-profile")
    assert served["origin"] == "WACAP" and served["alternatives"] == []
    kz = await ok(sea, "GET", "/api/v1/authorities?network=CASC&jurisdiction=KZ")
    assert kz["items"]
    peers = await ok(sea, "GET", "/api/v1/federation/peers", "admin")
    [state] = [p for p in peers["items"] if p["network"] == "CASC"]
    assert state["accepted_jurisdictions"] == ["KZ", "UZ"]
    assert state["jurisdictions"] == ["KZ", "UZ", "NG"]
    assert state["quarantined"] == len(items)
    assert state["state"] == "connected"
    # A list like every other: limit, cursor, next_cursor; administrators only.
    first = await ok(sea, "GET", "/api/v1/federation/quarantine?limit=1", "admin")
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = await ok(
        sea,
        "GET",
        "/api/v1/federation/quarantine",
        "admin",
        params={"limit": 1, "cursor": first["next_cursor"]},
    )
    assert len(second["items"]) == 1 and second["items"] != first["items"]
    for role in ("editor", "member"):
        status, _ = await sea.call("GET", "/api/v1/federation/quarantine", role)
        assert status == 403
    status, problem = await sea.call(
        "GET", "/api/v1/federation/quarantine?cursor=nonsense", "admin"
    )
    assert status == 400 and problem["errors"][0]["field"] == "cursor"
    doc = await ok(sea, "GET", "/api/v1/openapi.json")
    assert "get" in doc["paths"]["/api/v1/federation/quarantine"]
    # The metric, per peer, kind and reason.
    resp = await sea.client.get("/metrics", headers=sea.auth("admin"))
    metrics = await resp.text()
    assert any(
        line.startswith("justnet_federation_quarantined_records{") and 'justnet_peer="CASC"' in line
        for line in metrics.splitlines()
    ), metrics[:2000]

    # Events: an online meeting is the peer's own and arrives; one held in NG does not.
    event = {
        "kind": "meeting",
        "starts_at": "2099-03-02T09:00:00",
        "ends_at": "2099-03-02T11:00:00",
        "timezone": "Asia/Almaty",
        "visibility": "federation",
    }
    online = await ok(
        casc,
        "POST",
        "/api/v1/events",
        "editor",
        json={
            **event,
            "title": "CASC working group (online)",
            "online_url": "https://meet.example/casc",
        },
    )
    abuja = await ok(
        casc,
        "POST",
        "/api/v1/events",
        "editor",
        json={**event, "title": "CASC plenary, Abuja", "venue": {"city": "Abuja", "country": "NG"}},
    )
    await eventually(lambda: _status(sea, f"/api/v1/events/{online['id']}", 200), "online event")

    async def event_quarantined() -> dict[str, Any] | None:
        page = await ok(sea, "GET", "/api/v1/federation/quarantine?peer=CASC&limit=500", "admin")
        return next((i for i in page["items"] if i["record_id"] == abuja["id"]), None)

    item = await eventually(event_quarantined, "the Abuja event in quarantine")
    assert (item["kind"], item["feed"], item["jurisdiction"]) == ("event", "events", "NG")
    assert await _status(sea, f"/api/v1/events/{abuja['id']}", 404)


async def _status(node: ReqNode, path: str, want: int) -> bool:
    status, _ = await node.call("GET", path)
    return bool(status == want)

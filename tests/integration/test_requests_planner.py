"""The routing planner across the five demo networks: each node holds its own sample
directory and the others' shared records as verified replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.requests_nodes import ReqNode, requests_world


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[dict[str, ReqNode]]:
    async with requests_world(tmp_path) as make:
        out: dict[str, ReqNode] = {}
        for network in ("SEAJUST", "EJN", "WACAP", "CASC", "GLJCN"):
            out[network] = await make(network)
        yield out


async def plan(node: ReqNode, role: str = "member", **body: Any) -> dict[str, Any]:
    code, route = await node.call("POST", "/api/v1/routes", role=role, json=body)
    assert code == 200, route
    result: dict[str, Any] = route
    return result


def codes(route: dict[str, Any], key: str) -> list[str]:
    return [item["code"] for item in route[key]]


async def test_pairs_across_the_five_networks(nodes: dict[str, ReqNode]) -> None:
    # Bangkok to Abuja: WACAP's node; only the UN conventions are shared, then reciprocity.
    th_ng = await plan(
        nodes["SEAJUST"],
        requesting_jurisdiction="TH",
        requested_jurisdiction="NG",
        measures=["banking_records"],
        language="th",
    )
    assert th_ng["destination_network"] == "WACAP"
    assert codes(th_ng, "legal_bases") == ["UNTOC", "UNCAC", "VIENNA_1988", "RECIPROCITY"]
    assert th_ng["legal_bases"][-1]["last_resort"] is True
    assert th_ng["accepted_languages"] == ["en"]
    assert th_ng["translation_required"] is True
    assert "translation_required" in codes(th_ng, "warnings")
    assert th_ng["central_authority"]["jurisdiction"] == "NG"
    assert th_ng["central_authority"]["origin"] == "WACAP"
    assert th_ng["measures"] == [
        {
            "code": "banking_records",
            "applicability": "yes",
            "notes": th_ng["measures"][0]["notes"],
            "alternatives": [],
        }
    ]
    assert th_ng["acknowledgement_days"] == 14

    # Paris to Astana: CASC's node; Russian or Kazakh, so a French request needs translating.
    fr_kz = await plan(
        nodes["EJN"], requesting_jurisdiction="FR", requested_jurisdiction="KZ", language="fr"
    )
    assert fr_kz["destination_network"] == "CASC"
    assert codes(fr_kz, "legal_bases")[:3] == ["UNTOC", "UNCAC", "VIENNA_1988"]
    assert "COE_MLA_1959" not in codes(fr_kz, "legal_bases")
    assert set(fr_kz["accepted_languages"]) == {"kk", "ru"}
    assert fr_kz["translation_required"] is True

    # Nairobi to Hanoi in English: SEAJUST's node; English is accepted, nothing to translate.
    ke_vn = await plan(
        nodes["GLJCN"], requesting_jurisdiction="KE", requested_jurisdiction="VN", language="en"
    )
    assert ke_vn["destination_network"] == "SEAJUST"
    assert ke_vn["translation_required"] is False
    assert "translation_required" not in codes(ke_vn, "warnings")
    assert codes(ke_vn, "legal_bases")[0] == "UNTOC"

    # Within a region the regional treaty comes first, and the route stays on this node.
    th_vn = await plan(nodes["SEAJUST"], requesting_jurisdiction="TH", requested_jurisdiction="VN")
    assert th_vn["destination_network"] == "SEAJUST"
    assert th_vn["destination_is_local"] is True
    assert codes(th_vn, "legal_bases")[0] == "ASEAN_MLAT_2004"
    fr_de = await plan(nodes["EJN"], requesting_jurisdiction="FR", requested_jurisdiction="DE")
    assert set(codes(fr_de, "legal_bases")[:2]) == {"COE_MLA_1959", "EU_EIO_2014"}


async def test_warnings(nodes: dict[str, ReqNode]) -> None:
    sea = nodes["SEAJUST"]
    # Urgent, and the sample data has no 24/7 contact point in Nigeria.
    urgent = await plan(
        sea, requesting_jurisdiction="TH", requested_jurisdiction="NG", urgency="urgent"
    )
    assert "no_24_7_contact" in codes(urgent, "warnings")
    assert urgent["urgent_procedure"]
    # A state no peer covers (Brazil is in no demo network's node).
    br = await plan(sea, requesting_jurisdiction="TH", requested_jurisdiction="BR")
    assert br["destination_network"] is None
    assert {"no_peer", "no_routing_profile"} <= set(codes(br, "warnings"))
    # A measure a state does not offer, with what to ask for instead.
    code, profile = await sea.call("GET", "/api/v1/jurisdictions/VN/routing-profile", role="editor")
    assert code == 200
    body = {
        k: profile[k]
        for k in (
            "accepted_languages",
            "channels",
            "legal_bases",
            "acknowledgement_days",
            "urgent_procedure",
            "visibility",
        )
    }
    body["central_authority_id"] = profile["central_authority_id"]
    body["measures"] = [
        {**m, "applicability": "no"} if m["code"] == "search_and_seizure" else m
        for m in profile["measures"]
    ]
    code, _ = await sea.call(
        "PUT", "/api/v1/jurisdictions/VN/routing-profile", role="editor", json=body
    )
    assert code == 200
    route = await plan(
        sea,
        requesting_jurisdiction="TH",
        requested_jurisdiction="VN",
        measures=["search_and_seizure"],
    )
    [advice] = route["measures"]
    assert advice["applicability"] == "no"
    assert "banking_records" in advice["alternatives"]
    assert "measure_unavailable" in codes(route, "warnings")
    # Bad input names the field and is a 400.
    code, problem = await sea.call(
        "POST",
        "/api/v1/routes",
        json={
            "requesting_jurisdiction": "TH",
            "requested_jurisdiction": "XX",
            "measures": ["teleport"],
        },
    )
    assert code == 400
    assert {e["field"] for e in problem["errors"]} >= {"measures[0]"}


async def test_editors_correct_instrument_parties(nodes: dict[str, ReqNode]) -> None:
    sea = nodes["SEAJUST"]
    before = await plan(sea, requesting_jurisdiction="TH", requested_jurisdiction="NG")
    assert "ECOWAS_MLA_1992" not in codes(before, "legal_bases")
    code, _ = await sea.call(
        "PUT", "/api/v1/instruments/UNCAC", role="member", json={"parties": ["TH"]}
    )
    assert code == 403
    code, body = await sea.call(
        "PUT",
        "/api/v1/instruments/BILATERAL:NG-TH",
        role="editor",
        json={"title": "Thailand-Nigeria MLA treaty", "type": "bilateral", "parties": ["TH", "NG"]},
    )
    assert code == 200, body
    assert body["edited"] is True
    code, listed = await sea.call("GET", "/api/v1/instruments?party=NG", role="member")
    assert "BILATERAL:NG-TH" in [i["code"] for i in listed["items"]]
    # The planner caches instruments for a short while; a fresh plan on another node's
    # data is unaffected, and this node's plan shows the bilateral treaty first once read.
    sea.requests_rt.logic.planner._instruments = None
    after = await plan(sea, requesting_jurisdiction="TH", requested_jurisdiction="NG")
    assert codes(after, "legal_bases")[0] == "BILATERAL:NG-TH"

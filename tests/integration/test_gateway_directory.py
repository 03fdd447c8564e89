"""The directory through the gateway, against a real directory server."""

from __future__ import annotations

from typing import Any

from tests.conftest import Node

AUTHORITY = {
    "jurisdiction": "TH",
    "name": "Office of the Attorney General, International Affairs Department",
    "kind": "central_authority",
    "competences": ["mla", "extradition"],
    "accepted_languages": ["th", "en"],
    "email": "mla@th.justnet.example",
    "phone": "+66 2 142 1444",
    "website": "https://www.ago.go.th",
    "visibility": "public",
}


async def create(
    node: Node, path: str, body: dict[str, Any], role: str = "editor"
) -> dict[str, Any]:
    resp = await node.client.post(path, json=body, headers=node.auth(role))
    assert resp.status == 201, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def test_authority_lifecycle_with_etags(node: Node) -> None:
    created = await create(node, "/api/v1/authorities", AUTHORITY)
    assert created["origin"] == "SEAJUST"
    assert created["version"] == 1
    assert created["phone"] == "+6621421444"
    assert created["last_verified_at"]
    path = f"/api/v1/authorities/{created['id']}"

    resp = await node.client.get(path)
    assert resp.status == 200
    assert resp.headers["ETag"] == '"1"'
    assert len(resp.headers["X-Trace-Id"]) == 32

    changed = {**AUTHORITY, "name": "OAG International Affairs"}
    resp = await node.client.put(
        path, json=changed, headers={**node.auth("editor"), "If-Match": '"1"'}
    )
    assert resp.status == 200
    assert (await resp.json())["version"] == 2

    stale = await node.client.put(
        path, json=changed, headers={**node.auth("editor"), "If-Match": '"1"'}
    )
    assert stale.status == 412
    assert stale.headers["Content-Type"].startswith("application/problem+json")

    resp = await node.client.delete(path, headers=node.auth("editor"))
    assert resp.status == 204
    assert (await node.client.get(path)).status == 404


async def test_writes_need_an_editor(node: Node) -> None:
    resp = await node.client.post("/api/v1/authorities", json=AUTHORITY)
    assert resp.status == 401
    resp = await node.client.post(
        "/api/v1/authorities", json=AUTHORITY, headers=node.auth("member")
    )
    assert resp.status == 403
    resp = await node.client.get("/api/v1/authorities", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_visibility_rules(node: Node) -> None:
    ids = {}
    for vis in ("public", "network", "federation", "private"):
        body = {**AUTHORITY, "name": f"Authority {vis}", "visibility": vis}
        ids[vis] = (await create(node, "/api/v1/authorities", body))["id"]

    async def seen(role: str) -> set[str]:
        names = set()
        for path in ("/api/v1/authorities?jurisdiction=TH", "/api/v1/lookup?jurisdiction=TH"):
            resp = await node.client.get(path, headers=node.auth(role))
            assert resp.status == 200
            names |= {i["visibility"] for i in (await resp.json())["items"]}
        by_id = set()
        for vis, rid in ids.items():
            resp = await node.client.get(f"/api/v1/authorities/{rid}", headers=node.auth(role))
            assert resp.status in (200, 404)
            if resp.status == 200:
                by_id.add(vis)
        assert names == by_id, (role, names, by_id)
        return names

    assert await seen("anonymous") == {"public"}
    assert await seen("member") == {"public", "network", "federation"}
    assert await seen("editor") == {"public", "network", "federation", "private"}


async def test_bad_input_names_the_field_and_writes_nothing(node: Node) -> None:
    cases = [
        ({**AUTHORITY, "jurisdiction": "XX"}, "jurisdiction"),
        ({**AUTHORITY, "jurisdiction": "FR"}, "jurisdiction"),  # not a SEAJUST member
        ({**AUTHORITY, "email": "not-an-email"}, "email"),
        ({**AUTHORITY, "phone": "12"}, "phone"),
        ({**AUTHORITY, "kind": "wizard"}, "kind"),
        ({**AUTHORITY, "competences": ["mla", "magic"]}, "competences[1]"),
        ({**AUTHORITY, "accepted_languages": ["english"]}, "accepted_languages[0]"),
        ({**AUTHORITY, "available_24_7": "yes"}, "available_24_7"),
        ({**AUTHORITY, "name": 42}, "name"),
        ({k: v for k, v in AUTHORITY.items() if k != "name"}, "name"),
        ({**AUTHORITY, "colour": "blue"}, "colour"),
        ({**AUTHORITY, "visibility": "secret"}, "visibility"),
        ({**AUTHORITY, "website": "javascript:alert(1)"}, "website"),
    ]
    for body, field in cases:
        resp = await node.client.post("/api/v1/authorities", json=body, headers=node.auth("editor"))
        assert resp.status == 400, (field, await resp.text())
        problem = await resp.json()
        assert problem["status"] == 400
        assert field in [e["field"] for e in problem["errors"]], (field, problem)
    resp = await node.client.get("/api/v1/authorities", headers=node.auth("editor"))
    assert (await resp.json())["items"] == []


async def test_malformed_and_oversized_bodies(node: Node) -> None:
    headers = {**node.auth("editor"), "Content-Type": "application/json"}
    resp = await node.client.post("/api/v1/authorities", data=b"{not json", headers=headers)
    assert resp.status == 400
    assert (await resp.json())["errors"][0]["field"] == "body"
    resp = await node.client.post("/api/v1/authorities", data=b"[1,2]", headers=headers)
    assert resp.status == 400
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = await node.client.post("/api/v1/authorities", data=big, headers=headers)
    assert resp.status == 413
    assert resp.headers["Content-Type"].startswith("application/problem+json")


async def test_injection_strings_are_stored_verbatim(node: Node) -> None:
    name = "Robert'); DROP TABLE directory_authorities;-- <script>alert(1)</script>"
    created = await create(node, "/api/v1/authorities", {**AUTHORITY, "name": name})
    resp = await node.client.get(f"/api/v1/authorities/{created['id']}")
    assert (await resp.json())["name"] == name
    resp = await node.client.get("/api/v1/authorities", params={"q": "'; DROP TABLE x;--%_"})
    assert resp.status == 200
    assert (await resp.json())["items"] == []


async def test_contact_points_and_lookup_ranking(node: Node) -> None:
    ca = await create(node, "/api/v1/authorities", AUTHORITY)
    police = await create(
        node,
        "/api/v1/authorities",
        {
            **AUTHORITY,
            "name": "Royal Thai Police Cybercrime Bureau",
            "kind": "police",
            "competences": ["cybercrime", "urgent_24_7", "mla"],
            "available_24_7": True,
            "accepted_languages": ["th"],
        },
    )
    base = {"jurisdiction": "TH", "competences": ["mla"], "visibility": "public"}
    await create(
        node,
        "/api/v1/contact-points",
        {**base, "authority_id": ca["id"], "name": "Somchai Kittisak", "languages": ["th"]},
    )
    await create(
        node,
        "/api/v1/contact-points",
        {**base, "authority_id": ca["id"], "name": "Anong Rattanakul", "languages": ["th", "en"]},
    )
    duty = await create(
        node,
        "/api/v1/contact-points",
        {
            **base,
            "authority_id": police["id"],
            "name": "Duty Officer",
            "languages": ["th"],
            "available_24_7": True,
        },
    )

    resp = await node.client.get(
        "/api/v1/lookup", params={"jurisdiction": "TH", "competence": "mla", "language": "en"}
    )
    data = await resp.json()
    assert data["networks_consulted"] == ["SEAJUST"]
    assert data["networks_unavailable"] == []
    first_cp = next(i for i in data["items"] if i["record_type"] == "contact_point")
    assert first_cp["name"] == "Anong Rattanakul"  # speaks the requested language
    assert all(i["origin"] == "SEAJUST" for i in data["items"])

    resp = await node.client.get(
        "/api/v1/lookup", params={"jurisdiction": "TH", "competence": "mla", "urgent": "true"}
    )
    top = (await resp.json())["items"]
    assert top[0]["available_24_7"] is True
    assert duty["id"] in {i["id"] for i in top[:2]}

    resp = await node.client.get("/api/v1/contact-points", params={"available_24_7": "true"})
    assert [c["name"] for c in (await resp.json())["items"]] == ["Duty Officer"]

    bad = await node.client.post(
        "/api/v1/contact-points",
        json={**base, "authority_id": "0190f5a6-0000-7000-8000-000000000000", "name": "Ghost"},
        headers=node.auth("editor"),
    )
    assert bad.status == 400
    assert (await bad.json())["errors"][0]["field"] == "authority_id"


async def test_pagination_walks_every_record_once(node: Node) -> None:
    for i in range(7):
        await create(node, "/api/v1/authorities", {**AUTHORITY, "name": f"Authority {i:02d}"})
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        data = await (await node.client.get("/api/v1/authorities", params=params)).json()
        seen += [a["name"] for a in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Authority {i:02d}" for i in range(7)]
    for bad in (
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"cursor": "garbage!"},
        {"unknown": "1"},
    ):
        resp = await node.client.get("/api/v1/authorities", params=bad)
        assert resp.status == 400, bad


async def test_routing_profile(node: Node) -> None:
    ca = await create(node, "/api/v1/authorities", AUTHORITY)
    body = {
        "central_authority_id": ca["id"],
        "accepted_languages": ["th", "en"],
        "channels": [{"kind": "email", "address": "mla@th.justnet.example", "formal": True}],
        "legal_bases": ["ASEAN_MLAT_2004", "UNTOC", "BILATERAL:US-TH"],
        "measures": [
            {"code": "banking_records", "applicability": "partial", "notes": "Court order needed"}
        ],
        "acknowledgement_days": 14,
        "urgent_procedure": "Send in advance by e-mail.",
        "visibility": "public",
    }
    path = "/api/v1/jurisdictions/TH/routing-profile"
    resp = await node.client.put(path, json=body, headers=node.auth("editor"))
    assert resp.status == 200, await resp.text()
    profile = await resp.json()
    assert profile["legal_bases"] == ["ASEAN_MLAT_2004", "UNTOC", "BILATERAL:TH-US"]
    resp = await node.client.get(path)
    assert resp.headers["ETag"] == '"1"'
    bad = {
        **body,
        "legal_bases": ["NOT_A_TREATY"],
        "measures": [{"code": "x", "applicability": "y"}],
    }
    resp = await node.client.put(path, json=bad, headers=node.auth("editor"))
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert fields == {"legal_bases[0]", "measures[0].code", "measures[0].applicability"}
    assert (await (await node.client.get(path)).json())["version"] == 1
    resp = await node.client.put(
        "/api/v1/jurisdictions/FR/routing-profile", json=body, headers=node.auth("editor")
    )
    assert resp.status == 400


async def test_node_health_networks_jurisdictions(node: Node) -> None:
    resp = await node.client.get("/api/v1/node")
    data = await resp.json()
    assert data["network"] == "SEAJUST"
    assert "TH" in data["jurisdictions"]
    resp = await node.client.get("/api/v1/health")
    data = await resp.json()
    # requests and events point at a closed port in this fixture: degraded, 503
    assert resp.status == 503
    assert data["services"]["directory"] == "SERVING"
    assert data["services"]["requests"] != "SERVING"
    nets = await (await node.client.get("/api/v1/networks")).json()
    assert {n["code"] for n in nets["items"]} >= {"SEAJUST", "EJN", "WACAP", "CASC", "GLJCN"}
    th = await (await node.client.get("/api/v1/jurisdictions/TH")).json()
    assert th["networks"] == ["SEAJUST"]
    assert "th" in th["official_languages"]
    assert (await node.client.get("/api/v1/jurisdictions/XX")).status == 400
    assert (await node.client.get("/api/v1/networks/NOPE")).status == 404
    metrics = await node.client.get("/metrics", headers=node.auth("admin"))
    assert metrics.status == 200
    assert "http_server" in await metrics.text()


async def test_repeated_lookups_stay_exact_after_changes(node: Node) -> None:
    params = {"jurisdiction": "TH", "competence": "mla"}
    first = await (await node.client.get("/api/v1/lookup", params=params)).json()
    assert first["items"] == []
    created = await create(node, "/api/v1/authorities", AUTHORITY)
    second = await (await node.client.get("/api/v1/lookup", params=params)).json()
    assert [i["id"] for i in second["items"]] == [created["id"]]
    third = await (await node.client.get("/api/v1/lookup", params=params)).json()
    assert third == second  # revalidated, unchanged
    # another caller class does not get an answer rendered for someone else
    hidden = await create(
        node, "/api/v1/authorities", {**AUTHORITY, "name": "Hidden", "visibility": "network"}
    )
    anon = await (await node.client.get("/api/v1/lookup", params=params)).json()
    member = await (
        await node.client.get("/api/v1/lookup", params=params, headers=node.auth("member"))
    ).json()
    assert hidden["id"] not in [i["id"] for i in anon["items"]]
    assert hidden["id"] in [i["id"] for i in member["items"]]
    await node.client.delete(f"/api/v1/authorities/{created['id']}", headers=node.auth("editor"))
    gone = await (await node.client.get("/api/v1/lookup", params=params)).json()
    assert gone["items"] == []


async def test_every_short_list_pages_with_limit_and_cursor(node: Node) -> None:
    """API.md: every list takes `limit` and `cursor` and answers `{items, next_cursor}`,
    also the short ones a service answers whole (issue 11: networks, jurisdictions, peers
    and traces answered without next_cursor)."""
    for path, role in (
        ("/api/v1/networks", "member"),
        ("/api/v1/jurisdictions", "member"),
        ("/api/v1/federation/peers", "admin"),
        ("/api/v1/federation/contact-requests", "admin"),
        ("/api/v1/admin/traces", "admin"),
    ):
        whole = await node.client.get(f"{path}?limit=500", headers=node.auth(role))
        assert whole.status == 200, (path, await whole.text())
        everything = (await whole.json())["items"]
        seen: list[object] = []
        cursor = ""
        for _ in range(len(everything) + 2):  # bounded: one page per item at most
            query = f"?limit=20&cursor={cursor}" if cursor else "?limit=20"
            resp = await node.client.get(path + query, headers=node.auth(role))
            assert resp.status == 200, (path, await resp.text())
            page = await resp.json()
            assert set(page) >= {"items", "next_cursor"} and len(page["items"]) <= 20, path
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        if path != "/api/v1/admin/traces":  # new traces appear while paging
            assert seen == everything, path
        bad = await node.client.get(f"{path}?cursor=nonsense", headers=node.auth(role))
        assert bad.status == 400, path
        assert "cursor" in (await bad.text()), path

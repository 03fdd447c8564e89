"""Peer administration through the gateway, against a real federation service."""

from __future__ import annotations

import asyncio
from pathlib import Path

from google.protobuf import json_format

from services.cli.nodes import write_node
from services.common.keyring import load_identity
from services.common.settings import load_settings
from services.federation.service import descriptor
from tests.conftest import Node


async def test_add_list_and_remove_a_peer(node: Node, tmp_path: Path) -> None:
    other = load_settings(write_node(tmp_path / "ejn", "EJN", "EJN", ["FR"], 29000))
    body = json_format.MessageToDict(
        descriptor(other, load_identity(other)), preserving_proto_field_name=True
    )
    resp = await node.client.post(
        "/api/v1/federation/peers", json=body, headers=node.auth("editor")
    )
    assert resp.status == 403
    resp = await node.client.post("/api/v1/federation/peers", json=body, headers=node.auth("admin"))
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"] == "/api/v1/federation/peers/EJN"
    again = await node.client.post(
        "/api/v1/federation/peers", json=body, headers=node.auth("admin")
    )
    assert again.status == 409
    peers = await (
        await node.client.get("/api/v1/federation/peers", headers=node.auth("admin"))
    ).json()
    assert [p["network"] for p in peers["items"]] == ["EJN"]
    assert peers["items"][0]["state"] in ("backing_off", "unreachable", "connected")
    resp = await node.client.delete("/api/v1/federation/peers/EJN", headers=node.auth("admin"))
    assert resp.status == 204
    resp = await node.client.delete("/api/v1/federation/peers/EJN", headers=node.auth("admin"))
    assert resp.status == 404
    # The audit log names the peer each change concerns (written in the background).
    for _ in range(100):
        audit = await node.client.get("/api/v1/admin/audit?limit=50", headers=node.auth("admin"))
        entries = {(i["action"], i["target"]) for i in (await audit.json())["items"]}
        if ("POST", "/api/v1/federation/peers/EJN") in entries:
            break
        await asyncio.sleep(0.05)
    assert ("POST", "/api/v1/federation/peers/EJN") in entries
    assert ("DELETE", "/api/v1/federation/peers/EJN") in entries


async def test_bad_descriptors_name_the_field(node: Node, tmp_path: Path) -> None:
    other = load_settings(write_node(tmp_path / "ejn", "EJN", "EJN", ["FR"], 29000))
    good = json_format.MessageToDict(
        descriptor(other, load_identity(other)), preserving_proto_field_name=True
    )
    cases = [
        ({**good, "public_key": "not base64!"}, "public_key"),
        ({**good, "certificate_pem": "-----BEGIN nonsense"}, "certificate_pem"),
        ({**good, "certificate_fingerprint": "sha256:00"}, "certificate_fingerprint"),
        ({**good, "peer_endpoint": "nowhere"}, "peer_endpoint"),
        ({**good, "network": "SEAJUST"}, "network"),  # our own code
        ({**good, "share": "everything"}, "share"),
        ({**good, "key_valid_until": "tomorrow"}, "key_valid_until"),
    ]
    for body, field in cases:
        resp = await node.client.post(
            "/api/v1/federation/peers", json=body, headers=node.auth("admin")
        )
        assert resp.status == 400, (field, await resp.text())
        assert field in [e["field"] for e in (await resp.json())["errors"]]
    peers = await (
        await node.client.get("/api/v1/federation/peers", headers=node.auth("admin"))
    ).json()
    assert peers["items"] == []

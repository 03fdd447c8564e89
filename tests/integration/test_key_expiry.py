"""Administrators are warned 30 days before a key or certificate expires: in
/api/v1/node, by the expiry gauge on /metrics, and on the console's peers page."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta

import pyotp

from gateway.key_expiry import warnings
from services.common.timeutil import utcnow
from tests.conftest import Node
from tests.integration.test_console_accounts import csrf_of, person, sign_in

WAIT = 15.0


def _expire_signing_key_in(node: Node, days: int) -> None:
    path = node.settings.data_dir / "keys" / "keyring.json"
    doc = json.loads(path.read_text())
    doc["current"]["valid_until"] = (utcnow() + timedelta(days=days)).isoformat()
    path.write_text(json.dumps(doc))


async def _node_body(node: Node, wanted: int) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + WAIT
    while True:
        resp = await node.client.get("/api/v1/node")
        assert resp.status == 200
        body: dict = await resp.json()  # type: ignore[type-arg]
        if len(body["warnings"]) == wanted or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.2)


async def test_no_warning_for_a_fresh_node(node: Node) -> None:
    body = await _node_body(node, 0)
    assert body["warnings"] == []
    assert body["keys"]["key_id"].startswith("ed25519:")
    assert body["keys"]["certificate_fingerprint"].startswith("sha256:")


async def test_a_key_expiring_within_30_days_is_warned_about_everywhere(node: Node) -> None:
    _expire_signing_key_in(node, 10)
    body = await _node_body(node, 1)
    [warning] = body["warnings"]
    assert warning["kind"] == "signing_key" and warning["own"] is True
    assert warning["network"] == node.settings.network
    assert warning["days_left"] in (9, 10)
    assert "justnet keys rotate" in warning["message"]

    line = (
        'justnet_federation_key_expiry_seconds{justnet_key_kind="signing_key",'
        f'justnet_key_owner="{node.settings.network}"'
    )
    deadline = time.monotonic() + WAIT
    while True:  # the gauge is read at each scrape: it moves with the keyring
        metrics = await node.client.get("/metrics", headers=node.auth("scrape"))
        assert metrics.status == 200
        found = [row for row in (await metrics.text()).splitlines() if row.startswith(line)]
        assert found, "the expiry gauge is on /metrics"
        seconds = float(found[0].rsplit(" ", 1)[1])
        if seconds <= 10 * 86400 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert 9 * 86400 < seconds <= 10 * 86400

    # The console's peers page says it to an administrator.
    admin = await person(node, "admin", "keys-admin@example.org")
    resp = await sign_in(node.client, admin.email)
    page = await node.client.get(resp.headers["Location"])
    html = await page.text()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert secret
    done = await node.client.post(
        "/console/sign-in/enrol",
        data={
            "csrf_token": csrf_of(html),
            "secret": secret.group(1),
            "code": pyotp.TOTP(secret.group(1)).now(),
        },
    )
    assert done.status == 200
    peers = await node.client.get("/console/admin/peers")
    assert peers.status == 200
    text = await peers.text()
    assert 'id="key-warnings"' in text
    assert "This node&#39;s signing key" in text or "This node's signing key" in text


def test_peers_keys_and_certificates_are_warned_about_too() -> None:
    from justnet.federation.v1 import federation_pb2

    now = utcnow()
    peer = federation_pb2.PeerStatus(network="EJN")
    peer.key_valid_until.FromDatetime(now + timedelta(days=400))
    peer.certificate_valid_until.FromDatetime(now - timedelta(days=2))
    later = federation_pb2.PeerStatus(network="WACAP")
    later.certificate_valid_until.FromDatetime(now + timedelta(days=29, hours=1))
    found = warnings(None, [later, peer], now)
    assert [(w["network"], w["kind"], w["days_left"]) for w in found] == [
        ("EJN", "certificate", -2),
        ("WACAP", "certificate", 29),
    ]
    assert "expired 2 days ago" in found[0]["message"]
    assert "EJN's administrators" in found[0]["message"]

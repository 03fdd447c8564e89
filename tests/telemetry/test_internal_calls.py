"""The gateway's calls to the services carry the node's internal credential, and its own
calls name the node service `service:gateway`, not an invented person; the services'
internal telemetry and ListPeers check who asks, over real gRPC. A caller named without the
credential counts as anonymous (tests/integration/test_internal_trust.py for the rest)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import grpc
import pytest
from justnet.common.v1 import telemetry_pb2, telemetry_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc

from gateway import keys, observe
from gateway.clients import ServiceClients
from services.common.identity import Caller
from services.common.internal import SERVICE_KEY, InternalCredential, token_path
from tests.conftest import Node

ANONYMOUS: tuple[tuple[str, str], ...] = ()
MEMBER = Caller("member", "SEAJUST", "token:m").metadata()
EDITOR = Caller("editor", "SEAJUST", "token:e").metadata()
ADMIN = Caller("admin", "SEAJUST", "token:a").metadata()
GATEWAY = Caller.node_service("gateway", "SEAJUST").metadata()
WRONG = ((SERVICE_KEY, "not-the-node-credential-" + "x" * 20),)


def _own(node: Node) -> tuple[tuple[str, str], ...]:
    return ((SERVICE_KEY, token_path(node.settings.data_dir).read_text().strip()),)


def _cases(node: Node) -> list[tuple[tuple[tuple[str, str], ...], grpc.StatusCode]]:
    own = _own(node)
    return [
        (ANONYMOUS, grpc.StatusCode.UNAUTHENTICATED),
        (WRONG, grpc.StatusCode.UNAUTHENTICATED),
        # a caller named without the credential is anonymous, whatever role it claims
        (ADMIN, grpc.StatusCode.UNAUTHENTICATED),
        (GATEWAY, grpc.StatusCode.UNAUTHENTICATED),
        ((*WRONG, *ADMIN), grpc.StatusCode.UNAUTHENTICATED),
        # the credential alone names nobody
        (own, grpc.StatusCode.UNAUTHENTICATED),
        ((*own, *MEMBER), grpc.StatusCode.PERMISSION_DENIED),
        ((*own, *EDITOR), grpc.StatusCode.PERMISSION_DENIED),
        ((*own, *ADMIN), grpc.StatusCode.OK),
        ((*own, *GATEWAY), grpc.StatusCode.OK),
    ]


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("service", ["directory", "federation"])
async def test_node_telemetry_answers_admins_and_the_gateway_only(node: Node, service: str) -> None:
    async with grpc.aio.insecure_channel(node.settings.service(service).target) as channel:
        stub = telemetry_pb2_grpc.NodeTelemetryStub(channel)
        for metadata, expected in _cases(node):
            for call in (
                stub.Metrics(telemetry_pb2.MetricsRequest(), metadata=metadata, timeout=5),
                stub.RecentSpans(telemetry_pb2.RecentSpansRequest(), metadata=metadata, timeout=5),
            ):
                assert await _code(call) == expected, (service, metadata)


async def test_list_peers_answers_admins_and_the_gateway_only(node: Node) -> None:
    async with grpc.aio.insecure_channel(node.settings.federation.target) as channel:
        federation = federation_pb2_grpc.FederationServiceStub(channel)
        for brief in (True, False):
            for metadata, expected in _cases(node):
                call = federation.ListPeers(
                    federation_pb2.ListPeersRequest(brief=brief), metadata=metadata
                )
                assert await _code(call) == expected, (brief, metadata)


async def test_metrics_are_gathered_with_the_credential_not_an_invented_admin(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The servers share the gateway's process here: make the gateway count their answers.
    monkeypatch.setattr(observe, "telemetry", SimpleNamespace(INSTANCE="another process"))
    # Every service here answers with the test process's whole registry (all the session's
    # nodes: megabytes late in a run); what is checked is who answers, not how fast.
    monkeypatch.setattr(observe, "GATHER_TIMEOUT", 30.0)
    clients = node.client.app[keys.CLIENTS]
    scrape = node.auth("scrape")

    async def services() -> set[str]:
        text = await (await node.client.get("/metrics", headers=scrape)).text()
        return set(re_services(text))

    assert {"gateway", "directory", "federation"} <= await services()
    assert clients.own == Caller.node_service("gateway", "SEAJUST")
    # with a wrong credential the services answer nothing (the peers' gauges neither)
    wrong = ServiceClients.connect(
        node.settings, InternalCredential.fixed("not-the-node-credential-" + "x" * 20)
    )
    try:
        text = (await observe.node_metrics(wrong)).decode()
        assert set(re_services(text)) == {"gateway"}
    finally:
        await wrong.close()
    # /api/v1/node still shows the peers' state to anyone: the gateway asks as itself
    resp = await node.client.get("/api/v1/node")
    assert resp.status == 200


def re_services(text: str) -> list[str]:
    return re.findall(r'justnet_service="([a-z]+)"', text)


async def test_the_gateways_own_peer_state_refresh_is_answered(node: Node) -> None:
    # lookups and /api/v1/node show the peers' state: the gateway's background ListPeers
    clients = node.client.app[keys.CLIENTS]
    clients._peers_at = -1e9
    assert await clients.peer_states() == {}  # no peers, but an answer (None: refused)
    node_info = await (await node.client.get("/api/v1/node")).json()
    assert node_info["peers"] == [] and "peers_unavailable" not in node_info

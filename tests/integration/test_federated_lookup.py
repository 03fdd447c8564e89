"""Lookup across networks answers from local and replicated records in one query, and a
peer that is dead, or hangs without answering, changes nothing but `networks_unavailable`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path) as factory:
        yield factory


async def lookup(node: ReqNode, **params: str) -> dict[str, Any]:
    # A bound on each answer: a lookup that waited on the peer would hit it.
    async with asyncio.timeout(3):
        resp = await node.client.get("/api/v1/lookup", params=params)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


@contextlib.asynccontextmanager
async def black_hole(port: int) -> AsyncIterator[None]:
    """Accepts connections on the dead peer's port and never answers: the worst peer."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", port, family=socket.AF_INET)
    try:
        yield
    finally:
        server.close()
        for writer in held:
            writer.close()


async def test_lookup_keeps_answering_from_replicas_while_the_peer_hangs(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    before = await lookup(sea, jurisdiction="NG", competence="mla")
    assert before["networks_unavailable"] == []
    assert "WACAP" in before["networks_consulted"]
    nigerian = [i for i in before["items"] if i["origin"] == "WACAP"]
    assert nigerian and all(i["provenance"]["verified"] for i in nigerian)

    await wacap.stop_federation()
    async with black_hole(wacap.peer_port):

        async def flagged() -> dict[str, Any] | None:
            body = await lookup(sea, jurisdiction="NG", competence="mla")
            return body if body["networks_unavailable"] == ["WACAP"] else None

        during = await eventually(flagged, "WACAP reported unavailable", within=60)
        # Same answers as before, from the replicas, each still with its provenance.
        assert [i["id"] for i in during["items"]] == [i["id"] for i in before["items"]]
        for _ in range(20):
            body = await lookup(sea, jurisdiction="NG")
            assert body["items"] and body["networks_unavailable"] == ["WACAP"]
        status, peers = await sea.call("GET", "/api/v1/federation/peers", role="admin")
        assert status == 200
        [state] = [p for p in peers["items"] if p["network"] == "WACAP"]
        assert state["state"] in ("backing_off", "unreachable") and state["last_error"]

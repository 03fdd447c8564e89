"""Nodes for the cross-network tests: a real directory (with sample data), federation,
requests and events services and gateway per network, on loopback, peered over mutual
TLS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from justnet.common.v1 import exchange_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from sqlalchemy import text

from gateway.app import create_app
from gateway.app import migrate as migrate_gateway
from gateway.auth import TokenStore
from services.cli.nodes import write_node
from services.common.db import create_engine
from services.common.identity import Caller
from services.common.keyring import load_identity
from services.common.settings import NodeSettings, load_settings
from services.directory import sample
from services.directory import service as directory
from services.events import service as events
from services.federation import service as federation
from services.requests import service as requests
from tests.internal import internal_channel
from tests.postgres import fresh_database

MEMBERS = {
    "SEAJUST": ["TH", "VN", "MY"],
    "EJN": ["FR", "DE"],
    "WACAP": ["NG", "SN"],
    "CASC": ["KZ", "UZ"],
    "GLJCN": ["KE", "RW"],
}
WAIT = 15.0
SCRAPE_TOKEN = "test-scrape-token-0123456789"  # gateway.scrape_token of every node

# A draft TH -> NG (SEAJUST to WACAP) the request tests start from.
DRAFT = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "NG",
    "measures": ["banking_records"],
    "urgency": "normal",
    "language": "en",
    "title": "Bank records of a shell company in Lagos",
    "reference": "OAG-2026-0142",
    "offences": ["money laundering"],
    "summary": "Funds from an investment fraud in Bangkok moved to an account in Lagos.",
    "deadline": "2099-01-31",
}


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ReqNode:
    network: str
    settings: NodeSettings
    client: TestClient  # type: ignore[type-arg]
    tokens: dict[str, str]
    directory_rt: directory.DirectoryRuntime
    requests_rt: requests.RequestsRuntime
    events_rt: events.EventsRuntime
    federation_rt: federation.FederationRuntime | None
    fed_port: int
    peer_port: int

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def member_subject(self) -> str:
        return "test-member"

    @property
    def admin(self) -> tuple[tuple[str, str], ...]:
        return Caller("admin", self.network, "test-admin").metadata()

    def internal(self, port: int) -> Any:
        """A channel to one of this node's services, with the node's internal credential."""
        return internal_channel(f"127.0.0.1:{port}", self.settings.data_dir)

    def mailbox(self, service: str = "requests") -> tuple[exchange_pb2_grpc.MailboxStub, Any]:
        runtime = self.events_rt if service == "events" else self.requests_rt
        channel = self.internal(runtime.port)
        return exchange_pb2_grpc.MailboxStub(channel), channel

    async def call(self, method: str, path: str, role: str = "member", **kw: Any) -> Any:
        headers = self.auth(role) | kw.pop("headers", {})
        resp = await self.client.request(method, path, headers=headers, **kw)
        body = None if resp.status == 204 else await resp.json()
        return resp.status, body

    def descriptor(self) -> federation_pb2.NodeDescriptor:
        d = federation.descriptor(self.settings, load_identity(self.settings))
        d.peer_endpoint = f"127.0.0.1:{self.peer_port}"
        return d

    async def start_federation(self) -> None:
        self.federation_rt = await federation.start(
            self.settings, port=self.fed_port, peer_port=self.peer_port
        )

    async def stop_federation(self) -> None:
        """The node drops off the network (its peers see it unreachable)."""
        if self.federation_rt is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.federation_rt.stop(0), 10)
            self.federation_rt = None

    async def restart_requests(self, stopped: Callable[[], Awaitable[None]] | None = None) -> None:
        """Stops this node's requests service, runs `stopped` while it is down, and starts
        it again on the same port (its peers' messages wait meanwhile)."""
        port = self.requests_rt.port
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.requests_rt.stop(0), 10)
        if stopped is not None:
            await stopped()
        self.requests_rt = await requests.start(self.settings, port=port)

    async def peers(self) -> list[federation_pb2.PeerStatus]:
        async with self.internal(self.fed_port) as channel:
            reply = await federation_pb2_grpc.FederationServiceStub(channel).ListPeers(
                federation_pb2.ListPeersRequest(), metadata=self.admin
            )
        return list(reply.peers)

    async def add_peer(self, other: ReqNode, share: str = "default") -> None:
        async with self.internal(self.fed_port) as channel:
            await federation_pb2_grpc.FederationServiceStub(channel).AddPeer(
                federation_pb2.AddPeerRequest(descriptor=other.descriptor(), share=share),
                metadata=self.admin,
            )

    async def requests_sql(self, query: str, **params: Any) -> list[Any]:
        """Runs SQL on this node's requests database (SQLite or PostgreSQL), committed."""
        engine = create_engine(self.settings.requests.database_url, instrument=False)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(query), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    async def received(self) -> list[str]:
        """Message ids this node's federation accepted from peers (its inbox)."""
        engine = create_engine(self.settings.federation.database_url, instrument=False)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT message_id FROM federation_inbox ORDER BY received_at")
                )
                return [r[0] for r in rows]
        finally:
            await engine.dispose()


NodeFactory = Callable[..., Awaitable[ReqNode]]


async def caught_up(node: ReqNode, others: list[str], with_records: bool) -> bool:
    status = {p.network: p for p in await node.peers()}
    return all(
        code in status
        and status[code].state == "connected"
        and status[code].lag_seconds == 0
        and (status[code].records > 0 or not with_records)
        for code in others
    )


@contextlib.asynccontextmanager
async def requests_world(tmp_path: Path, postgres: bool = False) -> AsyncIterator[NodeFactory]:
    """Nodes on demand; with `postgres`, each node's requests and federation databases
    (chains, inbox, outbox: where locking and idempotency matter) are on PostgreSQL."""
    nodes: list[ReqNode] = []
    databases = contextlib.AsyncExitStack()

    async def make(
        network: str,
        *,
        sample_data: bool = True,
        share: str = "default",
        events_database_url: str | None = None,
        max_document_bytes: int | None = None,
        gateway_database_url: str | None = None,
    ) -> ReqNode:
        config = write_node(tmp_path / network, network, network, MEMBERS[network], None)
        settings = load_settings(config)
        if max_document_bytes is not None:
            settings = replace(
                settings,
                requests=replace(settings.requests, max_document_bytes=max_document_bytes),
            )
        if postgres:
            req_db = await databases.enter_async_context(fresh_database())
            fed_db = await databases.enter_async_context(fresh_database())
            settings = replace(
                settings,
                requests=replace(settings.requests, database_url=req_db),
                federation=replace(settings.federation, database_url=fed_db),
            )
        if events_database_url:
            settings = replace(
                settings, events=replace(settings.events, database_url=events_database_url)
            )
        if gateway_database_url:
            settings = replace(
                settings, gateway=replace(settings.gateway, database_url=gateway_database_url)
            )
        for migrate in (
            directory.migrate,
            requests.migrate,
            events.migrate,
            federation.migrate,
            migrate_gateway,
        ):
            await migrate(settings)
        d = await directory.start(settings, port=0)
        if sample_data:
            await sample.load(d.logic, network, MEMBERS[network])
        # The requests and events services and federation call each other: fix the
        # ports first.
        fed_port, req_port, ev_port = free_port(), free_port(), free_port()
        wired = replace(
            settings,
            directory=replace(settings.directory, address=f"127.0.0.1:{d.port}"),
            federation=replace(settings.federation, address=f"127.0.0.1:{fed_port}"),
            requests=replace(settings.requests, address=f"127.0.0.1:{req_port}"),
            events=replace(settings.events, address=f"127.0.0.1:{ev_port}"),
            gateway=replace(settings.gateway, scrape_token=SCRAPE_TOKEN),
        )
        r = await requests.start(wired, port=req_port)
        ev = await events.start(wired, port=ev_port)
        engine = create_engine(wired.gateway.database_url, instrument=False)
        store = TokenStore(engine, network)
        tokens = {
            role: (await store.create(role, f"test-{role}"))[0]
            for role in ("admin", "editor", "member")
        }
        tokens["member2"] = (await store.create("member", "test-member-2"))[0]
        tokens["scrape"] = SCRAPE_TOKEN
        await engine.dispose()
        app: web.Application = create_app(wired)
        client = TestClient(TestServer(app))
        await client.start_server()
        node = ReqNode(network, wired, client, tokens, d, r, ev, None, fed_port, free_port())
        await node.start_federation()
        for other in nodes:
            await node.add_peer(other, share)
            await other.add_peer(node, share)
        nodes.append(node)
        for each in nodes:
            others = [n.network for n in nodes if n is not each]
            await eventually(
                lambda e=each, o=others: caught_up(e, o, sample_data),  # type: ignore[misc]
                f"{each.network} caught up with its peers",
                within=60,
            )
        return node

    yield make
    for node in nodes:
        await node.client.close()
        await node.stop_federation()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.requests_rt.stop(0), 10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.events_rt.stop(0), 10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.directory_rt.stop(0), 10)
    await databases.aclose()

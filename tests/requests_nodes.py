"""Nodes for the requests tests: a real directory (with sample data), requests service
and gateway per network, on loopback.

Interim: federation's Send/Deliver/receipts are not in this branch yet, so `Relay`
plays the node's federation service over the real FederationService contract (Send,
GetNetworkKeys, ListPeers): it queues messages per destination (one in flight),
hands each to the destination's Mailbox.Receive over gRPC, signs the receipt with the
destination node's real key, and reports to the sender's Mailbox.Settled. Swap it for
`services.federation.service.start` once federation implements those RPCs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from justnet.common.v1 import exchange_pb2 as xpb
from justnet.common.v1 import exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2 as dpb
from justnet.directory.v1 import directory_pb2_grpc
from justnet.federation.v1 import federation_pb2 as fpb
from justnet.federation.v1 import federation_pb2_grpc

from gateway.app import create_app
from gateway.app import migrate as migrate_gateway
from gateway.auth import TokenStore
from services.cli.nodes import write_node
from services.common.clients import open_channel
from services.common.db import create_engine
from services.common.identity import Caller
from services.common.identity_files import NodeIdentity, load_identity
from services.common.server import RunningServer, create_server
from services.common.settings import NodeSettings, load_settings
from services.common.timeutil import to_timestamp, utcnow
from services.directory import sample
from services.directory import service as directory
from services.federation.service import node_keys
from services.requests import service as requests

MEMBERS = {
    "SEAJUST": ["TH", "VN", "MY"],
    "EJN": ["FR", "DE"],
    "WACAP": ["NG", "SN"],
    "CASC": ["KZ", "UZ"],
    "GLJCN": ["KE", "RW"],
}
WAIT = 15.0


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@dataclass
class Relay(federation_pb2_grpc.FederationServiceServicer):
    """Stands in for this node's federation service (see the module docstring)."""

    network: str
    identity: NodeIdentity
    settings: NodeSettings
    world: dict[str, Relay]
    down: bool = False  # this node's peer port is unreachable
    deliveries: dict[str, xpb.Delivery] = field(default_factory=dict)
    queues: dict[str, asyncio.Queue[tuple[str, bytes, str]]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # message ids handed to our mailbox
    requests_target: str = ""

    def keys(self) -> fpb.NodeKeys:
        return node_keys(self.settings, self.identity)

    async def Send(self, request: fpb.SendRequest, context: Any) -> xpb.Delivery:
        held = self.deliveries.get(request.message_id)
        if held is not None:
            return held
        delivery = xpb.Delivery(
            message_id=request.message_id,
            destination=request.destination,
            kind=request.kind,
            state="pending",
            created_at=to_timestamp(utcnow()),
        )
        self.deliveries[request.message_id] = delivery
        queue = self.queues.get(request.destination)
        if queue is None:
            queue = self.queues[request.destination] = asyncio.Queue()
            self.tasks.append(asyncio.create_task(self._deliver(request.destination, queue)))
        await queue.put((request.message_id, request.payload, request.kind))
        return delivery

    async def _deliver(
        self, destination: str, queue: asyncio.Queue[tuple[str, bytes, str]]
    ) -> None:
        # One message in flight per peer; retried until the peer answers.
        while True:
            message_id, payload, kind = await queue.get()
            while True:
                peer = self.world.get(destination)
                if peer is not None and not peer.down:
                    try:
                        await self._hand_over(peer, message_id, payload, kind)
                        break
                    except grpc.aio.AioRpcError:
                        pass
                await asyncio.sleep(0.05)

    async def _hand_over(self, peer: Relay, message_id: str, payload: bytes, kind: str) -> None:
        async with contextlib.AsyncExitStack() as stack:
            channel = open_channel(peer.requests_target)
            stack.push_async_callback(channel.close)
            reply = await exchange_pb2_grpc.MailboxStub(channel).Receive(
                xpb.InboundMessage(
                    origin=self.network,
                    message_id=message_id,
                    kind=kind,
                    payload=payload,
                    sent_at=to_timestamp(utcnow()),
                    key_id=self.identity.signing_key.key_id,
                ),
                metadata=Caller("admin", peer.network, "federation").metadata(),
            )
            peer.received.append(message_id)
            import hashlib

            body = xpb.ReceiptBody(
                origin=self.network,
                destination=peer.network,
                message_id=message_id,
                kind=kind,
                payload_sha256=hashlib.sha256(payload).digest(),
                accepted=reply.accepted,
                reason=reply.reason,
                reply=reply.reply,
                received_at=to_timestamp(utcnow()),
            ).SerializeToString()
            receipt = xpb.SignedReceipt(
                body=body,
                key_id=peer.identity.signing_key.key_id,
                signature=peer.identity.signing_key.sign(b"justnet-receipt-v1\n" + body),
            )
            delivery = self.deliveries[message_id]
            delivery.state = "delivered" if reply.accepted else "refused"
            delivery.attempts += 1
            delivery.receipt.CopyFrom(receipt)
            delivery.receipt_body.ParseFromString(body)
            delivery.receipt_verified = True
            delivery.settled_at.CopyFrom(to_timestamp(utcnow()))
            own = open_channel(self.requests_target)
            stack.push_async_callback(own.close)
            await exchange_pb2_grpc.MailboxStub(own).Settled(
                xpb.DeliveryOutcome(delivery=delivery),
                metadata=Caller("admin", self.network, "federation").metadata(),
            )

    async def GetNetworkKeys(
        self, request: fpb.GetNetworkKeysRequest, context: Any
    ) -> fpb.NodeKeys:
        node = self.world.get(request.network)
        if node is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no peer {request.network}")
        assert node is not None
        return node.keys()

    async def ListPeers(self, request: fpb.ListPeersRequest, context: Any) -> fpb.ListPeersResponse:
        return fpb.ListPeersResponse(
            peers=[
                fpb.PeerStatus(
                    network=code,
                    state="unreachable" if other.down else "connected",
                    jurisdictions=list(other.settings.jurisdictions),
                )
                for code, other in sorted(self.world.items())
                if code != self.network
            ]
        )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class ReqNode:
    network: str
    settings: NodeSettings
    relay: Relay
    client: TestClient  # type: ignore[type-arg]
    tokens: dict[str, str]
    directory_rt: directory.DirectoryRuntime
    requests_rt: requests.RequestsRuntime
    relay_server: RunningServer

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def member_subject(self) -> str:
        return "test-member"

    def mailbox(self) -> tuple[exchange_pb2_grpc.MailboxStub, Any]:
        channel = open_channel(f"127.0.0.1:{self.requests_rt.port}")
        return exchange_pb2_grpc.MailboxStub(channel), channel

    async def call(self, method: str, path: str, role: str = "member", **kw: Any) -> Any:
        resp = await self.client.request(method, path, headers=self.auth(role), **kw)
        body = await resp.json()
        return resp.status, body


NodeFactory = Callable[..., Awaitable[ReqNode]]


async def replicate(src: ReqNode, dst: ReqNode) -> None:
    """Copies what `src` shares with peers into `dst`'s directory as verified replicas,
    as federation's subscription does (the directory side is real)."""
    src_channel = open_channel(f"127.0.0.1:{src.directory_rt.port}")
    dst_channel = open_channel(f"127.0.0.1:{dst.directory_rt.port}")
    latest: dict[tuple[str, str], dpb.ApplyReplicaRequest] = {}
    cursor = 0
    try:
        stream = directory_pb2_grpc.DirectoryServiceStub(src_channel).WatchChanges(
            dpb.WatchChangesRequest(since_seq=0, follow=False, local_only=True),
            metadata=Caller("admin", src.network, "federation").metadata(),
        )
        async for change in stream:
            cursor = change.seq
            shared = change.visibility in ("public", "federation") and not change.deleted
            latest[(change.kind, change.record_id)] = dpb.ApplyReplicaRequest(
                origin=change.origin,
                kind=change.kind,
                record_id=change.record_id,
                version=change.version,
                deleted=not shared,
                payload=change.payload if shared else b"",
                verified=True,
                synced_at=to_timestamp(utcnow()),
            )
        await directory_pb2_grpc.DirectoryServiceStub(dst_channel).ApplyReplicaBatch(
            dpb.ApplyReplicaBatchRequest(
                origin=src.network, records=list(latest.values()), cursor=cursor
            ),
            metadata=Caller("admin", dst.network, "federation").metadata(),
        )
    finally:
        await src_channel.close()
        await dst_channel.close()


@contextlib.asynccontextmanager
async def requests_world(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    world: dict[str, Relay] = {}
    nodes: list[ReqNode] = []

    async def make(network: str, *, sample_data: bool = True) -> ReqNode:
        config = write_node(tmp_path / network, network, network, MEMBERS[network], None)
        settings = load_settings(config)
        await directory.migrate(settings)
        await requests.migrate(settings)
        d = await directory.start(settings, port=0)
        if sample_data:
            await sample.load(d.logic, network, MEMBERS[network])
        relay = Relay(network, load_identity(settings), settings, world)
        world[network] = relay

        def register(server: grpc.aio.Server) -> None:
            federation_pb2_grpc.add_FederationServiceServicer_to_server(relay, server)

        relay_server = await create_server(register, ["justnet.federation.v1.FederationService"])
        wired = replace(
            settings,
            directory=replace(settings.directory, address=f"127.0.0.1:{d.port}"),
            federation=replace(settings.federation, address=f"127.0.0.1:{relay_server.port}"),
        )
        r = await requests.start(wired, port=0)
        relay.requests_target = f"127.0.0.1:{r.port}"
        wired = replace(wired, requests=replace(wired.requests, address=relay.requests_target))
        await migrate_gateway(wired)
        engine = create_engine(wired.gateway.database_url, instrument=False)
        store = TokenStore(engine, network)
        tokens = {
            role: (await store.create(role, f"test-{role}"))[0]
            for role in ("admin", "editor", "member")
        }
        tokens["member2"] = (await store.create("member", "test-member-2"))[0]
        await engine.dispose()
        app: web.Application = create_app(wired)
        client = TestClient(TestServer(app))
        await client.start_server()
        node = ReqNode(network, wired, relay, client, tokens, d, r, relay_server)
        if sample_data:
            for other in nodes:
                await replicate(node, other)
                await replicate(other, node)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        await node.client.close()
        await node.relay.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.requests_rt.stop(0), 10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.relay_server.stop(0), 10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.directory_rt.stop(0), 10)
